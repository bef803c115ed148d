//! The client side of snapshots: a mirror of the server's view, interpolation
//! of remote entities, and prediction of the local one.
//!
//! Any Rust client can use it; the bot swarm does.

use crate::arena;
use crate::delta::{self, ApplyError};
use crate::ids::{EntityId, Tick};
use crate::protocol::{InputCmd, Snapshot};
use crate::quant::{Body, NetEntity};
use glam::Vec2;
use std::collections::VecDeque;

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
    /// The delta does not fit the mirror's entities.
    #[error(transparent)]
    Delta(#[from] ApplyError),
}

/// How many past views are kept for interpolation: enough to draw remote
/// entities a couple of ticks in the past with a tick to spare.
const HISTORY: usize = 3;

/// The client's copy of what the server last sent it.
#[derive(Debug, Default)]
pub struct Mirror {
    /// Tick of the newest applied snapshot; [`Tick::NONE`] before the first.
    tick: Tick,
    /// Entities at `tick`, sorted by id: the baseline of the next delta.
    view: Vec<NetEntity>,
    /// Older views, newest first, for interpolation; allocations are reused.
    history: VecDeque<(Tick, Vec<NetEntity>)>,
    /// Reusable buffer for `delta::apply`.
    scratch: Vec<NetEntity>,
    /// Reusable buffer the next view is built in.
    spare: Vec<NetEntity>,
}

impl Mirror {
    /// An empty mirror, waiting for a complete snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a snapshot. A complete one (`base_tick == NONE`) replaces the
    /// mirror; a delta must be based on the mirror's tick. On error the
    /// mirror is unchanged.
    pub fn apply(&mut self, snap: &Snapshot) -> Result<(), MirrorError> {
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
        // Build the new view in the spare buffer, so that a failed apply
        // leaves view and history untouched.
        let next = &mut self.spare;
        next.clear();
        if snap.base_tick.is_some() {
            next.extend_from_slice(&self.view);
        }
        delta::apply(next, &snap.delta, &mut self.scratch)?;
        let old = std::mem::replace(&mut self.view, std::mem::take(&mut self.spare));
        if self.tick.is_some() {
            self.history.push_front((self.tick, old));
        }
        if self.history.len() > HISTORY {
            // Recycle the oldest view's allocation as the next spare.
            self.spare = self.history.pop_back().map(|(_, v)| v).unwrap_or_default();
        }
        self.tick = snap.tick;
        Ok(())
    }

    /// Tick of the newest applied snapshot.
    pub fn tick(&self) -> Tick {
        self.tick
    }

    /// The mirrored entities, sorted by id.
    pub fn entities(&self) -> &[NetEntity] {
        &self.view
    }

    /// One mirrored entity.
    pub fn get(&self, id: EntityId) -> Option<&NetEntity> {
        self.view
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &self.view[i])
    }

    /// Where entity `id` was `ticks_behind` ticks before the newest snapshot,
    /// interpolated linearly between the two snapshots around that time.
    ///
    /// Rendering remote entities a little in the past (typically 2 ticks)
    /// hides network jitter. Falls back to the nearest known position.
    pub fn interpolated(&self, id: EntityId, ticks_behind: f32) -> Option<Vec2> {
        let newest = self.get(id)?.pos();
        let mut later = (0.0_f32, newest);
        for (tick, view) in &self.history {
            let age = self.tick.since(*tick) as f32;
            let Ok(i) = view.binary_search_by_key(&id, |e| e.id) else {
                // Not visible that far back: hold the oldest known position.
                return Some(later.1);
            };
            let pos = view[i].pos();
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
}

impl Mirror {
    /// Where every mirrored entity was `ticks_behind` ticks before the newest
    /// snapshot: the same positions as [`Mirror::interpolated`], for the
    /// whole view in one linear pass (what a renderer wants once a frame).
    /// Writes `(id, position)` into `out`, by ascending id.
    pub fn interpolate_all(&self, ticks_behind: f32, out: &mut Vec<(EntityId, Vec2)>) {
        out.clear();
        // Views are sorted by id, so one forward cursor per history view
        // finds every entity without a search.
        let mut cursors = [0usize; HISTORY];
        for e in &self.view {
            // The same walk as `interpolated`, newest view first.
            let mut later = (0.0_f32, e.pos());
            let mut found = None;
            for ((tick, view), c) in self.history.iter().zip(cursors.iter_mut()) {
                while *c < view.len() && view[*c].id < e.id {
                    *c += 1;
                }
                if view.get(*c).is_none_or(|old| old.id != e.id) {
                    // Not visible that far back: hold the oldest known position.
                    found = Some(later.1);
                    break;
                }
                let (age, pos) = (self.tick.since(*tick) as f32, view[*c].pos());
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

/// Client-side prediction of the local player's entity, reconciled against
/// the server with the acknowledged input sequence.
#[derive(Debug)]
pub struct Predictor {
    /// The predicted state after every input sent so far.
    body: Body,
    /// Inputs the server has not yet acknowledged, with the position this
    /// client predicted right after each.
    pending: VecDeque<(InputCmd, Vec2)>,
    /// Seconds per tick.
    dt: f32,
    /// Arena side, for the movement rule's clamp.
    world_size: f32,
}

/// Unacknowledged inputs kept for replay: one second at 30 Hz, far more
/// than a round trip. Older ones are dropped (their error is not measured).
const MAX_PENDING: usize = 32;

impl Predictor {
    /// A predictor that starts from `body`.
    pub fn new(body: Body, tick_rate: u16, world_size: f32) -> Self {
        Predictor {
            body,
            pending: VecDeque::new(),
            dt: 1.0 / f32::from(tick_rate.max(1)),
            world_size,
        }
    }

    /// Applies a local input at once, as the server will when it gets it.
    pub fn predict(&mut self, input: InputCmd) {
        arena::step(&mut self.body, &input, self.dt, self.world_size);
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((input, self.body.pos));
    }

    /// Takes the server's state of the entity after input `ack_seq`, replays
    /// the inputs it has not seen yet, and returns how far the prediction for
    /// `ack_seq` was from the server (None if that input is no longer known).
    pub fn reconcile(&mut self, server: &NetEntity, ack_seq: u32) -> Option<f32> {
        let server_body = server.body();
        let mut error = None;
        while let Some((input, predicted)) = self.pending.front() {
            // Wrapping order, like ticks: is this input at or before the ack?
            if (ack_seq.wrapping_sub(input.seq) as i32) < 0 {
                break;
            }
            if input.seq == ack_seq {
                error = Some(predicted.distance(server_body.pos));
            }
            self.pending.pop_front();
        }
        self.body = server_body;
        for (input, predicted) in self.pending.iter_mut() {
            arena::step(&mut self.body, input, self.dt, self.world_size);
            *predicted = self.body.pos;
        }
        error
    }

    /// The predicted state of the local entity.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Inputs sent but not yet acknowledged.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::{EntityDelta, diff};
    use crate::quant::quantise_pos;
    use crate::testing::ent;

    fn snapshot(tick: u32, base_tick: u32, base: &[NetEntity], cur: &[NetEntity]) -> Snapshot {
        let mut delta = EntityDelta::default();
        diff(base, cur, &mut delta);
        Snapshot {
            tick: Tick(tick),
            base_tick: Tick(base_tick),
            delta,
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_chain_of_deltas_reproduces_the_views() {
        let views = [
            vec![ent(1, 0), ent(2, 5)],
            vec![ent(1, 16), ent(3, 7)],
            vec![ent(3, 9)],
        ];
        let mut m = Mirror::new();
        m.apply(&snapshot(1, 0, &[], &views[0])).unwrap();
        m.apply(&snapshot(2, 1, &views[0], &views[1])).unwrap();
        m.apply(&snapshot(4, 2, &views[1], &views[2])).unwrap();
        assert_eq!(m.entities(), &views[2][..]);
        assert_eq!(m.tick(), Tick(4));
    }

    #[test]
    fn a_delta_on_the_wrong_base_is_refused_and_changes_nothing() {
        let mut m = Mirror::new();
        m.apply(&snapshot(5, 0, &[], &[ent(1, 0)])).unwrap();
        let err = m
            .apply(&snapshot(7, 6, &[ent(1, 0)], &[ent(1, 1)]))
            .unwrap_err();
        assert_eq!(
            err,
            MirrorError::BaseMismatch {
                have: Tick(5),
                got: Tick(6)
            }
        );
        assert_eq!(m.entities(), &[ent(1, 0)]);
        assert_eq!(m.tick(), Tick(5));
    }

    #[test]
    fn a_delta_that_does_not_fit_changes_nothing_either() {
        let mut m = Mirror::new();
        let views = [
            vec![ent(1, 0)],
            vec![ent(1, 16)],
            vec![ent(1, 32)],
            vec![ent(1, 48)],
        ];
        let mut prev: &[NetEntity] = &[];
        for (t, v) in views.iter().enumerate() {
            let base = if t == 0 { 0 } else { t as u32 };
            m.apply(&snapshot(t as u32 + 1, base, prev, v)).unwrap();
            prev = v;
        }
        let before: Vec<_> = [0.0, 1.0, 2.0, 3.0]
            .iter()
            .map(|&b| m.interpolated(EntityId(1), b))
            .collect();
        // Right base, but it removes an entity the mirror does not have.
        let bad = Snapshot {
            tick: Tick(5),
            base_tick: Tick(4),
            delta: EntityDelta {
                removed: vec![EntityId(9)],
                ..EntityDelta::default()
            },
            ..Snapshot::default()
        };
        assert!(matches!(m.apply(&bad), Err(MirrorError::Delta(_))));
        let after: Vec<_> = [0.0, 1.0, 2.0, 3.0]
            .iter()
            .map(|&b| m.interpolated(EntityId(1), b))
            .collect();
        assert_eq!(before, after, "history is untouched");
        assert_eq!(m.tick(), Tick(4));
    }

    #[test]
    fn a_complete_snapshot_replaces_everything() {
        let mut m = Mirror::new();
        m.apply(&snapshot(5, 0, &[], &[ent(1, 0), ent(2, 0)]))
            .unwrap();
        m.apply(&snapshot(9, 0, &[], &[ent(3, 3)])).unwrap();
        assert_eq!(m.entities(), &[ent(3, 3)]);
    }

    #[test]
    fn stale_snapshots_are_refused() {
        let mut m = Mirror::new();
        m.apply(&snapshot(5, 0, &[], &[ent(1, 0)])).unwrap();
        assert!(matches!(
            m.apply(&snapshot(5, 0, &[], &[])),
            Err(MirrorError::Stale { .. })
        ));
    }

    #[test]
    fn interpolation_lerps_between_snapshots() {
        let mut m = Mirror::new();
        let a = [ent(1, quantise_pos(0.0))];
        let b = [ent(1, quantise_pos(10.0))];
        let c = [ent(1, quantise_pos(20.0))];
        m.apply(&snapshot(1, 0, &[], &a)).unwrap();
        m.apply(&snapshot(2, 1, &a, &b)).unwrap();
        m.apply(&snapshot(3, 2, &b, &c)).unwrap();
        let at = |behind| m.interpolated(EntityId(1), behind).unwrap().x;
        assert_eq!(at(0.0), 20.0);
        assert_eq!(at(0.5), 15.0);
        assert_eq!(at(1.0), 10.0);
        assert_eq!(at(1.5), 5.0);
        assert_eq!(at(10.0), 0.0, "holds the oldest known position");
        assert_eq!(m.interpolated(EntityId(2), 1.0), None);
    }

    #[test]
    fn interpolating_everything_matches_interpolating_each() {
        let mut m = Mirror::new();
        let frames: Vec<Vec<NetEntity>> = (0..6)
            .map(|t| {
                // Entity 1 always there, 2 appears at t=3, 3 leaves at t=4.
                let mut v = vec![ent(1, t * 160)];
                if t >= 3 {
                    v.push(ent(2, 1000 - t * 16));
                }
                if t < 4 {
                    v.push(ent(3, 77 * t));
                }
                v
            })
            .collect();
        let mut prev: &[NetEntity] = &[];
        for (t, f) in frames.iter().enumerate() {
            let base = if t == 0 { 0 } else { t as u32 };
            m.apply(&snapshot(t as u32 + 1, base, prev, f)).unwrap();
            prev = f;
            for behind in [0.0, 0.5, 1.0, 1.5, 2.0, 2.7, 10.0] {
                let mut all = Vec::new();
                m.interpolate_all(behind, &mut all);
                assert_eq!(all.len(), m.entities().len());
                for (id, pos) in all {
                    assert_eq!(
                        Some(pos),
                        m.interpolated(id, behind),
                        "{id} at {behind} behind, tick {t}"
                    );
                }
            }
        }
    }

    #[test]
    fn reconciliation_replays_unacknowledged_inputs() {
        let start = Body {
            pos: Vec2::new(100.0, 100.0),
            ..Body::default()
        };
        let mut p = Predictor::new(start, 30, 1000.0);
        let right = |seq| InputCmd {
            seq,
            move_x: 1.0,
            ..InputCmd::default()
        };
        for seq in 1..=5 {
            p.predict(right(seq));
        }
        // The server applied inputs 1..=3 exactly as predicted.
        let mut server = start;
        for seq in 1..=3 {
            arena::step(&mut server, &right(seq), 1.0 / 30.0, 1000.0);
        }
        let err = p
            .reconcile(&NetEntity::from_body(EntityId(1), &server), 3)
            .unwrap();
        assert!(err < 0.05, "only quantisation error expected, got {err}");
        assert_eq!(p.pending(), 2);
        let expected_x = 100.0 + 5.0 * arena::MOVE_SPEED / 30.0;
        assert!((p.body().pos.x - expected_x).abs() < 0.05);
    }

    #[test]
    fn reconciliation_corrects_a_wrong_prediction() {
        let start = Body {
            pos: Vec2::new(100.0, 100.0),
            ..Body::default()
        };
        let mut p = Predictor::new(start, 30, 1000.0);
        p.predict(InputCmd {
            seq: 1,
            move_x: 1.0,
            ..InputCmd::default()
        });
        // The server never moved the entity (say, it was stunned).
        let err = p
            .reconcile(&NetEntity::from_body(EntityId(1), &start), 1)
            .unwrap();
        assert!((err - arena::MOVE_SPEED / 30.0).abs() < 0.05);
        assert_eq!(p.body().pos, start.pos);
        assert_eq!(p.pending(), 0);
    }
}
