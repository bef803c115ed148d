//! Rooms: one simulation each, run by one task that owns its world.
//!
//! Connections talk to a room only through its bounded command channel; the
//! room answers with an `Arc<Frame>` per tick on a `watch` (latest wins) and
//! reliable events on a `broadcast`.

pub mod frame;
pub mod manager;
mod task;

pub use manager::{JoinError, JoinRequest, Joined, RoomManager};
pub use task::Event;
pub use task::{EVENT_BUFFER, INPUT_QUEUE, RoomSettings, event_buffer, tick_period};

use snapwire_shared::{EntityId, PlayerId, ServerEvent, SessionToken};
use std::sync::Arc;
use tokio::sync::oneshot;

/// `PlayerJoined` for everyone present when a player joined.
///
/// Players who join in the same tick share one list (an `Arc`), plus the
/// few who joined earlier in that tick: a big room's roster is built once
/// per tick, not once per newcomer, and is held only until delivered.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// Everyone present when the tick's first newcomer joined.
    shared: Arc<[RosterEntry]>,
    /// Those who joined earlier in the same tick.
    same_tick: Vec<RosterEntry>,
}

/// One player of a roster. Names are shared with the room (`Arc<str>`):
/// a roster of a big room is built without copying a string per player,
/// and each `PlayerJoined` is made only when it is sent.
#[derive(Debug, Clone)]
pub struct RosterEntry {
    /// Who.
    pub player: PlayerId,
    /// Their entity.
    pub entity: EntityId,
    /// Their display name.
    pub name: Arc<str>,
}

impl RosterEntry {
    /// The `PlayerJoined` event that announces this player.
    pub fn event(&self) -> ServerEvent {
        ServerEvent::PlayerJoined {
            player: self.player,
            entity: self.entity,
            name: self.name.to_string(),
        }
    }
}

impl Roster {
    pub(crate) fn new(shared: Arc<[RosterEntry]>, same_tick: Vec<RosterEntry>) -> Self {
        Roster { shared, same_tick }
    }

    /// Number of players listed.
    pub fn len(&self) -> usize {
        self.shared.len() + self.same_tick.len()
    }

    /// Whether nobody is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th entry.
    pub fn get(&self, i: usize) -> Option<&RosterEntry> {
        self.shared
            .get(i)
            .or_else(|| self.same_tick.get(i - self.shared.len()))
    }
}

/// A player's slot in a room; internal to the server (slots are reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlayerKey(pub(crate) usize);

/// What a connection asks of its room.
#[derive(Debug)]
pub(crate) enum RoomCmd {
    /// Add a player; the room answers on `reply`. A player id already in
    /// the room takes over that player (a fresh login from another device).
    Join {
        player: PlayerId,
        name: String,
        reply: oneshot::Sender<manager::Admission>,
    },
    /// Give a dropped (or still connected) player to a new connection, if
    /// `token` is the player's current session token.
    Resume {
        token: SessionToken,
        reply: oneshot::Sender<Option<manager::Admission>>,
    },
    /// Another process owns the room now: tell every player to go (4002).
    Moved,
    /// One input for the player's queue (decoded and checked).
    Input {
        player: PlayerKey,
        seq: u32,
        input: crate::game::InputSlots,
    },
    /// A message for the game (decoded and checked).
    Message {
        player: PlayerKey,
        ty: u16,
        fields: snapwire_shared::codec::Fields,
    },
    /// Connection `conn` of the player ended. With `resumable`, the entity
    /// stays for the resume grace; without, it is removed at once (`Leave`,
    /// or a client closed for breaking the rules). Ignored if the player has
    /// since moved to a newer connection.
    Disconnected {
        player: PlayerKey,
        conn: u32,
        resumable: bool,
    },
}
