//! What a bot does with the frames it receives and which inputs it sends,
//! whatever carries them: the task driver ([`crate::bot`]) and the loop
//! driver ([`crate::event_loop`]) both push received payloads in and pull
//! inputs out of one [`Play`], so that the two measure the same game.

use crate::bot::{Shared, Window};
use crate::stats::{Counters, Kind, SampleBuf};
use glam::Vec2;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_shared::arena::{Predictor, Walker};
use snapwire_shared::codec;
use snapwire_shared::mirror::Mirror;
use snapwire_shared::{ClientMsg, EntityId, InputCmd, ServerMsg, Tick, Welcome};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// Remote entities are drawn this many ticks in the past, between two
/// snapshots, which hides one late snapshot.
pub const INTERP_DELAY_TICKS: f32 = 2.0;

/// A random walk: a new direction every 0.5–1.5 s.
#[derive(Debug)]
struct Walk {
    rng: SmallRng,
    dir: Vec2,
    until: Instant,
}

impl Walk {
    fn new(seed: u64) -> Self {
        Walk {
            rng: SmallRng::seed_from_u64(seed),
            dir: Vec2::ZERO,
            until: Instant::now(),
        }
    }

    fn next(&mut self, now: Instant) -> Vec2 {
        if now >= self.until {
            let angle = self.rng.random_range(0.0..std::f32::consts::TAU);
            self.dir = Vec2::from_angle(angle);
            self.until = now + Duration::from_millis(self.rng.random_range(500..=1500));
        }
        self.dir
    }
}

/// One bot's game, without its transport: mirror, prediction, the input
/// schedule and the measurements a received frame feeds.
///
/// Inputs keep a strict schedule of one per tick, but each is sent when the
/// first snapshot arrives within half a tick of its slot (a client whose
/// simulation is clocked by the server's), and by the bot's own clock, half
/// a tick late, only when no snapshot came. So a bot wakes about once per
/// tick, not once for its clock and once for the server: the swarm is the
/// instrument, and its own wake-ups would otherwise cost as much CPU as the
/// server it measures. A ping rides along every `tick_rate`-th input (once
/// a second).
#[derive(Debug)]
pub(crate) struct Play {
    /// The session's Welcome (entity, tick rate, world).
    pub(crate) welcome: Welcome,
    walk: Walk,
    seq: u32,
    /// Full mirror, or `None` in chain-check mode.
    mirror: Option<Mirror>,
    /// Chain-check mode: the last snapshot's tick.
    chain_tick: Tick,
    predictor: Option<Predictor>,
    last_snapshot: Option<Instant>,
    /// Where the mirrored entities are drawn this frame (reused buffer).
    drawn: Vec<(EntityId, Vec2)>,
    /// One tick.
    period: Duration,
    /// The next input's slot; it goes out in `slot ± period / 2`.
    slot: Instant,
    /// Origin of the pings' `client_time`.
    epoch: Instant,
}

impl Play {
    /// A new game for a bot walking with `seed`; `mirror` is the empty
    /// mirror of a mirroring bot, `None` for a chain-checking one.
    pub(crate) fn new(seed: u64, welcome: Welcome, mirror: Option<Mirror>) -> Self {
        let now = Instant::now();
        let mut play = Play {
            welcome,
            walk: Walk::new(seed),
            seq: 0,
            mirror,
            chain_tick: Tick::NONE,
            predictor: None,
            last_snapshot: None,
            drawn: Vec::new(),
            period: Duration::ZERO,
            slot: now,
            epoch: now,
        };
        play.start_schedule(now);
        play
    }

    /// A new session (resumed or rejoined): the mirror starts over from
    /// the complete snapshot (base 0) the server sends first.
    pub(crate) fn restart(&mut self, welcome: Welcome, mirror: Option<Mirror>) {
        self.welcome = welcome;
        if self.mirror.is_some() {
            self.mirror = mirror;
        }
        self.predictor = None;
        self.chain_tick = Tick::NONE;
        // The reconnect gap is the drop's, not the server's latency.
        self.last_snapshot = None;
    }

    /// Starts the input schedule and the ping clock afresh at `now`: the
    /// first input is due one tick later.
    pub(crate) fn start_schedule(&mut self, now: Instant) {
        let tick_rate = self.welcome.tick_rate.max(1);
        self.period = Duration::from_secs_f64(1.0 / f64::from(tick_rate));
        self.slot = now + self.period;
        self.epoch = now;
    }

    /// When the bot's own clock sends the input if no snapshot came first.
    pub(crate) fn clock_deadline(&self) -> Instant {
        self.slot + self.period / 2
    }

    /// Whether an input goes out now: always when the clock fired, and on a
    /// snapshot only if this tick's input is not out already.
    pub(crate) fn input_due(&self, now: Instant, by_snapshot: bool) -> bool {
        !by_snapshot || now + self.period / 2 >= self.slot
    }

    /// The next input, advancing the schedule; predicted before it is sent.
    pub(crate) fn next_input(&mut self, now: Instant) -> ClientMsg {
        // One slot per tick; a bot that fell far behind skips slots rather
        // than sending a burst.
        self.slot = (self.slot + self.period).max(now + self.period / 2);
        self.seq = self.seq.wrapping_add(1);
        let dir = self.walk.next(now);
        let input = InputCmd {
            seq: self.seq,
            move_x: dir.x,
            move_y: dir.y,
            yaw: dir.to_angle(),
            buttons: 0,
        };
        if let Some(p) = self.predictor.as_mut() {
            p.predict(input);
        }
        input.msg()
    }

    /// Whether a ping follows the input just made (once a second).
    pub(crate) fn ping_due(&self) -> bool {
        self.seq
            .is_multiple_of(u32::from(self.welcome.tick_rate.max(1)))
    }

    /// A ping stamped with `at`.
    pub(crate) fn ping(&self, at: Instant) -> ClientMsg {
        ClientMsg::Ping {
            client_time: (at - self.epoch).as_micros() as u64,
        }
    }

    /// Handles one received binary payload (arrived at `now`): counts its
    /// bytes, and for a snapshot its arrival, the mirror (or the tick chain)
    /// and the prediction; for a pong the round trip; a frame that does
    /// not decode is counted. Returns whether it was a snapshot (which may
    /// make the tick's input due). Anything else (a `Kicked` is followed by
    /// the close frame, which ends the bot with the same reason) is ignored.
    pub(crate) fn on_frame(
        &mut self,
        bytes: &[u8],
        now: Instant,
        window: Option<Window>,
        c: &mut Counters,
        shared: &Shared,
        samples: &mut SampleBuf,
    ) -> bool {
        let counted = window.is_some_and(|w| w.contains(now));
        if counted {
            c.bytes_in += bytes.len() as u64;
        }
        match self.receive(bytes, now, window, c, shared, samples) {
            Ok(None) => true,
            Ok(Some(ServerMsg::Pong { client_time, .. })) => {
                if counted {
                    let rtt = ((now - self.epoch).as_micros() as u64).saturating_sub(client_time);
                    samples.record(Kind::Rtt, rtt, &shared.samples);
                }
                false
            }
            Ok(Some(_)) => false,
            Err(_) => {
                c.decode_errors += 1;
                shared.live_errors.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Handles one server message: `None` for a snapshot (handled here).
    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        window: Option<Window>,
        c: &mut Counters,
        shared: &Shared,
        samples: &mut SampleBuf,
    ) -> Result<Option<ServerMsg>, codec::DecodeError> {
        if self.mirror.is_none()
            && let Some(header) = codec::peek_snapshot_header(bytes)?
        {
            self.on_snapshot_arrival(now, window, c, shared, samples);
            if header.base_tick.is_some() && header.base_tick != self.chain_tick {
                delta_error(c, shared);
            }
            self.chain_tick = header.tick;
            return Ok(None);
        }
        // Read in place: the body is applied where it lies.
        if let Some((head, body)) = codec::split_snapshot(bytes)? {
            self.on_snapshot_arrival(now, window, c, shared, samples);
            let counted = window.is_some_and(|w| w.contains(now));
            self.apply(&head, body, counted, c, shared, samples);
            return Ok(None);
        }
        Ok(Some(codec::decode_server(bytes)?))
    }

    fn on_snapshot_arrival(
        &mut self,
        now: Instant,
        window: Option<Window>,
        c: &mut Counters,
        shared: &Shared,
        samples: &mut SampleBuf,
    ) {
        shared.live_snapshots.fetch_add(1, Ordering::Relaxed);
        let prev = self.last_snapshot.replace(now);
        let Some(w) = window.filter(|w| w.contains(now)) else {
            return;
        };
        c.snapshots += 1;
        if let Some(prev) = prev.filter(|&p| p >= w.start) {
            samples.record(
                Kind::Interarrival,
                (now - prev).as_micros() as u64,
                &shared.samples,
            );
        }
    }

    /// Applies a snapshot to the mirror, reconciles the prediction and
    /// "renders" the other entities where a client would draw them.
    fn apply(
        &mut self,
        snap: &codec::SnapshotHeader,
        body: &[u8],
        counted: bool,
        c: &mut Counters,
        shared: &Shared,
        samples: &mut SampleBuf,
    ) {
        let Some(mirror) = self.mirror.as_mut() else {
            return;
        };
        if mirror.apply_parts(snap, body).is_err() {
            delta_error(c, shared);
            return;
        }
        let me = self.welcome.entity;
        if counted {
            c.visible_sum += mirror.len() as u64;
            c.visible_snapshots += 1;
        }
        if let Some(own) = mirror.get::<Walker>(me) {
            let (rate, size) = (self.welcome.tick_rate, self.welcome.world.size);
            let p = self
                .predictor
                .get_or_insert_with(|| Predictor::new(own, rate, size));
            if let Some(err) = p.reconcile(&own, mirror.ack())
                && counted
            {
                samples.record(Kind::Prediction, (err * 1000.0) as u64, &shared.samples);
            }
        }
        mirror.interpolate_all(INTERP_DELAY_TICKS, &mut self.drawn);
        let drawn: Vec2 = self
            .drawn
            .iter()
            .filter(|(id, _)| *id != me)
            .map(|(_, p)| *p)
            .sum();
        std::hint::black_box(drawn);
    }
}

fn delta_error(c: &mut Counters, shared: &Shared) {
    c.delta_errors += 1;
    shared.live_errors.fetch_add(1, Ordering::Relaxed);
}
