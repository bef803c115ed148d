//! The messages clients and servers exchange, one per binary WebSocket message.
//!
//! The byte-level format of every type here is specified in `docs/PROTOCOL.md`;
//! encoding and decoding happen only in [`crate::codec`].

use crate::ids::{EntityId, PlayerId, RoomId, SessionToken, Tick};
use crate::schema::Schema;
use serde::{Deserialize, Serialize};

/// Bumped on every incompatible change to the messages or their encoding.
pub const PROTOCOL_VERSION: u16 = 2;
/// The WebSocket subprotocol a client must offer (`Sec-WebSocket-Protocol`).
pub const SUBPROTOCOL: &str = "snapwire.v2";
/// Subprotocols of earlier versions: accepted at the upgrade, so that their
/// `Hello` can be refused with a close code that names both versions.
pub const OLD_SUBPROTOCOLS: &[&str] = &["snapwire.v1"];
/// The HTTP path of the game endpoint.
pub const PLAY_PATH: &str = "/play";
/// Longest display name accepted in `Hello`, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 32;
/// Longest join token accepted in `Hello`, in bytes.
pub const MAX_AUTH_TOKEN_BYTES: usize = 2048;

/// A message from a client to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message on a connection; anything else first is a protocol error.
    Hello {
        /// Must equal the server's [`PROTOCOL_VERSION`].
        protocol_version: u16,
        /// Display name shown to other players, at most [`MAX_NAME_BYTES`].
        name: String,
        /// Token from the latest `Welcome`, to resume a dropped session:
        /// the same player and entity, if the server still holds them.
        resume_token: Option<SessionToken>,
        /// Signed join token (a JWT) from the game's backend; required when
        /// the server runs with an auth secret, ignored otherwise.
        auth_token: Option<String>,
    },
    /// The player's controls for one tick.
    Input(InputMsg),
    /// Round-trip probe; answered with [`ServerMsg::Pong`].
    Ping {
        /// Any client clock value; echoed back untouched.
        client_time: u64,
    },
    /// The player leaves on purpose; the server removes the entity at once.
    Leave,
    /// A reliable message to the game (chat, "buy", "ready"), delivered to
    /// its handler inside the tick, in arrival order.
    Message(GameMsg),
}

/// One tick's controls: the game's input, encoded by its descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputMsg {
    /// Increases by one per input; the server echoes the last applied one in
    /// each snapshot (as `ack_gap`, see [`Snapshot`]) so the client can
    /// reconcile its prediction.
    pub seq: u32,
    /// The input's fields (see [`crate::codec::encode_fields`]).
    pub fields: Vec<u8>,
}

/// A game message, encoded by its descriptor: its type index, then its
/// fields (see [`crate::codec::encode_message`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameMsg(pub Vec<u8>);

/// A message from the server to a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg {
    /// Answer to `Hello`: who you are and the room's constants.
    Welcome(Welcome),
    /// The world as this client sees it, as a delta against `base_tick`.
    Snapshot(Snapshot),
    /// Answer to `Ping`.
    Pong {
        /// The `client_time` of the `Ping`.
        client_time: u64,
        /// The newest tick the room had simulated when the ping was answered.
        server_tick: Tick,
    },
    /// The server is about to close this connection after `Welcome`, and
    /// why: sent just before the close frame (same reason) for every close
    /// except the normal one after `Leave`.
    Kicked {
        /// Short, human-readable reason; also the close frame's reason.
        reason: String,
    },
    /// The game's schema descriptor, sent once, right after `Welcome`.
    Schema(Schema),
    /// A game message sent on its own, at once, rather than with the next
    /// snapshot (the game asked for it).
    Message(GameMsg),
}

/// Index of [`ServerMsg::Snapshot`] among the variants, as encoded on the wire.
pub(crate) const SNAPSHOT_VARIANT: u32 = 1;

/// Contents of [`ServerMsg::Welcome`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// This client's player.
    pub player: PlayerId,
    /// The entity this client controls.
    pub entity: EntityId,
    /// The room the player joined.
    pub room: RoomId,
    /// Simulation ticks per second; snapshots come at most this often.
    pub tick_rate: u16,
    /// The room's newest tick when the player joined.
    pub tick: Tick,
    /// Opaque token for resuming this session after a dropped connection.
    pub session_token: SessionToken,
    /// The room's constants.
    pub world: WorldInfo,
    /// [`Schema::hash`] of the game's descriptor (sent next), for a client
    /// built against the game's own types to check that they match.
    pub schema_hash: u64,
}

/// Constants of a room's world that a client needs to predict and to render.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldInfo {
    /// Side of the square arena in world units; positions lie in `[0, size]`.
    pub size: f32,
    /// Radius within which the client sees other entities; 0 means everything.
    pub view_radius: f32,
}

/// What changed in a client's view since the snapshot it was last sent.
///
/// Its body (room state, entity delta, events, messages) can only be read
/// against the client's mirror and the game's schema:
/// [`crate::mirror::Mirror::apply`] does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The tick this snapshot shows.
    pub tick: Tick,
    /// The tick of the snapshot this delta applies to: always the last one the
    /// server sent to this client, or [`Tick::NONE`] for a complete snapshot.
    pub base_tick: Tick,
    /// The last input `seq` the server applied for this player (0 before
    /// any), as the gap (wrapping) from the one the baseline acknowledged, or
    /// itself in a complete snapshot: 1 byte where the `seq` takes three or
    /// five. [`crate::mirror::Mirror::ack`] adds it up.
    pub ack_gap: u32,
    /// Everything after the header, as sent.
    pub body: Vec<u8>,
}

/// The header and the body's raw bytes, as they are on the wire.
impl Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(3 + self.body.len())?;
        t.serialize_element(&self.tick)?;
        t.serialize_element(&crate::codec::base_gap(self.tick, self.base_tick))?;
        t.serialize_element(&self.ack_gap)?;
        for b in &self.body {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

/// Snapshots are read by [`crate::codec::decode_server`] itself, never
/// through serde: their length is the message's.
impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "snapshots are decoded by the codec",
        ))
    }
}

/// Something that happened in the room, delivered exactly once, in order.
///
/// Events ride on the next snapshot a client is sent. Snapshots are delivered
/// in order over one TCP stream, and a client that skips ticks (latest wins)
/// still gets every event: they accumulate until its next snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerEvent {
    /// A player is in the room (sent for everyone present when a client joins,
    /// then for each later arrival).
    PlayerJoined {
        /// Who.
        player: PlayerId,
        /// The entity they control.
        entity: EntityId,
        /// Their display name.
        name: String,
    },
    /// A player left the room; their entity is removed in the same snapshot.
    PlayerLeft {
        /// Who.
        player: PlayerId,
    },
    /// A player's connection dropped; their entity stays (idle) for the
    /// server's resume grace, then a `PlayerLeft` follows unless they resume.
    PlayerDropped {
        /// Who.
        player: PlayerId,
    },
    /// A dropped player reconnected and controls their entity again.
    PlayerResumed {
        /// Who.
        player: PlayerId,
    },
    /// The server is shutting down: it keeps the game running for
    /// `closes_in_ms` more milliseconds, then closes with 1001.
    ServerDraining {
        /// Time left before the close, milliseconds.
        closes_in_ms: u32,
    },
}

/// WebSocket close codes the server uses, and their reasons.
pub mod close {
    /// Normal closure: the client said `Leave`.
    pub const NORMAL: u16 = 1000;
    /// Going away: the server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error: wrong version, message out of order.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Unsupported data: a text frame.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// Invalid payload: bytes that do not decode, or values out of range.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation: timeouts, rate limits, lagging too far behind.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// Message too big.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// Server error: something went wrong on the server's side.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Try again later: the room named by the join token is full.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The session was resumed on another connection (application code).
    pub const SESSION_REPLACED: u16 = 4001;
    /// The room is now held by another server process (scale-out: this
    /// one lost it while cut off from the registry); matchmake again for
    /// the same room (application code).
    pub const ROOM_MOVED: u16 = 4002;

    /// Reason sent with [`NORMAL`] after `Leave`.
    pub const REASON_BYE: &str = "bye";
    /// Reason sent with [`MESSAGE_TOO_BIG`].
    pub const REASON_TOO_BIG: &str = "message too big";
    /// Reason sent with [`GOING_AWAY`] on shutdown.
    pub const REASON_SHUTDOWN: &str = "server shutting down";
    /// Reason sent with [`INVALID_PAYLOAD`] for invalid UTF-8 in a text
    /// message or a close reason.
    pub const REASON_INVALID_UTF8: &str = "invalid UTF-8";
    /// Reason sent with [`UNSUPPORTED_DATA`].
    pub const REASON_BINARY_ONLY: &str = "binary frames only";
    /// Reason sent with [`PROTOCOL_ERROR`] when the first message is not `Hello`.
    pub const REASON_HELLO_FIRST: &str = "expected Hello first";
    /// Reason sent with [`PROTOCOL_ERROR`] on a second `Hello`.
    pub const REASON_DUPLICATE_HELLO: &str = "duplicate Hello";
    /// Reason sent with [`POLICY_VIOLATION`] when `Hello` does not come in time.
    pub const REASON_HELLO_TIMEOUT: &str = "no Hello in time";
    /// Reason sent with [`POLICY_VIOLATION`] to a client over the rate limit.
    pub const REASON_RATE_LIMIT: &str = "rate limit exceeded";
    /// Reason sent with [`POLICY_VIOLATION`] to a client that sent nothing
    /// for the idle timeout.
    pub const REASON_IDLE: &str = "idle timeout";
    /// Reason sent with [`POLICY_VIOLATION`] to a client that did not answer
    /// a WebSocket Ping within the stall timeout.
    pub const REASON_NOT_READING: &str = "not reading";
    /// Reason sent with [`POLICY_VIOLATION`] for a missing, badly signed or
    /// expired join token; it never says which.
    pub const REASON_INVALID_TOKEN: &str = "invalid token";
    /// Reason sent with [`POLICY_VIOLATION`] for a resume token that is
    /// unknown, already spent, or whose grace has passed.
    pub const REASON_INVALID_RESUME: &str = "invalid resume token";
    /// Reason sent with [`SESSION_REPLACED`] to the old connection of a
    /// session that resumed on a new one.
    pub const REASON_REPLACED: &str = "session resumed elsewhere";
    /// Reason sent with [`TRY_AGAIN_LATER`] when the token's room is full.
    pub const REASON_ROOM_FULL: &str = "room full";
    /// Reason sent with [`ROOM_MOVED`].
    pub const REASON_ROOM_MOVED: &str = "room moved: matchmake again";
    /// Reason sent with [`POLICY_VIOLATION`] for a seat reservation that is
    /// expired, used, malformed, or for another server.
    pub const REASON_INVALID_RESERVATION: &str = "invalid reservation";
    /// Reason sent with [`POLICY_VIOLATION`] when a server that is part of
    /// a deployment is joined without a reservation.
    pub const REASON_RESERVATION_REQUIRED: &str = "reservation required: POST /matchmake first";
    /// Reason sent with [`POLICY_VIOLATION`] to a client whose reliable events
    /// piled up because it stopped reading.
    pub const REASON_LAGGING: &str = "too far behind";
}
