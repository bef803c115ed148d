//! Updates encoded once per tick, shared by every client that was sent the
//! tick before.
//!
//! In an area-of-interest room each entity is seen by some tens of clients,
//! and its update from one tick to the next (mask and changed fields) is
//! the same bytes for every client whose baseline is the previous tick,
//! which is every client that keeps up. [`EncodedUpdates`] holds those
//! bytes, encoded once per entity per tick; [`EncodedUpdates::write_delta`]
//! writes one client's delta by copying them, where [`diff`](super::diff)
//! and [`EntityDelta::write_wire`](super::EntityDelta::write_wire) would
//! compare and encode every entity of every view again. The bytes are the
//! same, which the tests check.

use super::{
    EntityUpdate, Gaps, SPAWN_MAX, UPDATE_BODY_MAX, UPDATE_MAX, UnorderedIds, merge, write_removed,
    write_spawned,
};
use crate::ids::EntityId;
use crate::quant::NetEntity;
use crate::varint;

/// Every entity's update from an older view to a newer one, each encoded
/// once: what follows the id in a delta's update list.
#[derive(Clone, Debug, Default)]
pub struct EncodedUpdates {
    /// By index in the newer view: where the entity's update is in `bytes`.
    spans: Vec<Span>,
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    /// 0: unchanged; [`ABSENT`]: not in the older view.
    len: u8,
}

const ABSENT: u8 = u8::MAX;
const _: () = assert!(UPDATE_BODY_MAX < ABSENT as usize);

impl EncodedUpdates {
    /// Encodes the update of every entity of `newer` from its state in
    /// `older`. Both views sorted by id. Linear in both; keeps its
    /// allocations from one call to the next.
    pub fn build(&mut self, older: &[NetEntity], newer: &[NetEntity]) {
        self.spans.clear();
        self.bytes.clear();
        self.spans.reserve(newer.len());
        let spans = &mut self.spans;
        varint::append(&mut self.bytes, newer.len() * UPDATE_BODY_MAX, |w| {
            let mut old = older.iter().peekable();
            for e in newer {
                while old.next_if(|o| o.id < e.id).is_some() {}
                let start = w.position();
                let len = match old.next_if(|o| o.id == e.id) {
                    Some(o) => {
                        if let Some(u) = EntityUpdate::between(o, e) {
                            u.write_body(w);
                        }
                        (w.position() - start) as u8
                    }
                    None => ABSENT,
                };
                spans.push(Span {
                    start: start as u32,
                    len,
                });
            }
        });
    }

    /// Entities in the newer view.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the newer view is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Appends to `out` the delta from `base` to `cur`: byte for byte what
    /// [`diff`](super::diff) and then
    /// [`EntityDelta::write_wire`](super::EntityDelta::write_wire) append,
    /// with each update copied from these. `cur[k]` is the newer view's
    /// entity `at[k]`, and every entity of `base` must be in the older
    /// view, as it is there: which holds when `base` is a view taken from
    /// the older one.
    ///
    /// An entity of `base` missing from the older view is refused before
    /// anything is written (the caller diffs instead); ids out of order are
    /// a caller's bug, as for `write_wire`.
    pub fn write_delta(
        &self,
        base: &[NetEntity],
        cur: &[NetEntity],
        at: &[u32],
        scratch: &mut EncodedDelta,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteDeltaError> {
        debug_assert_eq!(cur.len(), at.len());
        scratch.collect(base, cur, at, self)?;
        let d = &*scratch;
        let max = 3 * varint::MAX_LEN
            + d.removed.len() * varint::MAX_U32
            + d.updated.len() * UPDATE_MAX
            + d.spawned.len() * SPAWN_MAX;
        let written = varint::append(out, max, |w| {
            write_removed(w, &d.removed)?;
            w.len(d.updated.len());
            let mut gaps = Gaps::default();
            for &(id, span) in &d.updated {
                w.u32(gaps.gap_to(id)?);
                w.slice(&self.bytes[span.start as usize..][..usize::from(span.len)]);
            }
            write_spawned(w, &d.spawned)
        });
        written.map_err(WriteDeltaError::Unordered)
    }
}

/// Scratch lists for [`EncodedUpdates::write_delta`], kept between calls.
#[derive(Clone, Debug, Default)]
pub struct EncodedDelta {
    removed: Vec<EntityId>,
    /// Changed entities in both views, with their encoded update.
    updated: Vec<(EntityId, Span)>,
    spawned: Vec<NetEntity>,
}

impl EncodedDelta {
    /// [`diff`](super::diff)'s merge, keeping where each update is instead
    /// of computing it.
    fn collect(
        &mut self,
        base: &[NetEntity],
        cur: &[NetEntity],
        at: &[u32],
        updates: &EncodedUpdates,
    ) -> Result<(), WriteDeltaError> {
        self.removed.clear();
        self.updated.clear();
        self.spawned.clear();
        merge(
            base,
            cur,
            |id| self.removed.push(id),
            |_, c, j| {
                let span = updates
                    .spans
                    .get(at[j] as usize)
                    .filter(|s| s.len != ABSENT)
                    .ok_or(WriteDeltaError::NotInOlderView(c.id))?;
                if span.len > 0 {
                    self.updated.push((c.id, *span));
                }
                Ok(())
            },
            |c| self.spawned.push(*c),
        )
    }
}

/// Why a delta was not written from encoded updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteDeltaError {
    /// The baseline holds an entity the updates' older view did not: the
    /// baseline was not taken from it. Nothing was written.
    #[error("{0} is in the baseline but not in the encoded updates' older view")]
    NotInOlderView(EntityId),
    /// Ids out of order, as [`EntityDelta::write_wire`](super::EntityDelta::write_wire) refuses them.
    #[error(transparent)]
    Unordered(UnorderedIds),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{EntityDelta, diff};
    use crate::testing::{arb_transition, ent};
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// What the per-client path writes.
    fn reference(base: &[NetEntity], cur: &[NetEntity]) -> Vec<u8> {
        let mut d = EntityDelta::default();
        diff(base, cur, &mut d);
        let mut out = Vec::new();
        d.write_wire(&mut out).expect("diff makes ordered lists");
        out
    }

    /// Keeps the entities whose flag is set (flags cycle if short).
    fn pick(view: &[NetEntity], keep: &[bool]) -> (Vec<NetEntity>, Vec<u32>) {
        view.iter()
            .enumerate()
            .filter(|(i, _)| keep.is_empty() || keep[i % keep.len()])
            .map(|(i, e)| (*e, i as u32))
            .unzip()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Two frames, and one client that saw part of the first and sees
        /// part of the second: the shared path writes what diff writes.
        #[test]
        fn write_delta_writes_what_diff_writes(
            (older, newer) in arb_transition(),
            saw in vec(any::<bool>(), 0..16),
            sees in vec(any::<bool>(), 0..16),
        ) {
            let mut updates = EncodedUpdates::default();
            updates.build(&older, &newer);
            prop_assert_eq!(updates.len(), newer.len());
            let (base, _) = pick(&older, &saw);
            let (cur, at) = pick(&newer, &sees);
            let mut out = vec![0xAA];
            updates
                .write_delta(&base, &cur, &at, &mut EncodedDelta::default(), &mut out)
                .expect("a baseline taken from the older view is in the updates");
            prop_assert_eq!(out[0], 0xAA);
            prop_assert_eq!(&out[1..], &reference(&base, &cur)[..]);
        }
    }

    #[test]
    fn a_baseline_not_taken_from_the_older_view_is_refused_before_writing() {
        let older = [ent(1, 10), ent(2, 20)];
        let newer = [ent(1, 11), ent(2, 20), ent(3, 30)];
        let mut updates = EncodedUpdates::default();
        updates.build(&older, &newer);
        // Entity 3 is new in `newer`: a baseline holding it is not from `older`.
        let base = [ent(1, 10), ent(3, 30)];
        let mut out = vec![7];
        let refused = updates.write_delta(
            &base,
            &newer,
            &[0, 1, 2],
            &mut EncodedDelta::default(),
            &mut out,
        );
        assert_eq!(
            refused,
            Err(WriteDeltaError::NotInOlderView(crate::EntityId(3)))
        );
        assert_eq!(out, vec![7]);
    }

    #[test]
    fn unchanged_entities_cost_nothing_and_rebuilding_reuses_the_buffers() {
        let older = [ent(1, 10), ent(2, 20)];
        let mut updates = EncodedUpdates::default();
        updates.build(&older, &[ent(1, 10), ent(2, 25)]);
        let mut out = Vec::new();
        let cur = [ent(1, 10), ent(2, 25)];
        updates
            .write_delta(
                &older,
                &cur,
                &[0, 1],
                &mut EncodedDelta::default(),
                &mut out,
            )
            .unwrap();
        assert_eq!(out, reference(&older, &cur));
        // Rebuilt for the next tick: nothing of the last one is left.
        updates.build(&cur, &cur);
        out.clear();
        updates
            .write_delta(&cur, &cur, &[0, 1], &mut EncodedDelta::default(), &mut out)
            .unwrap();
        assert_eq!(out, vec![0, 0, 0]);
    }
}
