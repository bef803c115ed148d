//! Replicated state in slots: the entities of one tick (or of one client's
//! mirror), by ascending id.
//!
//! A [`Table`] holds every entity's quantised fields as words in one
//! buffer, its strings in another, and one small [`Row`] per entity saying
//! where its slots are. It is what the server diffs and encodes each tick
//! and what a client's mirror applies snapshots to: no per-entity
//! allocation, and a row without strings copies as a plain slice.

use crate::field::{SlotReader, SlotWriter};
use crate::ids::{EntityId, PlayerId};
use crate::schema::{KindLayout, Layout};
use std::sync::Arc;

/// One entity of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Which entity.
    pub id: EntityId,
    /// Its kind index in the schema.
    pub kind: u16,
    /// The player who owns it (0: nobody).
    pub owner: u32,
    /// Its position in quanta, for kinds with one (0 otherwise): the area
    /// of interest's input, copied out of its slots.
    pub x: i32,
    /// See `x`.
    pub y: i32,
    /// Where its slots start in [`Table::values`].
    pub start: u32,
}

impl Row {
    /// The owner, if any.
    pub fn owner(&self) -> Option<PlayerId> {
        (self.owner != 0).then_some(PlayerId(self.owner))
    }
}

/// A table with nothing in it, for baselines that are empty.
pub static EMPTY: Table = Table {
    rows: Vec::new(),
    values: Vec::new(),
    strings: Vec::new(),
};

/// Entities by ascending id, with their slots.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// One per entity, by strictly ascending id.
    pub rows: Vec<Row>,
    /// Every row's numeric slots (and string slots' indices into `strings`).
    pub values: Vec<u32>,
    /// The strings string slots point at.
    pub strings: Vec<Arc<str>>,
}

impl Table {
    /// Empties the table, keeping its allocations.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.values.clear();
        self.strings.clear();
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table holds no entity.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The slots of `row` (which has `n` of them).
    #[inline(always)]
    pub fn slots(&self, row: &Row, n: usize) -> &[u32] {
        let start = row.start as usize;
        self.values.get(start..start + n).unwrap_or(&[])
    }

    /// The index of entity `id`, if present.
    pub fn find(&self, id: EntityId) -> Option<usize> {
        self.rows.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// Appends an entity whose slots `write` writes (ids must ascend: the
    /// caller's order). Sets the row's position from its slots.
    #[inline(always)]
    pub fn push_with(
        &mut self,
        id: EntityId,
        kind: u16,
        owner: u32,
        layout: &KindLayout,
        write: impl FnOnce(&mut SlotWriter<'_>),
    ) {
        let start = self.values.len();
        write(&mut SlotWriter::new(&mut self.values, &mut self.strings));
        debug_assert_eq!(self.values.len() - start, layout.layout.len());
        let (x, y) = layout.position.map_or((0, 0), |p| {
            (
                self.values[start + p] as i32,
                self.values[start + p + 1] as i32,
            )
        });
        self.rows.push(Row {
            id,
            kind,
            owner,
            x,
            y,
            start: start as u32,
        });
    }

    /// Appends a copy of `row` of `from`, whose layout is `layout`.
    #[inline]
    pub fn push_copy(&mut self, from: &Table, row: &Row, layout: &Layout) {
        let start = self.values.len() as u32;
        self.copy_slots(from, row.start, layout);
        self.rows.push(Row { start, ..*row });
    }

    /// Appends the slots of `from` starting at `start`, re-pointing string
    /// slots at copies in this table.
    pub(crate) fn copy_slots(&mut self, from: &Table, start: u32, layout: &Layout) {
        let src = &from.values[start as usize..start as usize + layout.len()];
        if !layout.has_strings {
            if src.len() <= 8 {
                // A few words: pushes beat a call to memcpy.
                for &v in src {
                    self.values.push(v);
                }
            } else {
                self.values.extend_from_slice(src);
            }
            return;
        }
        for (slot, &v) in layout.slots.iter().zip(src) {
            if slot.is_str() {
                self.values.push(self.strings.len() as u32);
                self.strings.push(from.strings[v as usize].clone());
            } else {
                self.values.push(v);
            }
        }
    }

    /// The string of a string slot holding `v`.
    #[inline]
    pub(crate) fn string(&self, v: u32) -> &str {
        self.strings.get(v as usize).map_or("", |s| s)
    }

    /// A reader over `row`'s slots, for the game's types.
    pub fn reader(&self, row: &Row) -> SlotReader<'_> {
        SlotReader::new(&self.values[row.start as usize..], &self.strings)
    }
}
