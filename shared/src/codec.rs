//! The only place messages are turned into bytes and back.
//!
//! Format: bincode 2.0.1 with its `standard` configuration (little endian,
//! variable-length integers, zigzag for signed ones), through serde. The byte
//! layout is specified in `docs/PROTOCOL.md`. Keeping every call here means
//! the format can be swapped in one module.
//!
//! Two kinds of bytes are not serde's: a snapshot's body (room state,
//! entity delta, messages), which the server writes directly and a client
//! reads against its mirror (`delta`, `mirror`), and the fields of inputs
//! and game messages, which follow the game's schema
//! ([`encode_fields`]). Both use bincode's integer encoding.

use crate::field::{MessageSet, Replicate, SlotReader, SlotWriter};
use crate::ids::Tick;
use crate::protocol::{
    ClientMsg, GameMsg, InputMsg, SNAPSHOT_VARIANT, ServerEvent, ServerMsg, Snapshot,
};
use crate::schema::{Layout, Schema, Slot};
use crate::varint::{self, ReadError, SliceReader};
use bincode::config::{self, Config};
use std::sync::Arc;

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
    /// A game field (of an input or a message) outside its declared range.
    #[error("field {field} out of range")]
    OutOfRange {
        /// The field's index in its descriptor.
        field: u16,
    },
    /// A game message type the schema does not have.
    #[error("unknown message type")]
    UnknownMessage,
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

/// Decodes one server message; never panics, whatever the bytes. A
/// snapshot's body is kept as bytes, for [`crate::mirror::Mirror::apply`].
pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    if bytes.len() > SERVER_DECODE_LIMIT {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit: SERVER_DECODE_LIMIT,
        });
    }
    let mut r = SliceReader::new(bytes);
    if matches!(is_snapshot(&mut r), Ok(true)) {
        let head = read_snapshot_header(&mut r)?;
        return Ok(ServerMsg::Snapshot(Snapshot {
            tick: head.tick,
            base_tick: head.base_tick,
            ack_gap: head.ack_gap,
            body: r.rest().to_vec(),
        }));
    }
    decode_with(bytes, SERVER_DECODE_LIMIT, server_config())
}

/// Reads a server message's tag: whether it is a snapshot.
fn is_snapshot(r: &mut SliceReader<'_>) -> Result<bool, DecodeError> {
    Ok(r.u32()? == SNAPSHOT_VARIANT)
}

/// Reads the fields after a snapshot's tag, up to its body.
fn read_snapshot_header(r: &mut SliceReader<'_>) -> Result<SnapshotHeader, DecodeError> {
    let tick = Tick(r.u32()?);
    let base_tick = base_of(tick, r.u32()?).ok_or(DecodeError::Malformed)?;
    Ok(SnapshotHeader {
        tick,
        base_tick,
        ack_gap: r.u32()?,
    })
}

/// On the wire a snapshot names its baseline by the gap `tick - base_tick`
/// (wrapping): 1 for the usual delta on the previous tick, so one byte where
/// the baseline's own number takes three or five. 0 means complete.
pub(crate) fn base_gap(tick: Tick, base_tick: Tick) -> u32 {
    if base_tick.is_some() {
        tick.0.wrapping_sub(base_tick.0)
    } else {
        0
    }
}

/// A snapshot's `ack_gap`: the acknowledged input `seq` less the one its
/// baseline acknowledged (`None` for a complete snapshot), wrapping.
pub fn ack_gap(ack: u32, base_ack: Option<u32>) -> u32 {
    ack.wrapping_sub(base_ack.unwrap_or(0))
}

/// The baseline a gap names (`Tick::NONE` for 0), or `None` when it names no
/// tick: a baseline that would be `NONE` itself, or not older than `tick`.
fn base_of(tick: Tick, gap: u32) -> Option<Tick> {
    if gap == 0 {
        return Some(Tick::NONE);
    }
    let base = Tick(tick.0.wrapping_sub(gap));
    (base.is_some() && tick.is_newer_than(base)).then_some(base)
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
    /// The last input seq the server applied, as the gap from the
    /// baseline's (see [`crate::protocol::Snapshot::ack_gap`]).
    pub ack_gap: u32,
}

/// If `bytes` is a `ServerMsg::Snapshot`, its header and the bytes after
/// it (for [`crate::mirror::Mirror::apply_parts`], without copying them).
/// `Ok(None)` for any other message.
pub fn split_snapshot(bytes: &[u8]) -> Result<Option<(SnapshotHeader, &[u8])>, DecodeError> {
    let mut r = SliceReader::new(bytes);
    if !is_snapshot(&mut r)? {
        return Ok(None);
    }
    let head = read_snapshot_header(&mut r)?;
    Ok(Some((head, r.rest())))
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

/// The descriptor's bytes (bincode), as [`Schema::hash`] hashes them.
pub fn schema_to_vec(schema: &Schema) -> Vec<u8> {
    bincode::serde::encode_to_vec(schema, config::standard()).expect("a schema always encodes")
}

/// Appends the fields of an input or a message: every slot in order, as
/// the change from zero (a numeric slot's zigzag varint, a string's length
/// and bytes), without a mask.
pub fn encode_fields(layout: &Layout, values: &[u32], strings: &[Arc<str>], out: &mut Vec<u8>) {
    let max = layout.max_bytes;
    varint::append(out, max, |w| {
        for (slot, &v) in layout.slots.iter().zip(values) {
            if slot.is_str() {
                let s = strings.get(v as usize).map_or("", |s| s);
                w.len(s.len());
                w.slice(s.as_bytes());
            } else {
                w.u32(slot.zigzag_delta(0, v));
            }
        }
    });
}

/// Decoded fields of an input or a message: slots and their strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// Numeric slots (string slots index `strings`).
    pub values: Vec<u32>,
    /// The strings.
    pub strings: Vec<Arc<str>>,
}

impl Fields {
    /// A reader for the game's types.
    pub fn reader(&self) -> SlotReader<'_> {
        SlotReader::new(&self.values, &self.strings)
    }
}

/// Reads fields written by [`encode_fields`] into `out` (appending), every
/// value checked against its field's range; the bytes must be exactly the
/// fields.
pub fn decode_fields(layout: &Layout, bytes: &[u8], out: &mut Fields) -> Result<(), DecodeError> {
    let mut r = SliceReader::new(bytes);
    read_fields(layout, &mut r, out)?;
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(())
}

fn read_fields(
    layout: &Layout,
    r: &mut SliceReader<'_>,
    out: &mut Fields,
) -> Result<(), DecodeError> {
    for (i, slot) in layout.slots.iter().enumerate() {
        let out_of_range = DecodeError::OutOfRange { field: i as u16 };
        if slot.is_str() {
            let len = r.len()?;
            if len as i64 > slot.max {
                return Err(out_of_range);
            }
            let s = std::str::from_utf8(r.take(len)?).map_err(|_| DecodeError::InvalidUtf8)?;
            out.values.push(out.strings.len() as u32);
            out.strings.push(s.into());
        } else {
            out.values.push(read_number(slot, i, r)?);
        }
    }
    Ok(())
}

/// One numeric field, as the change from zero, checked against its range.
#[inline]
fn read_number(slot: &Slot, i: usize, r: &mut SliceReader<'_>) -> Result<u32, DecodeError> {
    let out_of_range = DecodeError::OutOfRange { field: i as u16 };
    let v = slot.apply_zigzag(0, r.u32()?).ok_or(out_of_range)?;
    if !slot.check(v) {
        return Err(out_of_range);
    }
    Ok(v)
}

/// [`decode_fields`] for a layout of numbers only (an input), into `out`
/// without allocating; returns how many slots were read. A layout with a
/// string, or with more slots than `out` holds, is refused as malformed.
pub fn decode_numbers(
    layout: &Layout,
    bytes: &[u8],
    out: &mut [u32],
) -> Result<usize, DecodeError> {
    if layout.has_strings || layout.len() > out.len() {
        return Err(DecodeError::Malformed);
    }
    let mut r = SliceReader::new(bytes);
    for (i, (slot, v)) in layout.slots.iter().zip(out.iter_mut()).enumerate() {
        *v = read_number(slot, i, &mut r)?;
    }
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(layout.len())
}

/// Encodes a value of a `Replicate` type (an input) by its own fields.
#[derive(Debug)]
pub struct FieldCodec {
    layout: Layout,
}

impl FieldCodec {
    /// The codec of `T`'s fields.
    pub fn of<T: Replicate>() -> Self {
        FieldCodec {
            layout: Layout::new(T::NAME, &T::fields()).unwrap_or_default(),
        }
    }

    /// `value`'s fields, encoded.
    pub fn encode<T: Replicate>(&self, value: &T) -> Vec<u8> {
        let (mut values, mut strings) = (Vec::new(), Vec::new());
        value.write(&mut SlotWriter::new(&mut values, &mut strings));
        let mut out = Vec::new();
        encode_fields(&self.layout, &values, &strings, &mut out);
        out
    }

    /// A `T` from its encoded fields, checked.
    pub fn decode<T: Replicate>(&self, bytes: &[u8]) -> Result<T, DecodeError> {
        let mut f = Fields::default();
        decode_fields(&self.layout, bytes, &mut f)?;
        Ok(T::read(&mut f.reader()))
    }
}

/// An input message: `seq` and `input`'s fields.
pub fn input_msg<T: Replicate>(seq: u32, input: &T) -> ClientMsg {
    ClientMsg::Input(InputMsg {
        seq,
        fields: FieldCodec::of::<T>().encode(input),
    })
}

/// The layouts of a message set's types.
pub fn message_layouts<M: MessageSet>() -> Vec<Layout> {
    M::types()
        .iter()
        .map(|m| Layout::new(&m.name, &m.fields).unwrap_or_default())
        .collect()
}

/// Encodes a game message: its type index, then its fields.
pub fn encode_message<M: MessageSet>(layouts: &[Layout], msg: &M) -> GameMsg {
    let (mut values, mut strings) = (Vec::new(), Vec::new());
    let ty = msg.write(&mut SlotWriter::new(&mut values, &mut strings));
    let mut out = Vec::new();
    varint::append(&mut out, varint::MAX_U32, |w| w.u32(u32::from(ty)));
    if let Some(layout) = layouts.get(usize::from(ty)) {
        encode_fields(layout, &values, &strings, &mut out);
    }
    GameMsg(out)
}

/// Decodes a game message's type and fields (appended to `out`).
pub fn decode_message(
    layouts: &[Layout],
    bytes: &[u8],
    out: &mut Fields,
) -> Result<u16, DecodeError> {
    let mut r = SliceReader::new(bytes);
    let ty = read_message(layouts, &mut r, out)?;
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(ty)
}

/// Reads one message (type and fields) where it starts in `r`.
pub(crate) fn read_message(
    layouts: &[Layout],
    r: &mut SliceReader<'_>,
    out: &mut Fields,
) -> Result<u16, DecodeError> {
    let ty = u16::try_from(r.u32()?).map_err(|_| DecodeError::UnknownMessage)?;
    let layout = layouts
        .get(usize::from(ty))
        .ok_or(DecodeError::UnknownMessage)?;
    read_fields(layout, r, out)?;
    Ok(ty)
}

/// A typed game message from its encoding.
pub fn message_from<M: MessageSet>(layouts: &[Layout], msg: &GameMsg) -> Result<M, DecodeError> {
    let mut f = Fields::default();
    let ty = decode_message(layouts, &msg.0, &mut f)?;
    M::read(ty, &mut f.reader()).ok_or(DecodeError::UnknownMessage)
}

/// Snapshot encoding in parts: the header, then the body the view writes
/// (room state, entity delta; see `delta`), then the tail.
pub mod parts {
    use super::*;

    /// Appends the variant tag and the per-client header fields; `ack_gap`
    /// as [`ack_gap`] gives it.
    pub fn snapshot_head(tick: Tick, base_tick: Tick, ack_gap: u32, out: &mut Vec<u8>) {
        // On the stack, then one copy: no zero-filled headroom in `out`.
        let mut head = [0u8; 4 * varint::MAX_U32];
        let n = varint::write_into(&mut head, |w| {
            w.u32(SNAPSHOT_VARIANT);
            w.u32(tick.0);
            w.u32(base_gap(tick, base_tick));
            w.u32(ack_gap);
        });
        out.extend_from_slice(&head[..n]);
    }

    /// Appends the events (bincode) and the game messages (a count, then
    /// each message's bytes) that close a snapshot.
    pub fn snapshot_tail(
        events: &[ServerEvent],
        messages: Option<&[&[u8]]>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        bincode::serde::encode_into_std_write(events, out, config::standard())?;
        // `None`: the game declares no server messages, and sends no list.
        let Some(messages) = messages else {
            return Ok(());
        };
        let n: usize = messages.iter().map(|m| m.len()).sum();
        varint::append(out, varint::MAX_LEN + n, |w| {
            w.len(messages.len());
            for m in messages {
                w.slice(m);
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(tick: u32, gap: u32) -> Result<Option<SnapshotHeader>, DecodeError> {
        let mut bytes = Vec::new();
        varint::append(&mut bytes, 4 * varint::MAX_U32, |w| {
            w.u32(SNAPSHOT_VARIANT);
            w.u32(tick);
            w.u32(gap);
            w.u32(0);
        });
        peek_snapshot_header(&bytes)
    }

    #[test]
    fn the_baseline_travels_as_its_gap_and_round_trips_across_wraparound() {
        for (tick, base) in [(1000, 999), (5, 2), (1, u32::MAX), (2, 1), (7, 0)] {
            let (tick, base) = (Tick(tick), Tick(base));
            let mut out = Vec::new();
            parts::snapshot_head(tick, base, 0, &mut out);
            let head = peek_snapshot_header(&out).unwrap().unwrap();
            assert_eq!((head.tick, head.base_tick), (tick, base));
        }
        let mut out = Vec::new();
        parts::snapshot_head(Tick(1000), Tick(999), 0, &mut out);
        assert_eq!(out, [SNAPSHOT_VARIANT as u8, 0xfb, 0xe8, 0x03, 1, 0]);
    }

    #[test]
    fn a_gap_that_names_no_older_tick_is_refused() {
        // Tick 0 is never a baseline, and a baseline must be older.
        assert_eq!(header(5, 5), Err(DecodeError::Malformed));
        assert_eq!(header(5, 1 << 31), Err(DecodeError::Malformed));
        assert_eq!(header(5, u32::MAX), Err(DecodeError::Malformed));
        assert!(header(5, 4).unwrap().is_some());
    }
}
