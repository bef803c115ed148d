//! What a room publishes each tick: an immutable, shared picture of the world.

use crate::sim::{Grid, World};
use crate::view::EXIT_RADIUS_FACTOR;
use snapwire_shared::codec::{self, EncodeError};
use snapwire_shared::delta::{EncodedUpdates, EntityDelta, diff};
use snapwire_shared::quant::POS_SCALE;
use snapwire_shared::{NetEntity, Tick};
use std::sync::{Arc, Mutex};

/// One player's entry in a frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlayerFrame {
    /// Index of the player's entity in [`Frame::entities`]; `u32::MAX` if none.
    pub entity_index: u32,
    /// The last input seq the room applied for this player.
    pub ack_input_seq: u32,
    /// Which connection controls the player (unique in the room, never 0):
    /// a connection that sees another value here has been replaced.
    pub conn: u32,
}

impl PlayerFrame {
    /// Marks a free player slot.
    pub const VACANT: PlayerFrame = PlayerFrame {
        entity_index: u32::MAX,
        ack_input_seq: 0,
        conn: 0,
    };
}

/// The world after one tick, as every connection's writer sees it.
///
/// Built once per tick by the room and shared through a
/// `watch<Arc<Frame>>`: writers compute their own views from it, on any
/// core, without touching the room.
#[derive(Debug)]
pub struct Frame {
    /// The tick this frame shows.
    pub tick: Tick,
    /// Every entity, quantised, by ascending id.
    pub entities: Vec<NetEntity>,
    /// `entities` bucketed by cell; `None` when every client sees everything.
    pub grid: Option<Grid>,
    /// Per player slot (the room's player key): entity and input ack.
    pub players: Vec<PlayerFrame>,
    /// Full-view only: delta bodies already encoded against a base tick, so
    /// that clients with the same baseline share one encoding.
    shared_bodies: Mutex<Vec<(Tick, Arc<[u8]>)>>,
    /// Area-of-interest only: every entity's update from the frame of
    /// `updates_since` (the one published before), encoded once for all the
    /// clients that were sent that frame.
    updates: EncodedUpdates,
    updates_since: Tick,
    /// When the room published it (made): the start of its sends' latency.
    pub published: std::time::Instant,
    /// The room has moved to another process (the registry gave it to
    /// one): every connection that sees this closes with 4002.
    pub moved: bool,
}

/// The reusable buffers of a frame nobody reads any more.
#[derive(Debug, Default)]
pub struct Recycled {
    entities: Vec<NetEntity>,
    grid: Option<Grid>,
    updates: EncodedUpdates,
}

/// Distinct baselines kept per frame; more than this means clients are far
/// apart, and the oldest encoding is evicted.
const MAX_SHARED_BODIES: usize = 8;

impl Frame {
    /// A frame with no shared encodings yet.
    pub fn new(
        tick: Tick,
        entities: Vec<NetEntity>,
        grid: Option<Grid>,
        players: Vec<PlayerFrame>,
    ) -> Self {
        // Views and deltas rely on it (a view sorts indices to sort by id).
        debug_assert!(
            entities.windows(2).all(|w| w[0].id < w[1].id),
            "a frame's entities are by strictly ascending id"
        );
        Frame {
            tick,
            entities,
            grid,
            players,
            shared_bodies: Mutex::new(Vec::new()),
            published: std::time::Instant::now(),
            moved: false,
            updates: EncodedUpdates::default(),
            updates_since: Tick::NONE,
        }
    }

    /// Quantises `world` and, when `view_radius > 0`, buckets it in a grid
    /// whose cells are one exit radius wide (so a view query touches at most
    /// 3×3 cells). Linear in entities.
    pub fn from_world(
        tick: Tick,
        world: &World,
        view_radius: f32,
        players: Vec<PlayerFrame>,
    ) -> Self {
        Self::from_world_reusing(tick, world, view_radius, players, Recycled::default())
    }

    /// [`Frame::from_world`], reusing the buffers of an older frame, so that
    /// a steady room allocates nothing per tick.
    pub fn from_world_reusing(
        tick: Tick,
        world: &World,
        view_radius: f32,
        players: Vec<PlayerFrame>,
        recycled: Recycled,
    ) -> Self {
        let Recycled {
            mut entities,
            grid,
            updates,
        } = recycled;
        world.quantise_into(&mut entities);
        let grid = (view_radius > 0.0).then(|| {
            let mut g = grid.unwrap_or_default();
            let cell_q = (view_radius * EXIT_RADIUS_FACTOR * POS_SCALE) as i64;
            g.rebuild(&entities, (world.size() * POS_SCALE) as i64, cell_q);
            g
        });
        let mut frame = Frame::new(tick, entities, grid, players);
        frame.updates = updates;
        frame
    }

    /// Area-of-interest frames: encodes every entity's update from `older`
    /// (the frame published before this one), once for all the clients
    /// that were sent it; see [`Frame::updates_from`]. Linear in entities;
    /// reuses the recycled frame's buffers. Full-view frames share whole
    /// delta bodies instead ([`Frame::shared_body`]), and skip this.
    pub fn encode_updates_from(&mut self, older: &Frame) {
        if self.grid.is_none() || !older.tick.is_some() {
            return;
        }
        self.updates.build(&older.entities, &self.entities);
        self.updates_since = older.tick;
    }

    /// Every entity's update from the frame of tick `base`, if they were
    /// encoded from that frame.
    pub fn updates_from(&self, base: Tick) -> Option<&EncodedUpdates> {
        (base.is_some() && base == self.updates_since).then_some(&self.updates)
    }

    /// Takes the frame apart for [`Frame::from_world_reusing`].
    pub fn recycle(self) -> (Recycled, Vec<PlayerFrame>) {
        (
            Recycled {
                entities: self.entities,
                grid: self.grid,
                updates: self.updates,
            },
            self.players,
        )
    }

    /// The player's entry, if the slot is in use.
    pub fn player(&self, key: usize) -> Option<PlayerFrame> {
        self.players
            .get(key)
            .copied()
            .filter(|p| p.entity_index != u32::MAX)
    }

    /// The encoded delta from `base` (every entity of the base frame; `None`
    /// for an empty baseline) to this frame, encoded once per distinct base.
    pub fn shared_body(&self, base: Option<&Frame>) -> Result<Arc<[u8]>, EncodeError> {
        let base_tick = base.map_or(Tick::NONE, |b| b.tick);
        // A poisoned lock only means another writer panicked mid-encode; the
        // cache holds complete entries only, so it is still usable.
        let mut cache = self.shared_bodies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, body)) = cache.iter().find(|(t, _)| *t == base_tick) {
            return Ok(body.clone());
        }
        let mut delta = EntityDelta::default();
        diff(
            base.map_or(&[][..], |b| &b.entities),
            &self.entities,
            &mut delta,
        );
        let mut bytes = Vec::new();
        codec::parts::delta_body(&delta, &mut bytes)?;
        let body: Arc<[u8]> = bytes.into();
        if cache.len() == MAX_SHARED_BODIES {
            cache.remove(0);
        }
        cache.push((base_tick, body.clone()));
        Ok(body)
    }
}
