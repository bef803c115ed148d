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
    /// The input `seq` that frame acknowledged to this client (the next
    /// snapshot sends its ack as the gap from it).
    sent_ack: u32,
    /// Area-of-interest mode: the indices (in the base frame's entities)
    /// of the entities the client holds, ascending.
    baseline: Vec<u32>,
    /// Their ids, beside them: the merge and the exit-radius check read
    /// these without going through the frame.
    baseline_ids: Vec<EntityId>,
}

/// Scratch space to build a snapshot in. Clients served one after another
/// share one (a shard has one for all its connections), so a connection
/// keeps only what it was last sent.
#[derive(Debug, Default)]
pub struct ViewScratch {
    /// Indices (into the frame's entities) of the view being built.
    indices: Vec<u32>,
    /// Their ids.
    ids: Vec<EntityId>,
    /// The delta's lists.
    delta: DeltaScratch,
}

impl ClientView {
    /// A client that has been sent nothing yet; `view_radius` 0 = sees all.
    pub fn new(view_radius: f32) -> Self {
        ClientView {
            radius: view_radius.max(0.0),
            base_frame: None,
            sent_ack: 0,
            baseline: Vec::new(),
            baseline_ids: Vec::new(),
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
        let base_ack = self.base_frame.is_some().then_some(self.sent_ack);
        codec::parts::snapshot_head(
            frame.tick,
            self.base_tick(),
            codec::ack_gap(ack, base_ack),
            out,
        );
        self.sent_ack = ack;
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
                Sel::Ids(&self.baseline, &self.baseline_ids),
                Sel::Ids(&scratch.indices, &scratch.ids),
                &mut scratch.delta,
                out,
            );
            // The view just built is the new baseline; the old baseline's
            // buffers become the scratch for whoever is served next.
            std::mem::swap(&mut self.baseline, &mut scratch.indices);
            std::mem::swap(&mut self.baseline_ids, &mut scratch.ids);
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
        if !frame.global.is_empty() {
            indices.extend_from_slice(&frame.global);
        }
        if let (Some(grid), Some(center)) =
            (&frame.grid, me.and_then(|i| frame.entities.rows.get(i)))
        {
            let scale = frame.layouts.position_scale;
            let radius_q = (self.radius * scale) as i64;
            let exit_q = (radius_q as f32 * EXIT_RADIUS_FACTOR) as i64;
            let (cx, cy) = (i64::from(center.x), i64::from(center.y));
            let (r2, exit2) = (radius_q * radius_q, exit_q * exit_q);
            let baseline = &self.baseline_ids;
            let held = |id: EntityId| baseline.binary_search(&id).is_ok();
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
        let rows = &frame.entities.rows;
        scratch.ids.clear();
        scratch
            .ids
            .extend(indices.iter().map(|&i| rows[i as usize].id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::frame::PlayerFrame;
    use glam::Vec2;
    use snapwire_shared::codec::{decode_server, parts};
    use snapwire_shared::mirror::Mirror;
    use snapwire_shared::schema::{Layouts, Schema};
    use snapwire_shared::table::Table;
    use snapwire_shared::{EntitySet, Replicate, ServerMsg, Walker};

    const WORLD: f32 = 1000.0;

    fn layouts() -> Arc<Layouts> {
        let schema = Schema {
            game: "arena".into(),
            kinds: Walker::kinds(),
            state: Vec::new(),
            input: Vec::new(),
            client_messages: Vec::new(),
            server_messages: Vec::new(),
        };
        Arc::new(schema.compile().unwrap())
    }

    /// A frame of walkers at `positions`; player slot i controls the i-th.
    fn frame(tick: u32, positions: &[(u32, f32, f32)], radius: f32) -> Arc<Frame> {
        Arc::new(raw_frame(tick, positions, radius))
    }

    fn raw_frame(tick: u32, positions: &[(u32, f32, f32)], radius: f32) -> Frame {
        let l = layouts();
        let mut t = Table::default();
        for &(id, x, y) in positions {
            let w = Walker {
                pos: Vec2::new(x, y),
                ..Walker::default()
            };
            t.push_with(EntityId(id), 0, 0, &l.kinds[0], |s| w.write(s));
        }
        let players = (0..positions.len() as u32)
            .map(|i| PlayerFrame {
                entity_index: i,
                ack_input_seq: tick,
                conn: 1,
            })
            .collect();
        Frame::new(Tick(tick), l, t, Table::default(), radius, WORLD, players)
    }

    /// Encodes the next snapshot for `player` and applies it to `mirror`.
    fn send_as(
        view: &mut ClientView,
        player: usize,
        f: &Arc<Frame>,
        scratch: &mut ViewScratch,
        mirror: &mut Mirror,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        view.encode_next(f, player, scratch, &mut out);
        let head_and_body = out.clone();
        parts::snapshot_tail(&[], None, &mut out).unwrap();
        let ServerMsg::Snapshot(s) = decode_server(&out).expect("snapshots decode") else {
            panic!("expected a snapshot");
        };
        mirror
            .apply(&s)
            .expect("each snapshot chains onto the last");
        head_and_body
    }

    fn send(view: &mut ClientView, f: &Arc<Frame>, mirror: &mut Mirror) {
        send_as(view, 0, f, &mut ViewScratch::default(), mirror);
    }

    fn ids(m: &Mirror) -> Vec<u32> {
        m.rows().iter().map(|r| r.id.0).collect()
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
        let mut m = Mirror::with_layouts(layouts());
        send(&mut v, &f, &mut m);
        assert_eq!(ids(&m), vec![1, 2]);
        assert!(v.sees(EntityId(2)) && !v.sees(EntityId(3)));
    }

    #[test]
    fn walking_out_of_view_removes_and_back_in_spawns() {
        let mut v = ClientView::new(300.0);
        let mut m = Mirror::with_layouts(layouts());
        let mut at = |t: u32, x: f32| {
            send(
                &mut v,
                &frame(t, &[(1, 100.0, 100.0), (2, x, 100.0)], 300.0),
                &mut m,
            );
            m.row(EntityId(2)).is_some()
        };
        assert!(at(1, 300.0));
        assert!(
            at(2, 420.0),
            "past the radius but inside the exit margin: stays"
        );
        assert!(!at(3, 450.0), "past the exit margin: removed");
        assert!(
            !at(4, 420.0),
            "back inside the margin but not the radius: not yet"
        );
        assert!(at(5, 390.0));
    }

    #[test]
    fn clients_served_in_turn_share_scratch_but_not_views() {
        let at = |t: f32| {
            [
                (1, 100.0 + t, 100.0),
                (2, 900.0 - t, 900.0),
                (3, 150.0, 100.0 + t),
                (4, 900.0, 850.0 - t),
            ]
        };
        let (mut a, mut b) = (ClientView::new(300.0), ClientView::new(300.0));
        let (mut ma, mut mb) = (
            Mirror::with_layouts(layouts()),
            Mirror::with_layouts(layouts()),
        );
        let mut scratch = ViewScratch::default();
        for tick in 1..=5 {
            let f = frame(tick, &at(tick as f32 * 10.0), 300.0);
            send_as(&mut a, 0, &f, &mut scratch, &mut ma);
            send_as(&mut b, 1, &f, &mut scratch, &mut mb);
            assert_eq!(ids(&ma), [1, 3], "tick {tick}");
            assert_eq!(ids(&mb), [2, 4], "tick {tick}");
            for m in [&ma, &mb] {
                for r in m.rows() {
                    let i = f.entities.find(r.id).unwrap();
                    assert_eq!(m.values(r), f.entities.slots(&f.entities.rows[i], 5));
                }
            }
        }
    }

    #[test]
    fn encoded_updates_give_the_bytes_of_each_clients_own_diff() {
        // Entities cross each other's views, leave and come back.
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
        // `shared` gets frames with encoded updates, `own` the same frames
        // without; `skipping` misses every third tick, so that its base is
        // often not the frame before.
        let (mut shared, mut own, mut skipping) = (
            ClientView::new(300.0),
            ClientView::new(300.0),
            ClientView::new(300.0),
        );
        let l = layouts();
        let (mut ms, mut mo, mut mk) = (
            Mirror::with_layouts(l.clone()),
            Mirror::with_layouts(l.clone()),
            Mirror::with_layouts(l),
        );
        let mut scratch = ViewScratch::default();
        let mut older: Option<Arc<Frame>> = None;
        for tick in 1..=60u32 {
            let positions = at(tick as f32);
            let plain = frame(tick, &positions, 300.0);
            let encoded = match &older {
                None => plain.clone(),
                Some(o) => {
                    let mut f = raw_frame(tick, &positions, 300.0);
                    f.encode_updates_from(o);
                    Arc::new(f)
                }
            };
            assert_eq!(encoded.updates_from(shared.base_tick()).is_some(), tick > 1);
            let a = send_as(&mut shared, 0, &encoded, &mut scratch, &mut ms);
            let b = send_as(&mut own, 0, &plain, &mut scratch, &mut mo);
            assert_eq!(a, b, "tick {tick}");
            if tick % 3 != 0 {
                send_as(&mut skipping, 0, &encoded, &mut scratch, &mut mk);
                assert_eq!(ids(&mk), ids(&ms), "tick {tick}");
            }
            older = Some(encoded);
        }
    }

    #[test]
    fn an_idle_world_costs_only_the_header() {
        let f1 = frame(1, &[(1, 500.0, 500.0), (2, 600.0, 500.0)], 300.0);
        let mut f2 = raw_frame(2, &[(1, 500.0, 500.0), (2, 600.0, 500.0)], 300.0);
        f2.encode_updates_from(&f1);
        let f2 = Arc::new(f2);
        let mut v = ClientView::new(300.0);
        let mut m = Mirror::with_layouts(layouts());
        let mut scratch = ViewScratch::default();
        send_as(&mut v, 0, &f1, &mut scratch, &mut m);
        let out = send_as(&mut v, 0, &f2, &mut scratch, &mut m);
        // Tag, tick, base gap, ack gap (each frame acks its tick); three
        // empty lists (the arena has no room state, so no state change).
        assert_eq!(out, vec![1, 2, 1, 1, 0, 0, 0]);
        assert_eq!(m.ack(), 2);
    }

    #[test]
    fn full_view_clients_with_one_baseline_share_one_encoding() {
        let f1 = frame(1, &[(1, 10.0, 10.0), (2, 990.0, 990.0)], 0.0);
        let f2 = frame(2, &[(1, 11.0, 10.0), (2, 990.0, 990.0), (3, 5.0, 5.0)], 0.0);
        let (mut a, mut b) = (ClientView::new(0.0), ClientView::new(0.0));
        let l = layouts();
        let (mut ma, mut mb) = (Mirror::with_layouts(l.clone()), Mirror::with_layouts(l));
        for f in [&f1, &f2] {
            send(&mut a, f, &mut ma);
            send(&mut b, f, &mut mb);
        }
        assert_eq!(ids(&ma), [1, 2, 3]);
        assert_eq!(ids(&mb), [1, 2, 3]);
        let first = f2.shared_body(Some(&f1));
        let again = f2.shared_body(Some(&f1));
        assert!(Arc::ptr_eq(&first, &again), "one encoding per baseline");
    }

    /// A flag: a kind without a position.
    #[derive(snapwire_shared::Replicate, Clone, Debug, Default)]
    struct Flag {
        holder: Option<EntityId>,
    }

    #[derive(snapwire_shared::Entities, Clone, Debug)]
    enum Both {
        Walker(Walker),
        Flag(Flag),
    }

    #[test]
    fn a_kind_without_position_is_seen_by_every_client() {
        let schema = Schema {
            game: "both".into(),
            kinds: Both::kinds(),
            state: Vec::new(),
            input: Vec::new(),
            client_messages: Vec::new(),
            server_messages: Vec::new(),
        };
        let l = Arc::new(schema.compile().unwrap());
        assert!(!l.all_positioned);
        let mut t = Table::default();
        let things = [
            (
                1,
                Both::Walker(Walker {
                    pos: Vec2::new(100.0, 100.0),
                    ..Walker::default()
                }),
            ),
            (
                2,
                Both::Walker(Walker {
                    pos: Vec2::new(900.0, 900.0),
                    ..Walker::default()
                }),
            ),
            (
                3,
                Both::Flag(Flag {
                    holder: Some(EntityId(2)),
                }),
            ),
        ];
        for (id, thing) in &things {
            let kind = thing.kind_index();
            t.push_with(EntityId(*id), kind, 0, &l.kinds[usize::from(kind)], |w| {
                thing.write_kind(w)
            });
        }
        let players = (0..2)
            .map(|i| PlayerFrame {
                entity_index: i,
                ack_input_seq: 1,
                conn: 1,
            })
            .collect();
        let f = Arc::new(Frame::new(
            Tick(1),
            l.clone(),
            t,
            Table::default(),
            300.0,
            WORLD,
            players,
        ));
        assert_eq!(f.global, [2], "the flag is the frame's one global entity");
        for (player, want) in [(0, [1, 3]), (1, [2, 3])] {
            let mut v = ClientView::new(300.0);
            let mut m = Mirror::with_layouts(l.clone());
            send_as(&mut v, player, &f, &mut ViewScratch::default(), &mut m);
            assert_eq!(
                ids(&m),
                want,
                "player {player} sees its neighbour and the flag"
            );
            assert!(v.sees(EntityId(3)));
            match m.get::<Both>(EntityId(3)) {
                Some(Both::Flag(flag)) => assert_eq!(flag.holder, Some(EntityId(2))),
                other => panic!("entity 3 should be the flag, is {other:?}"),
            }
        }
    }
}
