//! Per-client snapshot building: area-of-interest query, delta against what
//! this client was last sent, encoding.
//!
//! This runs in the room's shards (one per worker), for each connection in
//! turn, outside the room's tick. It is pure (no I/O) so it is unit-tested
//! and benched.

use crate::room::frame::Frame;
use snapwire_shared::codec::{self, EncodeError};
use snapwire_shared::delta::{EncodedDelta, EntityDelta, diff};
use snapwire_shared::quant::POS_SCALE;
use snapwire_shared::{NetEntity, ServerEvent, Tick};
use std::sync::Arc;

/// Entities already in view stay in view out to this multiple of the view
/// radius, so that one walking along the edge does not flicker in and out
/// (each flicker costs a full spawn).
pub const EXIT_RADIUS_FACTOR: f32 = 1.1;

/// What one client was last sent.
#[derive(Debug)]
pub struct ClientView {
    /// View radius in quanta; 0 means the full world.
    radius_q: i64,
    /// Radius at which an entity already in view leaves it, in quanta.
    exit_q: i64,
    /// Tick of the last snapshot sent to this client ([`Tick::NONE`] before
    /// the first): the `base_tick` of the next one.
    base_tick: Tick,
    /// Area-of-interest mode: the entities last sent, by ascending id.
    baseline: Vec<NetEntity>,
    /// Full-view mode: the frame last sent, whose entities are the baseline.
    base_frame: Option<Arc<Frame>>,
}

/// Scratch space to build a snapshot in. Clients served one after another
/// share one (a shard has one for all its connections), so a connection
/// keeps only what it was last sent.
#[derive(Debug, Default)]
pub struct ViewScratch {
    /// Indices (into the frame's entities) of the view being built.
    indices: Vec<u32>,
    /// The view being built.
    current: Vec<NetEntity>,
    /// The delta being built.
    delta: EntityDelta,
    /// The delta being built from the frame's encoded updates.
    encoded: EncodedDelta,
}

impl ClientView {
    /// A client that has been sent nothing yet; `view_radius` 0 = sees all.
    pub fn new(view_radius: f32) -> Self {
        let radius_q = (view_radius.max(0.0) * POS_SCALE) as i64;
        ClientView {
            radius_q,
            exit_q: (radius_q as f32 * EXIT_RADIUS_FACTOR) as i64,
            base_tick: Tick::NONE,
            baseline: Vec::new(),
            base_frame: None,
        }
    }

    /// The tick this client was last sent.
    pub fn base_tick(&self) -> Tick {
        self.base_tick
    }

    /// Appends to `out` the snapshot of `frame` for player slot `player`,
    /// carrying `events`, and makes it the baseline of the next one; builds
    /// it in `scratch`.
    ///
    /// Returns the number of entities in the client's view.
    pub fn encode_next(
        &mut self,
        frame: &Arc<Frame>,
        player: usize,
        events: &[ServerEvent],
        scratch: &mut ViewScratch,
        out: &mut Vec<u8>,
    ) -> Result<usize, EncodeError> {
        let me = frame.player(player);
        let ack = me.map_or(0, |p| p.ack_input_seq);
        codec::parts::snapshot_head(frame.tick, self.base_tick, ack, out)?;
        let visible = if self.radius_q == 0 || frame.grid.is_none() {
            let body = frame.shared_body(self.base_frame.as_deref())?;
            out.extend_from_slice(&body);
            self.base_frame = Some(frame.clone());
            frame.entities.len()
        } else {
            self.collect_visible(frame, me.map(|p| p.entity_index as usize), scratch);
            // A client that was sent the previous frame (every client that
            // keeps up) gets its updates copied from the frame's, encoded
            // once per entity; any other diffs its own baseline.
            let copied = match frame.updates_from(self.base_tick) {
                Some(updates) => codec::parts::encoded_delta_body(
                    updates,
                    &self.baseline,
                    &scratch.current,
                    &scratch.indices,
                    &mut scratch.encoded,
                    out,
                )?,
                None => false,
            };
            if !copied {
                diff(&self.baseline, &scratch.current, &mut scratch.delta);
                codec::parts::delta_body(&scratch.delta, out)?;
            }
            // The view just built is the new baseline; the old baseline's
            // buffer becomes the scratch for whoever is served next.
            std::mem::swap(&mut self.baseline, &mut scratch.current);
            self.baseline.len()
        };
        codec::parts::snapshot_tail(events, out)?;
        self.base_tick = frame.tick;
        Ok(visible)
    }

    /// Fills `scratch.current` with the entities this client sees, by id.
    fn collect_visible(&self, frame: &Frame, me: Option<usize>, scratch: &mut ViewScratch) {
        scratch.current.clear();
        scratch.indices.clear();
        let (Some(grid), Some(center)) = (&frame.grid, me.and_then(|i| frame.entities.get(i)))
        else {
            return;
        };
        let (cx, cy) = (i64::from(center.x), i64::from(center.y));
        let (r2, exit2) = (self.radius_q * self.radius_q, self.exit_q * self.exit_q);
        let baseline = &self.baseline;
        let indices = &mut scratch.indices;
        grid.for_each_near(center.x, center.y, self.exit_q, |i, x, y| {
            let (dx, dy) = (i64::from(x) - cx, i64::from(y) - cy);
            let d2 = dx * dx + dy * dy;
            let keep = d2 <= r2
                || (d2 <= exit2
                    && baseline
                        .binary_search_by_key(&frame.entities[i as usize].id, |b| b.id)
                        .is_ok());
            if keep {
                indices.push(i);
            }
        });
        // The frame's entities are by ascending id, so index order is id
        // order: sorting the indices is cheaper than sorting the entities.
        indices.sort_unstable();
        scratch
            .current
            .extend(indices.iter().map(|&i| frame.entities[i as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::frame::PlayerFrame;
    use crate::sim::Grid;
    use snapwire_shared::codec::decode_server;
    use snapwire_shared::mirror::Mirror;
    use snapwire_shared::quant::quantise_pos;
    use snapwire_shared::{EntityId, ServerMsg};

    const WORLD: f32 = 1000.0;

    fn frame(tick: u32, positions: &[(u32, f32, f32)], radius: f32) -> Arc<Frame> {
        let entities: Vec<NetEntity> = positions
            .iter()
            .map(|&(id, x, y)| NetEntity {
                id: EntityId(id),
                x: quantise_pos(x),
                y: quantise_pos(y),
                vx: 0,
                vy: 0,
                yaw: 0,
            })
            .collect();
        let grid = (radius > 0.0).then(|| {
            let mut g = Grid::default();
            let r_q = (radius * POS_SCALE * EXIT_RADIUS_FACTOR) as i64;
            g.rebuild(&entities, (WORLD * POS_SCALE) as i64, r_q);
            g
        });
        // Player slot i controls the i-th entity.
        let players = (0..entities.len() as u32)
            .map(|i| PlayerFrame {
                entity_index: i,
                ack_input_seq: tick,
                conn: 1,
            })
            .collect();
        Arc::new(Frame::new(Tick(tick), entities, grid, players))
    }

    fn send(view: &mut ClientView, f: &Arc<Frame>, mirror: &mut Mirror) -> usize {
        send_as(view, 0, f, &mut ViewScratch::default(), mirror)
    }

    fn send_as(
        view: &mut ClientView,
        player: usize,
        f: &Arc<Frame>,
        scratch: &mut ViewScratch,
        mirror: &mut Mirror,
    ) -> usize {
        let mut out = Vec::new();
        let n = view
            .encode_next(f, player, &[], scratch, &mut out)
            .expect("snapshots should encode");
        let ServerMsg::Snapshot(s) = decode_server(&out).expect("snapshots should decode") else {
            panic!("expected a snapshot");
        };
        mirror
            .apply(&s)
            .expect("each snapshot should chain onto the last");
        n
    }

    #[test]
    fn aoi_view_holds_exactly_the_entities_in_radius() {
        let f = frame(
            1,
            &[
                (1, 500.0, 500.0),
                (2, 700.0, 500.0),
                (3, 850.0, 500.0),
                (4, 500.0, 199.0),
            ],
            300.0,
        );
        let mut v = ClientView::new(300.0);
        let mut m = Mirror::new();
        assert_eq!(send(&mut v, &f, &mut m), 2);
        let ids: Vec<u32> = m.entities().iter().map(|e| e.id.0).collect();
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn walking_out_of_view_removes_and_back_in_spawns() {
        let mut v = ClientView::new(300.0);
        let mut m = Mirror::new();
        send(
            &mut v,
            &frame(1, &[(1, 100.0, 100.0), (2, 300.0, 100.0)], 300.0),
            &mut m,
        );
        assert!(m.get(EntityId(2)).is_some());
        // Just past the radius but inside the exit margin: stays.
        send(
            &mut v,
            &frame(2, &[(1, 100.0, 100.0), (2, 420.0, 100.0)], 300.0),
            &mut m,
        );
        assert!(m.get(EntityId(2)).is_some());
        // Past the exit margin: removed.
        send(
            &mut v,
            &frame(3, &[(1, 100.0, 100.0), (2, 450.0, 100.0)], 300.0),
            &mut m,
        );
        assert!(m.get(EntityId(2)).is_none());
        // Back inside the margin but not the radius: not re-added yet.
        send(
            &mut v,
            &frame(4, &[(1, 100.0, 100.0), (2, 420.0, 100.0)], 300.0),
            &mut m,
        );
        assert!(m.get(EntityId(2)).is_none());
        send(
            &mut v,
            &frame(5, &[(1, 100.0, 100.0), (2, 390.0, 100.0)], 300.0),
            &mut m,
        );
        assert!(m.get(EntityId(2)).is_some());
    }

    #[test]
    fn clients_served_in_turn_share_scratch_but_not_views() {
        // Two players far apart, each with a neighbour, all moving.
        let at = |t: f32| {
            [
                (1, 100.0 + t, 100.0),
                (2, 900.0 - t, 900.0),
                (3, 150.0, 100.0 + t),
                (4, 900.0, 850.0 - t),
            ]
        };
        let (mut a, mut b) = (ClientView::new(300.0), ClientView::new(300.0));
        let (mut ma, mut mb) = (Mirror::new(), Mirror::new());
        let mut scratch = ViewScratch::default();
        for tick in 1..=5 {
            let f = frame(tick, &at(tick as f32 * 10.0), 300.0);
            send_as(&mut a, 0, &f, &mut scratch, &mut ma);
            send_as(&mut b, 1, &f, &mut scratch, &mut mb);
            for (mirror, want) in [(&ma, [1, 3]), (&mb, [2, 4])] {
                let ids: Vec<u32> = mirror.entities().iter().map(|e| e.id.0).collect();
                assert_eq!(ids, want, "tick {tick}");
                for e in mirror.entities() {
                    assert_eq!(Some(e), f.entities.iter().find(|x| x.id == e.id));
                }
            }
        }
    }

    /// `frame`, with its entity updates encoded from `older` as the room
    /// does.
    fn frame_after(
        older: &Frame,
        tick: u32,
        positions: &[(u32, f32, f32)],
        radius: f32,
    ) -> Arc<Frame> {
        let mut f = Arc::into_inner(frame(tick, positions, radius)).expect("not shared yet");
        f.encode_updates_from(older);
        Arc::new(f)
    }

    #[test]
    fn encoded_updates_give_the_bytes_of_each_clients_own_diff() {
        // Entities cross each other's views, leave and come back; player 0
        // walks through the crowd.
        let at = |t: f32| -> Vec<(u32, f32, f32)> {
            (1..=12)
                .map(|id| {
                    let k = id as f32;
                    let x = (100.0 + k * 60.0 + t * (k - 6.0) * 7.0).rem_euclid(1000.0);
                    let y = (500.0 + (t * 0.3 + k).sin() * 350.0).clamp(0.0, 1000.0);
                    (id, x, y)
                })
                .collect()
        };
        let mut older = frame(1, &at(1.0), 300.0);
        // Every client is player 0 (entity 1). `shared` is served frames
        // with encoded updates, `own` the same frames without; `skipping`
        // gets the encoded frames but misses every third tick, so that its
        // baseline is often not the frame before.
        let (mut shared, mut own, mut skipping) = (
            ClientView::new(300.0),
            ClientView::new(300.0),
            ClientView::new(300.0),
        );
        let (mut ms, mut mo, mut mk) = (Mirror::new(), Mirror::new(), Mirror::new());
        let mut scratch = ViewScratch::default();
        for tick in 1..=60u32 {
            let positions = at(tick as f32);
            let plain = frame(tick, &positions, 300.0);
            let encoded = if tick == 1 {
                plain.clone()
            } else {
                frame_after(&older, tick, &positions, 300.0)
            };
            // The client was sent the frame before: its updates are copied.
            assert_eq!(encoded.updates_from(shared.base_tick()).is_some(), tick > 1);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            shared
                .encode_next(&encoded, 0, &[], &mut scratch, &mut a)
                .unwrap();
            own.encode_next(&plain, 0, &[], &mut scratch, &mut b)
                .unwrap();
            assert_eq!(a, b, "tick {tick}");
            for (bytes, mirror) in [(&a, &mut ms), (&b, &mut mo)] {
                let ServerMsg::Snapshot(snap) = decode_server(bytes).unwrap() else {
                    panic!("expected a snapshot");
                };
                mirror.apply(&snap).unwrap();
            }
            if tick % 3 != 0 {
                send_as(&mut skipping, 0, &encoded, &mut scratch, &mut mk);
                assert_eq!(mk.entities(), ms.entities(), "tick {tick}");
            }
            older = encoded;
        }
    }

    #[test]
    fn an_idle_world_costs_only_the_header() {
        let f1 = frame(1, &[(1, 500.0, 500.0), (2, 600.0, 500.0)], 300.0);
        let f2 = frame(2, &[(1, 500.0, 500.0), (2, 600.0, 500.0)], 300.0);
        let mut v = ClientView::new(300.0);
        let (mut out, mut scratch) = (Vec::new(), ViewScratch::default());
        v.encode_next(&f1, 0, &[], &mut scratch, &mut out).unwrap();
        out.clear();
        v.encode_next(&f2, 0, &[], &mut scratch, &mut out).unwrap();
        // tag, tick, base_tick, ack, three empty lists, no events.
        assert_eq!(out, vec![1, 2, 1, 2, 0, 0, 0, 0]);
    }

    #[test]
    fn full_view_clients_with_one_baseline_share_one_encoding() {
        let f1 = frame(1, &[(1, 10.0, 10.0), (2, 990.0, 990.0)], 0.0);
        let f2 = frame(2, &[(1, 11.0, 10.0), (2, 990.0, 990.0), (3, 5.0, 5.0)], 0.0);
        let (mut a, mut b) = (ClientView::new(0.0), ClientView::new(0.0));
        let (mut ma, mut mb) = (Mirror::new(), Mirror::new());
        for f in [&f1, &f2] {
            assert_eq!(send(&mut a, f, &mut ma), f.entities.len());
            assert_eq!(send(&mut b, f, &mut mb), f.entities.len());
        }
        assert_eq!(ma.entities(), &f2.entities[..]);
        assert_eq!(mb.entities(), &f2.entities[..]);
        // Both clients' bodies came from the same cache entry.
        let first = f2.shared_body(Some(&f1)).unwrap();
        let again = f2.shared_body(Some(&f1)).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
    }
}
