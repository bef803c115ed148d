//! The server's configuration: a plain struct, filled from the command line
//! by the binary or directly by tests and embedders.

use crate::room::RoomSettings;
use crate::sim::{Arena, GameRules};
use std::sync::Arc;
use std::time::Duration;

/// Everything `run` needs to know.
#[derive(Clone)]
pub struct Config {
    /// Simulation ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// Radius within which a client sees entities, world units; 0 = all.
    pub view_radius: f32,
    /// Side of the square arena, world units.
    pub world_size: f32,
    /// Players per room before a new room is opened.
    pub room_capacity: usize,
    /// How long an empty room is kept before it is disposed.
    pub room_empty_grace: Duration,
    /// Time a new TCP connection has to finish the WebSocket upgrade and
    /// send its `Hello`.
    pub handshake_timeout: Duration,
    /// Largest WebSocket message or frame accepted from a client, bytes.
    pub max_message_bytes: usize,
    /// Makes the game rules of each new room.
    pub rules: Arc<dyn Fn() -> Box<dyn GameRules> + Send + Sync>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tick_rate: 30,
            view_radius: 300.0,
            world_size: 1000.0,
            room_capacity: 10_000,
            room_empty_grace: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            max_message_bytes: 4096,
            rules: Arc::new(|| Box::new(Arena)),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tick_rate", &self.tick_rate)
            .field("view_radius", &self.view_radius)
            .field("world_size", &self.world_size)
            .field("room_capacity", &self.room_capacity)
            .field("room_empty_grace", &self.room_empty_grace)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub(crate) fn room_settings(&self) -> RoomSettings {
        RoomSettings {
            tick_rate: self.tick_rate,
            world_size: self.world_size,
            view_radius: self.view_radius,
            capacity: self.room_capacity,
            empty_grace: self.room_empty_grace,
            rules: self.rules.clone(),
        }
    }
}
