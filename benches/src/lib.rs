//! Fixtures for the criterion benches: worlds of the reference workload
//! (`WORKLOAD.md`), built outside the timed loops.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_server::game::arena::Arena;
use snapwire_server::game::{GameHost, Simulation};
use snapwire_server::metrics::Tally;
use snapwire_server::room::frame::{Frame, PlayerFrame};
use snapwire_server::view::{ClientView, ViewScratch};
use snapwire_shared::arena::world_size_for;
use snapwire_shared::{InputCmd, PlayerId, Tick};
use std::sync::Arc;

/// The reference view radius.
pub const VIEW_RADIUS: f32 = 300.0;
/// The reference tick length.
pub const DT: f32 = 1.0 / 30.0;

/// `n` players spawned uniformly in an arena sized for `n` (constant
/// density), each walking in a random direction; player `i` at key `i`.
pub fn arena_world(n: usize, seed: u64) -> Simulation<Arena> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let size = world_size_for(n);
    let mut sim = Simulation::new(Arena, size, seed).expect("the arena's schema is valid");
    for key in 0..n {
        sim.join(key, PlayerId(key as u32 + 1), "bot");
        sim.input(key, walk(&mut rng));
    }
    sim
}

fn walk(rng: &mut SmallRng) -> InputCmd {
    let angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
    InputCmd {
        seq: 1,
        move_x: angle.cos(),
        move_y: angle.sin(),
        yaw: angle,
        buttons: 0,
    }
}

/// The workload's random walk, applied before a step: each tick one
/// player in 30 (each in turn, so every player once a second) picks a new
/// direction. Without it every entity walks one way for ever, and a bench
/// that runs thousands of ticks ends up measuring everyone pressed against
/// the walls, at many times the reference density.
fn turn_some(sim: &mut Simulation<Arena>, n: usize, tick: u32, rng: &mut SmallRng) {
    for key in 0..n {
        if (key as u32).wrapping_add(tick).is_multiple_of(30) {
            sim.input(key, walk(rng));
        }
    }
}

/// The frame of `sim` at `tick`.
pub fn frame_of(
    sim: &Simulation<Arena>,
    tick: Tick,
    view_radius: f32,
    players: Vec<PlayerFrame>,
) -> Frame {
    let (mut entities, mut state) = Default::default();
    sim.world.write_tables_with(&mut entities, &mut state);
    Frame::new(
        tick,
        sim.layouts().clone(),
        entities,
        state,
        view_radius,
        sim.world.size(),
        players,
    )
}

/// `n` players, slot `i` controlling the `i`-th entity by id.
pub fn player_frames(n: usize) -> Vec<PlayerFrame> {
    (0..n as u32)
        .map(|i| PlayerFrame {
            entity_index: i,
            ack_input_seq: 1,
            conn: 1,
        })
        .collect()
}

/// How [`two_frames`] prepares its frames for aoi clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Updates {
    /// Each frame's entity updates are encoded from the other, so that a
    /// client sent them in turn always finds its updates encoded, like one
    /// that keeps up in a room.
    Encoded,
    /// None: every client diffs its own baseline, like one that was not
    /// sent the previous frame.
    Diffed,
}

/// Two consecutive frames of a moving world, where player slot `i`
/// controls the `i`-th entity by id.
pub fn two_frames(
    n: usize,
    view_radius: f32,
    seed: u64,
    updates: Updates,
) -> (Arc<Frame>, Arc<Frame>) {
    let mut sim = arena_world(n, seed);
    let players = player_frames(n);
    let mut a = frame_of(&sim, Tick(1), view_radius, players.clone());
    sim.step(Tick(2), DT);
    let mut b = frame_of(&sim, Tick(2), view_radius, players);
    if updates == Updates::Encoded {
        b.encode_updates_from(&a);
        a.encode_updates_from(&b);
    }
    (Arc::new(a), Arc::new(b))
}

/// A room of the reference workload with `n` virtual clients and no
/// sockets: what the `room_tick` bench times and the `room_ticks` example
/// counts. Player slot `i` controls the `i`-th entity; entities random-walk.
#[derive(Debug)]
pub struct VirtualRoom {
    sim: Simulation<Arena>,
    players: Vec<PlayerFrame>,
    views: Vec<ClientView>,
    scratch: ViewScratch,
    out: Vec<u8>,
    tick: Tick,
    rng: SmallRng,
    /// The frame of the last tick, as the room keeps it published.
    last: Option<Arc<Frame>>,
    /// The shard's per-snapshot metrics, recorded as a shard records them
    /// (`None`: the same work without them, for an A/B count).
    tally: Option<Tally>,
    /// When each client was last sent a snapshot, in the tally's clock.
    last_sent: Vec<u64>,
}

impl VirtualRoom {
    /// `n` clients, none sent anything yet, with the shard's metrics.
    pub fn new(n: usize) -> Self {
        Self::with_metrics(n, true)
    }

    /// `n` clients; `metrics` false leaves out the shard's per-snapshot
    /// metrics (the clock read and two histogram counts).
    pub fn with_metrics(n: usize, metrics: bool) -> Self {
        VirtualRoom {
            sim: arena_world(n, 5),
            players: player_frames(n),
            views: (0..n).map(|_| ClientView::new(VIEW_RADIUS)).collect(),
            scratch: ViewScratch::default(),
            out: Vec::with_capacity(1024),
            tick: Tick::NONE,
            rng: SmallRng::seed_from_u64(6),
            last: None,
            tally: metrics.then(|| Tally::standalone(std::time::Duration::from_secs_f32(DT))),
            last_sent: vec![0; n],
        }
    }

    /// The room's own part of a tick: turn some walkers, step the world,
    /// build the frame and encode its entity updates from the last one.
    pub fn step_and_frame(&mut self) -> Arc<Frame> {
        self.tick = self.tick.next();
        turn_some(
            &mut self.sim,
            self.players.len(),
            self.tick.0,
            &mut self.rng,
        );
        self.sim.step(self.tick, DT);
        let mut frame = frame_of(&self.sim, self.tick, VIEW_RADIUS, self.players.clone());
        if let Some(last) = &self.last {
            frame.encode_updates_from(last);
        }
        let frame = Arc::new(frame);
        self.last = Some(frame.clone());
        frame
    }

    /// Every client's view, delta and encoding of `frame`, in slot order;
    /// returns the bytes encoded.
    pub fn encode_views(&mut self, frame: &Arc<Frame>) -> usize {
        let mut bytes = 0;
        if let Some(tally) = &mut self.tally {
            tally.begin_pass(frame.published);
        }
        for (i, view) in self.views.iter_mut().enumerate() {
            self.out.clear();
            view.encode_next(frame, i, &mut self.scratch, &mut self.out);
            snapwire_shared::codec::parts::snapshot_tail(&[], None, &mut self.out)
                .expect("an empty tail encodes");
            bytes += self.out.len();
            // What the session records after writing a snapshot.
            if let Some(tally) = &mut self.tally {
                tally.snapshot(self.out.len(), &mut self.last_sent[i]);
            }
        }
        bytes
    }
}
