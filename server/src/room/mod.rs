//! Rooms: one simulation each, run by one task that owns its world.
//!
//! Connections talk to a room only through its bounded command channel; the
//! room answers with an `Arc<Frame>` per tick on a `watch` (latest wins) and
//! reliable events on a `broadcast`.

pub mod frame;
pub mod manager;
mod task;

pub use manager::{JoinError, Joined, RoomManager};
pub use task::RoomSettings;

use snapwire_shared::{InputCmd, PlayerId};
use tokio::sync::oneshot;

/// A player's slot in a room; internal to the server (slots are reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlayerKey(pub(crate) usize);

/// What a connection asks of its room.
#[derive(Debug)]
pub(crate) enum RoomCmd {
    /// Add a player; the room answers on `reply`.
    Join {
        player: PlayerId,
        name: String,
        reply: oneshot::Sender<manager::Admission>,
    },
    /// One input for the player's queue.
    Input { player: PlayerKey, cmd: InputCmd },
    /// The player is gone (left or disconnected).
    Leave { player: PlayerKey },
}
