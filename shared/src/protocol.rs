//! The messages clients and servers exchange, one per binary WebSocket message.
//!
//! The byte-level format of every type here is specified in `docs/PROTOCOL.md`;
//! encoding and decoding happen only in [`crate::codec`].

use crate::delta::EntityDelta;
use crate::ids::{EntityId, PlayerId, RoomId, SessionToken, Tick};
use serde::{Deserialize, Serialize};

/// Bumped on every incompatible change to the messages or their encoding.
pub const PROTOCOL_VERSION: u16 = 1;
/// The WebSocket subprotocol a client must offer (`Sec-WebSocket-Protocol`).
pub const SUBPROTOCOL: &str = "snapwire.v1";
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
    Input(InputCmd),
    /// Round-trip probe; answered with [`ServerMsg::Pong`].
    Ping {
        /// Any client clock value; echoed back untouched.
        client_time: u64,
    },
    /// The player leaves on purpose; the server removes the entity at once.
    Leave,
}

/// One tick's worth of a player's controls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InputCmd {
    /// Increases by one per input; the server echoes the last applied one in
    /// `Snapshot::ack_input_seq` so the client can reconcile its prediction.
    pub seq: u32,
    /// Move direction, x component; the vector is clamped to length 1.
    pub move_x: f32,
    /// Move direction, y component.
    pub move_y: f32,
    /// Facing in radians, any finite value (wraps).
    pub yaw: f32,
    /// Game-defined button bits.
    pub buttons: u8,
}

/// Why an input was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A NaN or infinite value, which would poison the simulation.
    #[error("non-finite input value")]
    NonFinite,
}

impl InputCmd {
    /// Checks the values and clamps the move vector to length 1.
    pub fn sanitised(self) -> Result<InputCmd, InputError> {
        if !(self.move_x.is_finite() && self.move_y.is_finite() && self.yaw.is_finite()) {
            return Err(InputError::NonFinite);
        }
        let len_sq = self.move_x * self.move_x + self.move_y * self.move_y;
        if len_sq > 1.0 {
            // Finite components can still overflow to an infinite length.
            if !len_sq.is_finite() {
                return Err(InputError::NonFinite);
            }
            let len = len_sq.sqrt();
            return Ok(InputCmd {
                move_x: self.move_x / len,
                move_y: self.move_y / len,
                ..self
            });
        }
        Ok(self)
    }
}

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
}

/// Constants of a room's world that a client needs to predict and to render.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldInfo {
    /// Side of the square arena in world units; positions lie in `[0, size]`.
    pub size: f32,
    /// Radius within which the client sees other entities; 0 means everything.
    pub view_radius: f32,
    /// Movement speed at full input, world units per second.
    pub move_speed: f32,
}

/// What changed in a client's view since the snapshot it was last sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The tick this snapshot shows.
    pub tick: Tick,
    /// The tick of the snapshot this delta applies to: always the last one the
    /// server sent to this client, or [`Tick::NONE`] for a complete snapshot.
    pub base_tick: Tick,
    /// The last input `seq` the server applied for this player (0 before any).
    pub ack_input_seq: u32,
    /// Entities removed, changed and added since `base_tick`.
    pub delta: EntityDelta,
    /// Reliable events since the previous snapshot to this client, in order.
    pub events: Vec<ServerEvent>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_move_vectors_are_clamped_to_unit_length() {
        let cmd = InputCmd {
            move_x: 3.0,
            move_y: 4.0,
            ..InputCmd::default()
        }
        .sanitised()
        .expect("finite input should be accepted");
        assert!((cmd.move_x - 0.6).abs() < 1e-6);
        assert!((cmd.move_y - 0.8).abs() < 1e-6);
    }

    #[test]
    fn short_move_vectors_are_kept() {
        let input = InputCmd {
            move_x: 0.3,
            move_y: -0.4,
            yaw: 12.0,
            ..InputCmd::default()
        };
        assert_eq!(input.sanitised(), Ok(input));
    }

    #[test]
    fn non_finite_values_are_refused() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let x = InputCmd {
                move_x: bad,
                ..InputCmd::default()
            };
            let yaw = InputCmd {
                yaw: bad,
                ..InputCmd::default()
            };
            assert_eq!(x.sanitised(), Err(InputError::NonFinite));
            assert_eq!(yaw.sanitised(), Err(InputError::NonFinite));
        }
        let huge = InputCmd {
            move_x: f32::MAX,
            move_y: f32::MAX,
            ..InputCmd::default()
        };
        assert_eq!(huge.sanitised(), Err(InputError::NonFinite));
    }
}
