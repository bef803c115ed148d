//! What a room publishes each tick: an immutable, shared picture of the world.

use crate::sim::Grid;
use crate::view::EXIT_RADIUS_FACTOR;
use snapwire_shared::Tick;
use snapwire_shared::delta::{self, DeltaScratch, EncodedSpawns, EncodedUpdates, Sel};
use snapwire_shared::schema::Layouts;
use snapwire_shared::table::Table;
use std::sync::{Arc, Mutex, OnceLock};

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
/// `watch<Arc<Frame>>`: shards compute each client's view from it, on any
/// core, without touching the room. A client keeps the frame it was last
/// sent as its baseline, so a delta needs no copy of any entity's state.
#[derive(Debug)]
pub struct Frame {
    /// The tick this frame shows.
    pub tick: Tick,
    /// The game's layouts, to read the tables with.
    pub layouts: Arc<Layouts>,
    /// Every entity, quantised, by ascending id.
    pub entities: Table,
    /// The room state's slots.
    pub state: Table,
    /// Entities with a position, bucketed by cell; `None` when every
    /// client sees everything.
    pub grid: Option<Grid>,
    /// Indices of the entities without a position, which every client sees.
    pub global: Vec<u32>,
    /// Per player slot (the room's player key): entity and input ack.
    pub players: Vec<PlayerFrame>,
    /// Full-view only: bodies already encoded against a base tick, so that
    /// clients with the same baseline share one encoding.
    shared_bodies: Mutex<Vec<(Tick, Arc<[u8]>)>>,
    /// Area-of-interest only: every entity's change from the frame of
    /// `updates_since` (the one published before), encoded once for all the
    /// clients that were sent that frame; and the room state's.
    updates: EncodedUpdates,
    state_update: Vec<u8>,
    updates_since: Tick,
    /// Every entity's arrival, encoded once if a snapshot of this tick
    /// needs many (joins; see `delta::write_delta`).
    spawns: OnceLock<EncodedSpawns>,
    /// When the room published it (made): the start of its sends' latency.
    pub published: std::time::Instant,
    /// The room has moved to another process (the registry gave it to
    /// one): every connection that sees this closes with 4002.
    pub moved: bool,
}

/// The reusable buffers of a frame nobody reads any more.
#[derive(Debug, Default)]
pub struct Recycled {
    entities: Table,
    state: Table,
    grid: Option<Grid>,
    global: Vec<u32>,
    updates: EncodedUpdates,
    state_update: Vec<u8>,
}

impl Recycled {
    /// The tables to fill for the next frame.
    pub fn tables(&mut self) -> (&mut Table, &mut Table) {
        (&mut self.entities, &mut self.state)
    }
}

/// Distinct baselines kept per frame; more than this means clients are far
/// apart, and the oldest encoding is evicted.
const MAX_SHARED_BODIES: usize = 8;

impl Frame {
    /// A frame of `entities` and `state`; with `view_radius > 0` the
    /// entities with a position are bucketed in a grid whose cells are one
    /// exit radius wide (so a view query touches at most 3×3 cells).
    pub fn new(
        tick: Tick,
        layouts: Arc<Layouts>,
        entities: Table,
        state: Table,
        view_radius: f32,
        world_size: f32,
        players: Vec<PlayerFrame>,
    ) -> Self {
        Self::build(
            tick,
            layouts,
            view_radius,
            world_size,
            players,
            Recycled {
                entities,
                state,
                ..Recycled::default()
            },
        )
    }

    /// A frame of the recycled buffers' tables (filled by the caller).
    pub fn build(
        tick: Tick,
        layouts: Arc<Layouts>,
        view_radius: f32,
        world_size: f32,
        players: Vec<PlayerFrame>,
        recycled: Recycled,
    ) -> Self {
        let Recycled {
            entities,
            state,
            grid,
            mut global,
            updates,
            state_update,
        } = recycled;
        // Views and deltas rely on it (a view sorts indices to sort by id).
        debug_assert!(
            entities.rows.windows(2).all(|w| w[0].id < w[1].id),
            "a frame's entities are by strictly ascending id"
        );
        let positioned = |kind: u16| {
            layouts
                .kinds
                .get(usize::from(kind))
                .is_some_and(|k| k.position.is_some())
        };
        global.clear();
        if !layouts.all_positioned {
            global.extend(
                entities
                    .rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| !positioned(r.kind))
                    .map(|(i, _)| i as u32),
            );
        }
        let grid = (view_radius > 0.0).then(|| {
            let mut g = grid.unwrap_or_default();
            let scale = layouts.position_scale;
            let cell_q = (view_radius * EXIT_RADIUS_FACTOR * scale) as i64;
            let all = layouts.all_positioned;
            g.rebuild(
                &entities.rows,
                |r| all || positioned(r.kind),
                (world_size * scale) as i64,
                cell_q,
            );
            g
        });
        Frame {
            tick,
            layouts,
            entities,
            state,
            grid,
            global,
            players,
            shared_bodies: Mutex::new(Vec::new()),
            updates,
            state_update,
            updates_since: Tick::NONE,
            spawns: OnceLock::new(),
            published: std::time::Instant::now(),
            moved: false,
        }
    }

    /// Takes the frame apart for [`Frame::build`]; the caller refills the
    /// tables.
    pub fn recycle(self) -> (Recycled, Vec<PlayerFrame>) {
        (
            Recycled {
                entities: self.entities,
                state: self.state,
                grid: self.grid,
                global: self.global,
                updates: self.updates,
                state_update: self.state_update,
            },
            self.players,
        )
    }

    /// Area-of-interest frames: encodes every entity's change (and the room
    /// state's) from `older`, the frame published before this one, once for
    /// all the clients that were sent it. Linear in entities. Full-view
    /// frames share whole bodies instead ([`Frame::shared_body`]).
    pub fn encode_updates_from(&mut self, older: &Frame) {
        if self.grid.is_none() || !older.tick.is_some() {
            return;
        }
        self.updates
            .build(&self.layouts, &older.entities, &self.entities);
        self.state_update.clear();
        delta::write_state_change(
            &self.layouts.state,
            Some(&older.state),
            &self.state,
            &mut self.state_update,
        );
        self.updates_since = older.tick;
    }

    /// The entities' and the state's changes from the frame of tick `base`,
    /// if they were encoded from that frame.
    pub fn updates_from(&self, base: Tick) -> Option<(&EncodedUpdates, &[u8])> {
        (base.is_some() && base == self.updates_since)
            .then_some((&self.updates, &self.state_update[..]))
    }

    /// The player's entry, if the slot is in use.
    pub fn player(&self, key: usize) -> Option<PlayerFrame> {
        self.players
            .get(key)
            .copied()
            .filter(|p| p.entity_index != u32::MAX)
    }

    /// The body (room state's change, then every entity's delta) from
    /// `base` (`None`: an empty baseline) to this frame, encoded once per
    /// distinct base.
    pub fn shared_body(&self, base: Option<&Frame>) -> Arc<[u8]> {
        let base_tick = base.map_or(Tick::NONE, |b| b.tick);
        // A poisoned lock only means another writer panicked mid-encode; the
        // cache holds complete entries only, so it is still usable.
        let mut cache = self.shared_bodies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, body)) = cache.iter().find(|(t, _)| *t == base_tick) {
            return body.clone();
        }
        let mut bytes = Vec::new();
        self.write_body(
            base,
            Sel::All,
            Sel::All,
            &mut DeltaScratch::default(),
            &mut bytes,
        );
        let body: Arc<[u8]> = bytes.into();
        if cache.len() == MAX_SHARED_BODIES {
            cache.remove(0);
        }
        cache.push((base_tick, body.clone()));
        body
    }

    /// Writes the body from the view `base_sel` of `base` to the view
    /// `sel` of this frame, copying what was encoded once per tick when
    /// `base` is the frame before.
    pub fn write_body(
        &self,
        base: Option<&Frame>,
        base_sel: Sel<'_>,
        sel: Sel<'_>,
        scratch: &mut DeltaScratch,
        out: &mut Vec<u8>,
    ) {
        let shared = base.and_then(|b| self.updates_from(b.tick));
        match shared {
            // Usually one byte: "unchanged".
            Some((_, &[b])) => out.push(b),
            Some((_, state)) => out.extend_from_slice(state),
            None => delta::write_state_change(
                &self.layouts.state,
                base.map(|b| &b.state),
                &self.state,
                out,
            ),
        }
        let base_entities = base.map_or(&snapwire_shared::table::EMPTY, |b| &b.entities);
        let base_sel = if base.is_some() {
            base_sel
        } else {
            Sel::Indices(&[])
        };
        delta::write_delta(
            &self.layouts,
            base_entities,
            base_sel,
            &self.entities,
            sel,
            shared.map(|(u, _)| u),
            Some(&self.spawns),
            scratch,
            out,
        );
    }
}
