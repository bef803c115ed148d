//! The only place messages are turned into bytes and back.
//!
//! Format: bincode 2.0.1 with its `standard` configuration (little endian,
//! variable-length integers, zigzag for signed ones), through serde. The byte
//! layout is specified in `docs/PROTOCOL.md`. Keeping every call here means
//! the format can be swapped in one module.
//!
//! One exception, for speed: a snapshot's entity delta, the bulk of what a
//! server encodes, is written by [`EntityDelta::write_wire`] rather than
//! through serde, producing the same bytes (tests compare the two).

use crate::delta::EntityDelta;
use crate::ids::Tick;
use crate::protocol::{ClientMsg, SNAPSHOT_VARIANT, ServerEvent, ServerMsg, Snapshot};
use crate::varint::{ReadError, SliceReader};
use bincode::config::{self, Config};

/// Hard ceiling on what one client message may claim while decoding, bytes.
///
/// The server also refuses larger WebSocket messages before decoding; this
/// bound makes the decoder itself safe to call on any slice.
pub const CLIENT_DECODE_LIMIT: usize = 64 * 1024;
/// Hard ceiling on one server message while decoding, bytes (a full-view
/// snapshot of 50,000 entities is about 1 MiB).
pub const SERVER_DECODE_LIMIT: usize = 16 * 1024 * 1024;

fn client_config() -> impl Config {
    config::standard().with_limit::<CLIENT_DECODE_LIMIT>()
}

fn server_config() -> impl Config {
    config::standard().with_limit::<SERVER_DECODE_LIMIT>()
}

/// Why bytes did not decode into a message.
///
/// The `Display` text is short, fixed and never echoes the input, so it can
/// be sent back as a WebSocket close reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message is larger than the decoder accepts.
    #[error("message too large ({len} bytes, limit {limit})")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// Bytes accepted.
        limit: usize,
    },
    /// The bytes end in the middle of a value.
    #[error("message truncated")]
    Truncated,
    /// A complete message was followed by more bytes.
    #[error("trailing bytes after message")]
    TrailingBytes,
    /// An enum tag that names no variant.
    #[error("unknown message or variant tag")]
    UnknownVariant,
    /// A string that is not UTF-8.
    #[error("invalid utf-8 in string")]
    InvalidUtf8,
    /// A length prefix claims more than the decode limit.
    #[error("length prefix exceeds limit")]
    LimitExceeded,
    /// Anything else: a bad varint or bool, a non-canonical delta.
    #[error("malformed message")]
    Malformed,
}

impl From<bincode::error::DecodeError> for DecodeError {
    fn from(e: bincode::error::DecodeError) -> Self {
        use bincode::error::DecodeError as B;
        match e {
            B::UnexpectedEnd { .. } => DecodeError::Truncated,
            B::UnexpectedVariant { .. } => DecodeError::UnknownVariant,
            B::Utf8 { .. } => DecodeError::InvalidUtf8,
            B::LimitExceeded => DecodeError::LimitExceeded,
            // serde's derived enums report an unknown tag as a custom error
            // ("invalid value: integer `9`, expected variant index 0 <= i < 4").
            B::OtherString(s) if s.contains("variant index") => DecodeError::UnknownVariant,
            _ => DecodeError::Malformed,
        }
    }
}

/// Why a message could not be encoded: always a bug in the caller (for
/// example a delta whose ids are not ascending), never a property of input.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode message: {0}")]
pub struct EncodeError(#[from] bincode::error::EncodeError);

fn decode_with<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
    cfg: impl Config,
) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (msg, used) = bincode::serde::decode_from_slice(bytes, cfg)?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(msg)
}

/// Decodes one client message; never panics, whatever the bytes.
pub fn decode_client(bytes: &[u8]) -> Result<ClientMsg, DecodeError> {
    decode_with(bytes, CLIENT_DECODE_LIMIT, client_config())
}

/// Decodes one client message no larger than `limit` bytes (capped at
/// [`CLIENT_DECODE_LIMIT`]): the server passes its `--max-message-bytes`.
pub fn decode_client_limited(bytes: &[u8], limit: usize) -> Result<ClientMsg, DecodeError> {
    decode_with(bytes, limit.min(CLIENT_DECODE_LIMIT), client_config())
}

/// Decodes one server message; never panics, whatever the bytes.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    if bytes.len() <= SERVER_DECODE_LIMIT
        && let Some(snapshot) = decode_snapshot(bytes)
    {
        return snapshot.map(ServerMsg::Snapshot);
    }
    decode_with(bytes, SERVER_DECODE_LIMIT, server_config())
}

/// A snapshot's delta read by [`EntityDelta::read_wire`], its other fields
/// by bincode: the same result as the serde path, value or error (tests
/// compare the two), for a fraction of the cost. `None` if `bytes` does not
/// start with the snapshot tag.
fn decode_snapshot(bytes: &[u8]) -> Option<Result<Snapshot, DecodeError>> {
    let mut r = SliceReader::new(bytes);
    if !matches!(is_snapshot(&mut r), Ok(true)) {
        return None;
    }
    let mut read = || -> Result<Snapshot, DecodeError> {
        let head = read_snapshot_header(&mut r)?;
        let delta = EntityDelta::read_wire(&mut r)?;
        let rest = &bytes[r.position()..];
        let (events, used) = bincode::serde::decode_from_slice(rest, server_config())?;
        if used != rest.len() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(Snapshot {
            tick: head.tick,
            base_tick: head.base_tick,
            ack_input_seq: head.ack_input_seq,
            delta,
            events,
        })
    };
    Some(read())
}

/// Reads a server message's tag: whether it is a snapshot.
fn is_snapshot(r: &mut SliceReader<'_>) -> Result<bool, DecodeError> {
    Ok(r.u32()? == SNAPSHOT_VARIANT)
}

/// Reads the fields after a snapshot's tag, up to its delta.
fn read_snapshot_header(r: &mut SliceReader<'_>) -> Result<SnapshotHeader, DecodeError> {
    Ok(SnapshotHeader {
        tick: Tick(r.u32()?),
        base_tick: Tick(r.u32()?),
        ack_input_seq: r.u32()?,
    })
}

impl From<ReadError> for DecodeError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Truncated => DecodeError::Truncated,
            ReadError::Malformed => DecodeError::Malformed,
        }
    }
}

/// The header of a snapshot, decoded without its entities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The snapshot's tick.
    pub tick: Tick,
    /// The tick its delta is based on.
    pub base_tick: Tick,
    /// The last input seq the server applied.
    pub ack_input_seq: u32,
}

/// If `bytes` is a `ServerMsg::Snapshot`, decodes only its header (tag,
/// tick, base tick, ack): enough to follow the `base_tick` chain without the
/// cost of decoding every entity. `Ok(None)` for any other message.
pub fn peek_snapshot_header(bytes: &[u8]) -> Result<Option<SnapshotHeader>, DecodeError> {
    let mut r = SliceReader::new(bytes);
    if !is_snapshot(&mut r)? {
        return Ok(None);
    }
    read_snapshot_header(&mut r).map(Some)
}

/// Appends the encoding of a client message to `out`.
pub fn encode_client(msg: &ClientMsg, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    bincode::serde::encode_into_std_write(msg, out, config::standard())?;
    Ok(())
}

/// Appends the encoding of a server message to `out`.
pub fn encode_server(msg: &ServerMsg, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    bincode::serde::encode_into_std_write(msg, out, config::standard())?;
    Ok(())
}

/// A client message as a fresh byte vector.
pub fn client_to_vec(msg: &ClientMsg) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_client(msg, &mut out)?;
    Ok(out)
}

/// A server message as a fresh byte vector.
pub fn server_to_vec(msg: &ServerMsg) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_server(msg, &mut out)?;
    Ok(out)
}

/// Snapshot encoding in parts, so that a delta shared by many clients is
/// encoded once.
///
/// `ServerMsg::Snapshot` is the concatenation of [`snapshot_head`], the
/// delta ([`delta_body`]) and [`snapshot_tail`]; a test checks that the
/// parts equal the whole.
pub mod parts {
    use super::*;
    use crate::delta::{EncodedDelta, EncodedUpdates, WriteDeltaError};
    use crate::quant::NetEntity;

    /// Appends the variant tag and the per-client header fields.
    pub fn snapshot_head(
        tick: Tick,
        base_tick: Tick,
        ack_input_seq: u32,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let head = (SNAPSHOT_VARIANT, tick, base_tick, ack_input_seq);
        bincode::serde::encode_into_std_write(head, out, config::standard())?;
        Ok(())
    }

    /// Appends an encoded delta (through [`EntityDelta::write_wire`], the
    /// same bytes as bincode's, written directly).
    pub fn delta_body(delta: &EntityDelta, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        delta.write_wire(out).map_err(|_| unordered())
    }

    /// Appends the delta from `base` to `cur` with updates copied from
    /// `updates` (see [`EncodedUpdates::write_delta`]; `cur[k]` is the
    /// updates' newer view's entity `at[k]`). `Ok(false)`, with nothing
    /// written, when `base` was not taken from the updates' older view:
    /// then [`delta_body`] it is.
    pub fn encoded_delta_body(
        updates: &EncodedUpdates,
        base: &[NetEntity],
        cur: &[NetEntity],
        at: &[u32],
        scratch: &mut EncodedDelta,
        out: &mut Vec<u8>,
    ) -> Result<bool, EncodeError> {
        match updates.write_delta(base, cur, at, scratch, out) {
            Ok(()) => Ok(true),
            Err(WriteDeltaError::NotInOlderView(_)) => Ok(false),
            Err(WriteDeltaError::Unordered(_)) => Err(unordered()),
        }
    }

    fn unordered() -> EncodeError {
        EncodeError(bincode::error::EncodeError::Other(
            "entity ids must be non-zero and strictly ascending",
        ))
    }

    /// Appends the event list that closes a snapshot.
    pub fn snapshot_tail(events: &[ServerEvent], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        bincode::serde::encode_into_std_write(events, out, config::standard())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{EntityUpdate, diff};
    use crate::ids::{EntityId, PlayerId, RoomId, SessionToken};
    use crate::protocol::{InputCmd, Snapshot, Welcome, WorldInfo};
    use crate::quant::NetEntity;
    use crate::testing::arb_transition;
    use proptest::prelude::*;

    fn arb_client_msg() -> impl Strategy<Value = ClientMsg> {
        prop_oneof![
            (
                any::<u16>(),
                ".{0,40}",
                proptest::option::of(any::<[u8; 16]>()),
                proptest::option::of(".{0,80}")
            )
                .prop_map(|(protocol_version, name, tok, auth_token)| {
                    ClientMsg::Hello {
                        protocol_version,
                        name,
                        resume_token: tok.map(SessionToken),
                        auth_token,
                    }
                }),
            (
                any::<u32>(),
                any::<f32>(),
                any::<f32>(),
                any::<f32>(),
                any::<u8>()
            )
                .prop_map(|(seq, move_x, move_y, yaw, buttons)| ClientMsg::Input(
                    InputCmd {
                        seq,
                        move_x,
                        move_y,
                        yaw,
                        buttons
                    }
                )),
            any::<u64>().prop_map(|client_time| ClientMsg::Ping { client_time }),
            Just(ClientMsg::Leave),
        ]
    }

    fn arb_events() -> impl Strategy<Value = Vec<ServerEvent>> {
        proptest::collection::vec(
            prop_oneof![
                (any::<u32>(), any::<u32>(), "[a-z]{0,8}").prop_map(|(p, e, name)| {
                    ServerEvent::PlayerJoined {
                        player: PlayerId(p),
                        entity: EntityId(e),
                        name,
                    }
                }),
                any::<u32>().prop_map(|p| ServerEvent::PlayerLeft {
                    player: PlayerId(p)
                }),
            ],
            0..4,
        )
    }

    /// Client messages must compare equal after a round trip, NaN included.
    fn same_client_msg(a: &ClientMsg, b: &ClientMsg) -> bool {
        match (a, b) {
            (ClientMsg::Input(x), ClientMsg::Input(y)) => {
                x.seq == y.seq
                    && x.buttons == y.buttons
                    && x.move_x.to_bits() == y.move_x.to_bits()
                    && x.move_y.to_bits() == y.move_y.to_bits()
                    && x.yaw.to_bits() == y.yaw.to_bits()
            }
            _ => a == b,
        }
    }

    proptest! {
        #[test]
        fn client_messages_round_trip(msg in arb_client_msg()) {
            let bytes = client_to_vec(&msg).expect("client messages always encode");
            let back = decode_client(&bytes).expect("an encoded message should decode");
            prop_assert!(same_client_msg(&msg, &back), "{msg:?} != {back:?}");
        }

        #[test]
        fn snapshots_round_trip(
            (base, cur) in arb_transition(),
            tick in any::<u32>(),
            base_tick in any::<u32>(),
            ack in any::<u32>(),
            events in arb_events(),
        ) {
            let mut delta = EntityDelta::default();
            diff(&base, &cur, &mut delta);
            let msg = ServerMsg::Snapshot(Snapshot {
                tick: Tick(tick),
                base_tick: Tick(base_tick),
                ack_input_seq: ack,
                delta,
                events,
            });
            let bytes = server_to_vec(&msg).expect("a diff's delta should encode");
            prop_assert_eq!(decode_server(&bytes).expect("an encoded snapshot should decode"), msg);
        }

        #[test]
        fn snapshot_parts_equal_the_whole(
            (base, cur) in arb_transition(),
            tick in any::<u32>(),
            ack in any::<u32>(),
            events in arb_events(),
        ) {
            let mut delta = EntityDelta::default();
            diff(&base, &cur, &mut delta);
            let mut parts_bytes = Vec::new();
            parts::snapshot_head(Tick(tick), Tick(tick.wrapping_sub(1)), ack, &mut parts_bytes).unwrap();
            parts::delta_body(&delta, &mut parts_bytes).unwrap();
            parts::snapshot_tail(&events, &mut parts_bytes).unwrap();
            let whole = server_to_vec(&ServerMsg::Snapshot(Snapshot {
                tick: Tick(tick),
                base_tick: Tick(tick.wrapping_sub(1)),
                ack_input_seq: ack,
                delta,
                events,
            }))
            .unwrap();
            prop_assert_eq!(parts_bytes, whole);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_client(&bytes);
            let _ = decode_server(&bytes);
        }

        #[test]
        fn decoding_mutated_messages_never_panics(
            msg in arb_client_msg(),
            (base, cur) in arb_transition(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut delta = EntityDelta::default();
            diff(&base, &cur, &mut delta);
            let snap = ServerMsg::Snapshot(Snapshot { delta, ..Snapshot::default() });
            for mut bytes in [client_to_vec(&msg).unwrap(), server_to_vec(&snap).unwrap()] {
                for (at, xor) in &flips {
                    let i = at.index(bytes.len());
                    bytes[i] ^= xor;
                }
                let _ = decode_client(&bytes);
                let _ = decode_server(&bytes);
                bytes.truncate(cut.index(bytes.len() + 1));
                let _ = decode_client(&bytes);
                let _ = decode_server(&bytes);
            }
        }
    }

    /// The serde path `decode_server` takes for everything but snapshots.
    fn decode_server_by_serde(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
        decode_with(bytes, SERVER_DECODE_LIMIT, server_config())
    }

    proptest! {
        #[test]
        fn snapshots_decode_exactly_as_the_serde_path_decodes_them(
            (base, cur) in arb_transition(),
            (tick, base_tick, ack) in (any::<u32>(), any::<u32>(), any::<u32>()),
            events in arb_events(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut delta = EntityDelta::default();
            diff(&base, &cur, &mut delta);
            let snap = Snapshot { tick: Tick(tick), base_tick: Tick(base_tick), ack_input_seq: ack, delta, events };
            let mut bytes = server_to_vec(&ServerMsg::Snapshot(snap.clone())).unwrap();
            prop_assert_eq!(decode_server(&bytes), Ok(ServerMsg::Snapshot(snap)));
            // Damaged: the same value or the same error as serde, flip by flip.
            for (at, xor) in &flips {
                let i = at.index(bytes.len());
                bytes[i] ^= xor;
                prop_assert_eq!(decode_server(&bytes), decode_server_by_serde(&bytes));
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            prop_assert_eq!(decode_server(&bytes), decode_server_by_serde(&bytes));
            bytes.push(0);
            prop_assert_eq!(decode_server(&bytes), decode_server_by_serde(&bytes));
        }
    }

    #[test]
    fn huge_length_prefixes_are_refused_without_allocating() {
        // Hello with a name length of u64::MAX (varint tag 253 + 8 bytes).
        let mut bytes = vec![0u8, 1, 253];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_client(&bytes).is_err());
        // A snapshot claiming 2^32-1 removed ids.
        let mut bytes = vec![1u8, 1, 0, 0, 252];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_server(&bytes).is_err());
    }

    #[test]
    fn snapshot_headers_can_be_read_alone() {
        let snap = Snapshot {
            tick: Tick(70_000),
            base_tick: Tick(69_999),
            ack_input_seq: 5,
            ..Snapshot::default()
        };
        let bytes = server_to_vec(&ServerMsg::Snapshot(snap)).unwrap();
        let header = peek_snapshot_header(&bytes)
            .unwrap()
            .expect("a snapshot has a header");
        assert_eq!(
            header,
            SnapshotHeader {
                tick: Tick(70_000),
                base_tick: Tick(69_999),
                ack_input_seq: 5
            }
        );
        let pong = server_to_vec(&ServerMsg::Pong {
            client_time: 1,
            server_tick: Tick(2),
        })
        .unwrap();
        assert_eq!(peek_snapshot_header(&pong), Ok(None));
        assert!(peek_snapshot_header(&bytes[..3]).is_err());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = client_to_vec(&ClientMsg::Leave).unwrap();
        bytes.push(0);
        assert_eq!(decode_client(&bytes), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn oversized_messages_are_refused_before_decoding() {
        let bytes = vec![0u8; CLIENT_DECODE_LIMIT + 1];
        assert!(matches!(
            decode_client(&bytes),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn unknown_tags_are_named_as_such() {
        assert_eq!(decode_client(&[9]), Err(DecodeError::UnknownVariant));
    }

    #[test]
    fn non_canonical_updates_are_refused() {
        // Snapshot header, no removed, one update of entity 1 whose mask says
        // "x changed" but whose dx is 0.
        let bytes = [
            1u8, 1, 0, 0, /* removed */ 0, /* updated */ 1, 1, 0b1, 0,
            /* spawned */ 0, /* events */ 0,
        ];
        assert_eq!(decode_server(&bytes), Err(DecodeError::Malformed));
        let good = [1u8, 1, 0, 0, 0, 1, 1, 0b1, 2, 0, 0];
        let ServerMsg::Snapshot(s) =
            decode_server(&good).expect("a canonical update should decode")
        else {
            panic!("expected a snapshot");
        };
        assert_eq!(
            s.delta.updated,
            vec![EntityUpdate {
                id: EntityId(1),
                dx: 1,
                ..Default::default()
            }]
        );
    }

    #[test]
    fn unsorted_deltas_do_not_encode() {
        let e = |id| NetEntity {
            id: EntityId(id),
            x: 0,
            y: 0,
            vx: 0,
            vy: 0,
            yaw: 0,
        };
        let delta = EntityDelta {
            spawned: vec![e(5), e(2)],
            ..EntityDelta::default()
        };
        let msg = ServerMsg::Snapshot(Snapshot {
            delta,
            ..Snapshot::default()
        });
        assert!(server_to_vec(&msg).is_err());
    }

    #[test]
    fn welcome_round_trips() {
        let msg = ServerMsg::Welcome(Welcome {
            player: PlayerId(3),
            entity: EntityId(70_000),
            room: RoomId(1),
            tick_rate: 30,
            tick: Tick(123_456),
            session_token: SessionToken([7; 16]),
            world: WorldInfo {
                size: 1000.0,
                view_radius: 300.0,
                move_speed: 200.0,
            },
        });
        assert_eq!(decode_server(&server_to_vec(&msg).unwrap()).unwrap(), msg);
    }
}
