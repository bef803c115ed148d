//! The client side of snapshots: a mirror of the server's view, built from
//! the game's schema alone, interpolation of remote entities, and (in
//! [`crate::arena`]) prediction of the local one.
//!
//! Any Rust client can use it; the bot swarm does. It needs no type of the
//! game: [`Mirror::rows`] and [`Mirror::values`] give every entity's slots
//! as the descriptor describes them; a client built with the game's types
//! reads them as those types ([`Mirror::get`], [`Mirror::state`]).

use crate::codec::{DecodeError, Fields, SnapshotHeader};
use crate::delta::{self, ApplyError};
use crate::field::{EntitySet, MessageSet, Replicate, SlotReader};
use crate::ids::{EntityId, Tick};
use crate::protocol::{ServerEvent, Snapshot};
use crate::schema::{Layouts, Schema, SchemaError};
use crate::table::{Row, Table};
use crate::varint::SliceReader;
use glam::Vec2;
use std::collections::VecDeque;
use std::sync::Arc;

/// Why a snapshot could not be applied to the mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// The snapshot is a delta against a tick the mirror is not at.
    #[error("snapshot is based on {got}, mirror is at {have}")]
    BaseMismatch {
        /// The mirror's tick.
        have: Tick,
        /// The snapshot's `base_tick`.
        got: Tick,
    },
    /// The snapshot is not newer than the mirror.
    #[error("snapshot for {got} is not newer than {have}")]
    Stale {
        /// The mirror's tick.
        have: Tick,
        /// The snapshot's tick.
        got: Tick,
    },
    /// The delta does not fit the mirror's entities, or does not read.
    #[error(transparent)]
    Delta(#[from] ApplyError),
    /// The events or messages do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// How many past views are kept for interpolation: enough to draw remote
/// entities a couple of ticks in the past with a tick to spare.
const HISTORY: usize = 3;

/// What a snapshot carried besides state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Reliable events since the previous snapshot, in order.
    pub events: Vec<ServerEvent>,
    /// Game messages since the previous snapshot, in order: type index and
    /// fields.
    pub messages: Vec<(u16, Fields)>,
}

impl Applied {
    /// The game messages as the game's type (unknown ones skipped).
    pub fn messages_as<M: MessageSet>(&self) -> Vec<M> {
        self.messages
            .iter()
            .filter_map(|(ty, f)| M::read(*ty, &mut f.reader()))
            .collect()
    }
}

/// Positions of one past view, by id, in world units, for interpolation.
type Positions = Vec<(EntityId, Vec2)>;

/// The client's copy of what the server last sent it.
#[derive(Debug)]
pub struct Mirror {
    layouts: Arc<Layouts>,
    /// Tick of the newest applied snapshot; [`Tick::NONE`] before the first.
    tick: Tick,
    /// The input `seq` it acknowledged.
    ack: u32,
    /// Entities at `tick`: the baseline of the next delta.
    table: Table,
    /// The room state at `tick` (slots only).
    state: Table,
    /// Where the next snapshot is built, so that a failed apply changes
    /// nothing.
    spare: Table,
    spare_state: Table,
    /// Scratch for reading a delta.
    removed: Vec<EntityId>,
    /// Older positions, newest first; allocations are reused.
    history: VecDeque<(Tick, Positions)>,
}

impl Mirror {
    /// An empty mirror for a game with this schema, waiting for a complete
    /// snapshot.
    pub fn new(schema: &Schema) -> Result<Self, SchemaError> {
        Ok(Self::with_layouts(Arc::new(schema.compile()?)))
    }

    /// An empty mirror over compiled layouts.
    pub fn with_layouts(layouts: Arc<Layouts>) -> Self {
        let mut state = Table::default();
        state.values.resize(layouts.state.len(), 0);
        for (i, s) in layouts.state.slots.iter().enumerate() {
            if s.is_str() {
                state.values[i] = state.strings.len() as u32;
                state.strings.push("".into());
            }
        }
        Mirror {
            layouts,
            tick: Tick::NONE,
            ack: 0,
            table: Table::default(),
            state,
            spare: Table::default(),
            spare_state: Table::default(),
            removed: Vec::new(),
            history: VecDeque::new(),
        }
    }

    /// The layouts the mirror decodes with.
    pub fn layouts(&self) -> &Arc<Layouts> {
        &self.layouts
    }

    /// Applies a snapshot. A complete one (`base_tick == NONE`) replaces the
    /// mirror; a delta must be based on the mirror's tick. On error the
    /// mirror is unchanged.
    pub fn apply(&mut self, snap: &Snapshot) -> Result<Applied, MirrorError> {
        let head = SnapshotHeader {
            tick: snap.tick,
            base_tick: snap.base_tick,
            ack_gap: snap.ack_gap,
        };
        self.apply_parts(&head, &snap.body)
    }

    /// [`Mirror::apply`] for a snapshot read in place: its header and the
    /// bytes after it (see [`crate::codec::split_snapshot`]), with no copy.
    pub fn apply_parts(
        &mut self,
        snap: &SnapshotHeader,
        body: &[u8],
    ) -> Result<Applied, MirrorError> {
        if self.tick.is_some() && !snap.tick.is_newer_than(self.tick) {
            return Err(MirrorError::Stale {
                have: self.tick,
                got: snap.tick,
            });
        }
        if snap.base_tick.is_some() && snap.base_tick != self.tick {
            return Err(MirrorError::BaseMismatch {
                have: self.tick,
                got: snap.base_tick,
            });
        }
        let full = !snap.base_tick.is_some();
        let layouts = &*self.layouts;
        let mut r = SliceReader::new(body);
        self.spare_state.clear();
        let old_state = (!full).then(|| (&self.state.values[..], &self.state));
        // A game without room state sends none.
        if !layouts.state.is_empty() {
            delta::read_change(
                &layouts.state,
                old_state,
                &mut r,
                &mut self.spare_state,
                false,
            )
            .map_err(ApplyError::from)?;
        }
        let base = (!full).then_some(&self.table);
        delta::read_delta(layouts, base, &mut r, &mut self.spare, &mut self.removed)?;
        let applied = read_tail(layouts, &mut r)?;
        // Accepted: the new view becomes the mirror's.
        let old = std::mem::replace(&mut self.table, std::mem::take(&mut self.spare));
        self.spare = old;
        std::mem::swap(&mut self.state, &mut self.spare_state);
        if self.tick.is_some() {
            let mut positions = if self.history.len() >= HISTORY {
                self.history.pop_back().map(|(_, v)| v).unwrap_or_default()
            } else {
                Vec::new()
            };
            positions.clear();
            let inv = 1.0 / self.layouts.position_scale;
            let at = |r: &Row| (r.id, Vec2::new(r.x as f32 * inv, r.y as f32 * inv));
            if self.layouts.all_positioned {
                positions.extend(self.spare.rows.iter().map(at));
            } else {
                positions.extend(
                    self.spare
                        .rows
                        .iter()
                        .filter(|r| self.has_position(r))
                        .map(at),
                );
            }
            self.history.push_front((self.tick, positions));
        }
        self.tick = snap.tick;
        self.ack = if full {
            snap.ack_gap
        } else {
            self.ack.wrapping_add(snap.ack_gap)
        };
        Ok(applied)
    }

    #[inline]
    fn has_position(&self, row: &Row) -> bool {
        self.layouts.all_positioned
            || self
                .layouts
                .kinds
                .get(usize::from(row.kind))
                .is_some_and(|k| k.position.is_some())
    }

    /// Tick of the newest applied snapshot.
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// The last input `seq` the server had applied at [`Mirror::tick`] (0
    /// before any): what prediction reconciles against.
    pub fn ack(&self) -> u32 {
        self.ack
    }

    /// The mirrored entities, by ascending id.
    pub fn rows(&self) -> &[Row] {
        &self.table.rows
    }

    /// The number of mirrored entities.
    pub fn len(&self) -> usize {
        self.table.rows.len()
    }

    /// Whether the mirror holds no entity.
    pub fn is_empty(&self) -> bool {
        self.table.rows.is_empty()
    }

    /// One mirrored entity's row.
    pub fn row(&self, id: EntityId) -> Option<&Row> {
        self.table.find(id).map(|i| &self.table.rows[i])
    }

    /// A row's slots, as its kind's descriptor lists its fields (numbers as
    /// held in [`crate::schema::Slot`]s; a string slot indexes
    /// [`Mirror::string`]).
    pub fn values(&self, row: &Row) -> &[u32] {
        let n = self
            .layouts
            .kinds
            .get(usize::from(row.kind))
            .map_or(0, |k| k.layout.len());
        self.table.slots(row, n)
    }

    /// The string a string slot holds.
    pub fn string(&self, slot_value: u32) -> &str {
        self.table.string(slot_value)
    }

    /// The room state's slots.
    pub fn state_values(&self) -> &[u32] {
        &self.state.values
    }

    /// One entity as the game's type.
    pub fn get<E: EntitySet>(&self, id: EntityId) -> Option<E> {
        let row = self.row(id)?;
        E::read_kind(row.kind, &mut self.table.reader(row))
    }

    /// The room state as the game's type.
    pub fn state<S: Replicate>(&self) -> S {
        S::read(&mut SlotReader::new(
            &self.state.values,
            &self.state.strings,
        ))
    }

    /// Where an entity with a position is, in world units.
    pub fn position(&self, id: EntityId) -> Option<Vec2> {
        let row = self.row(id)?;
        self.has_position(row).then(|| self.to_world(row.x, row.y))
    }

    fn to_world(&self, x: i32, y: i32) -> Vec2 {
        let s = self.layouts.position_scale;
        Vec2::new(x as f32 / s, y as f32 / s)
    }

    /// Where entity `id` was `ticks_behind` ticks before the newest snapshot,
    /// interpolated linearly between the two snapshots around that time.
    ///
    /// Rendering remote entities a little in the past (typically 2 ticks)
    /// hides network jitter. Falls back to the nearest known position.
    pub fn interpolated(&self, id: EntityId, ticks_behind: f32) -> Option<Vec2> {
        let newest = self.position(id)?;
        let mut later = (0.0_f32, newest);
        for (tick, view) in &self.history {
            let age = self.tick.since(*tick) as f32;
            let Ok(i) = view.binary_search_by_key(&id, |e| e.0) else {
                // Not visible that far back: hold the oldest known position.
                return Some(later.1);
            };
            let pos = view[i].1;
            if age >= ticks_behind {
                let span = age - later.0;
                let t = if span > 0.0 {
                    (ticks_behind - later.0) / span
                } else {
                    0.0
                };
                return Some(later.1.lerp(pos, t));
            }
            later = (age, pos);
        }
        Some(later.1)
    }

    /// Where every mirrored entity with a position was `ticks_behind` ticks
    /// before the newest snapshot: the same positions as
    /// [`Mirror::interpolated`], for the whole view in one linear pass (what
    /// a renderer wants once a frame). Writes `(id, position)` into `out`,
    /// by ascending id.
    pub fn interpolate_all(&self, ticks_behind: f32, out: &mut Vec<(EntityId, Vec2)>) {
        out.clear();
        // Views are sorted by id, so one forward cursor per history view
        // finds every entity without a search.
        let mut cursors = [0usize; HISTORY];
        for e in self.table.rows.iter().filter(|r| self.has_position(r)) {
            let mut later = (0.0_f32, self.to_world(e.x, e.y));
            let mut found = None;
            for ((tick, view), c) in self.history.iter().zip(cursors.iter_mut()) {
                while *c < view.len() && view[*c].0 < e.id {
                    *c += 1;
                }
                if view.get(*c).is_none_or(|old| old.0 != e.id) {
                    found = Some(later.1);
                    break;
                }
                let (age, pos) = (self.tick.since(*tick) as f32, view[*c].1);
                if age >= ticks_behind {
                    let span = age - later.0;
                    let t = if span > 0.0 {
                        (ticks_behind - later.0) / span
                    } else {
                        0.0
                    };
                    found = Some(later.1.lerp(pos, t));
                    break;
                }
                later = (age, pos);
            }
            out.push((e.id, found.unwrap_or(later.1)));
        }
    }
}

/// Reads a snapshot's events and messages, which end it.
fn read_tail(layouts: &Layouts, r: &mut SliceReader<'_>) -> Result<Applied, DecodeError> {
    let rest = r.rest();
    let (events, used): (Vec<ServerEvent>, usize) = bincode::serde::decode_from_slice(
        rest,
        bincode::config::standard().with_limit::<{ crate::codec::SERVER_DECODE_LIMIT }>(),
    )?;
    let mut r = SliceReader::new(&rest[used..]);
    // A game that declares no server messages sends no message list.
    let n = if layouts.server_messages.is_empty() {
        0
    } else {
        r.len()?
    };
    let mut messages = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let mut f = Fields::default();
        let ty = crate::codec::read_message(&layouts.server_messages, &mut r, &mut f)?;
        messages.push((ty, f));
    }
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(Applied { events, messages })
}
