//! Per-client snapshot building: area-of-interest query, delta against what
//! this client was last sent, encoding.
//!
//! This runs in the room's shards (one per worker), for each connection in
//! turn, outside the room's tick. It is pure (no I/O) so it is unit-tested
//! and benched.

use crate::room::frame::Frame;
use snapwire_shared::codec;
use snapwire_shared::delta::{DeltaScratch, Sel};
use snapwire_shared::{EntityId, Tick};
use std::sync::Arc;

/// Entities already in view stay in view out to this multiple of the view
/// radius, so that one walking along the edge does not flicker in and out
/// (each flicker costs a full spawn).
pub const EXIT_RADIUS_FACTOR: f32 = 1.1;

/// What one client was last sent.
#[derive(Debug)]
pub struct ClientView {
    /// View radius in world units; 0 means the full world.
    radius: f32,
    /// The frame last sent: the baseline of the next delta (its entities
    /// and state are what the client holds).
    base_frame: Option<Arc<Frame>>,
    /// Area-of-interest mode: the indices (in the base frame's entities)
    /// of the entities the client holds, ascending.
    baseline: Vec<u32>,
}

/// Scratch space to build a snapshot in. Clients served one after another
/// share one (a shard has one for all its connections), so a connection
/// keeps only what it was last sent.
#[derive(Debug, Default)]
pub struct ViewScratch {
    /// Indices (into the frame's entities) of the view being built.
    indices: Vec<u32>,
    /// The delta's lists.
    delta: DeltaScratch,
}

impl ClientView {
    /// A client that has been sent nothing yet; `view_radius` 0 = sees all.
    pub fn new(view_radius: f32) -> Self {
        ClientView {
            radius: view_radius.max(0.0),
            base_frame: None,
            baseline: Vec::new(),
        }
    }

    /// The tick this client was last sent.
    pub fn base_tick(&self) -> Tick {
        self.base_frame.as_ref().map_or(Tick::NONE, |f| f.tick)
    }

    /// Whether the snapshot last sent showed entity `id`.
    pub fn sees(&self, id: EntityId) -> bool {
        let Some(f) = &self.base_frame else {
            return false;
        };
        let Some(i) = f.entities.find(id) else {
            return false;
        };
        self.radius == 0.0 || f.grid.is_none() || self.baseline.binary_search(&(i as u32)).is_ok()
    }

    /// Appends to `out` the head and body of the snapshot of `frame` for
    /// player slot `player` (the caller appends the tail: events and
    /// messages), and makes it the baseline of the next one; builds it in
    /// `scratch`.
    ///
    /// Returns the number of entities in the client's view.
    pub fn encode_next(
        &mut self,
        frame: &Arc<Frame>,
        player: usize,
        scratch: &mut ViewScratch,
        out: &mut Vec<u8>,
    ) -> usize {
        let me = frame.player(player);
        let ack = me.map_or(0, |p| p.ack_input_seq);
        codec::parts::snapshot_head(frame.tick, self.base_tick(), ack, out);
        let base = self.base_frame.as_deref();
        let visible = if self.radius == 0.0 || frame.grid.is_none() {
            out.extend_from_slice(&frame.shared_body(base));
            frame.entities.len()
        } else {
            self.collect_visible(frame, me.map(|p| p.entity_index as usize), scratch);
            // A client that was sent the previous frame (every client that
            // keeps up) gets its changes copied from the frame's, encoded
            // once per entity; any other diffs against its own base frame.
            frame.write_body(
                base,
                Sel::Indices(&self.baseline),
                Sel::Indices(&scratch.indices),
                &mut scratch.delta,
                out,
            );
            // The view just built is the new baseline; the old baseline's
            // buffer becomes the scratch for whoever is served next.
            std::mem::swap(&mut self.baseline, &mut scratch.indices);
            self.baseline.len()
        };
        self.base_frame = Some(frame.clone());
        visible
    }

    /// Fills `scratch.indices` with the entities this client sees, in id
    /// order: those with a position within its radius (or within the exit
    /// radius, if it already held them), and every one without a position.
    fn collect_visible(&self, frame: &Frame, me: Option<usize>, scratch: &mut ViewScratch) {
        scratch.indices.clear();
        let indices = &mut scratch.indices;
        indices.extend_from_slice(&frame.global);
        if let (Some(grid), Some(center)) =
            (&frame.grid, me.and_then(|i| frame.entities.rows.get(i)))
        {
            let scale = frame.layouts.position_scale;
            let radius_q = (self.radius * scale) as i64;
            let exit_q = (radius_q as f32 * EXIT_RADIUS_FACTOR) as i64;
            let (cx, cy) = (i64::from(center.x), i64::from(center.y));
            let (r2, exit2) = (radius_q * radius_q, exit_q * exit_q);
            let base = self.base_frame.as_deref();
            let baseline = &self.baseline;
            let held = |id: EntityId| {
                base.is_some_and(|b| {
                    baseline
                        .binary_search_by_key(&id, |&k| b.entities.rows[k as usize].id)
                        .is_ok()
                })
            };
            grid.for_each_near(center.x, center.y, exit_q, |i, x, y| {
                let (dx, dy) = (i64::from(x) - cx, i64::from(y) - cy);
                let d2 = dx * dx + dy * dy;
                if d2 <= r2 || (d2 <= exit2 && held(frame.entities.rows[i as usize].id)) {
                    indices.push(i);
                }
            });
        }
        // The frame's entities are by ascending id, so index order is id
        // order.
        indices.sort_unstable();
    }
}
