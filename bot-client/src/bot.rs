//! One bot: a real client that walks at random, mirrors every snapshot,
//! predicts its own entity, interpolates the others, and measures.

use crate::client::{ClientError, GameClient};
use glam::Vec2;
use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_shared::mirror::{Mirror, MirrorError, Predictor};
use snapwire_shared::{ClientMsg, InputCmd, ServerMsg, Welcome};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

/// Remote entities are drawn this many ticks in the past, between two
/// snapshots, which hides one late snapshot.
pub const INTERP_DELAY_TICKS: f32 = 2.0;

/// What one bot does.
#[derive(Clone, Debug)]
pub struct BotConfig {
    /// Server endpoint, `ws://host:port/play`.
    pub url: String,
    /// Display name.
    pub name: String,
    /// How long to play after the Welcome.
    pub duration: Duration,
    /// Seed of the random walk.
    pub seed: u64,
}

/// What a bot measured. Histograms are in microseconds (times) and
/// thousandths of a world unit (distances).
#[derive(Debug, Clone)]
pub struct BotStats {
    /// Bots that got a Welcome.
    pub connected: u64,
    /// Bots that could not connect or were refused.
    pub failed: u64,
    /// Bots whose connection ended before their time was up.
    pub disconnected: u64,
    /// Snapshots received.
    pub snapshots: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Sum over snapshots of the entities in the mirror, for the mean.
    pub visible_sum: u64,
    /// Frames that did not decode.
    pub decode_errors: u64,
    /// Snapshots that did not fit the mirror.
    pub delta_errors: u64,
    /// Reliable events received.
    pub events: u64,
    /// Seconds played, summed over bots.
    pub play_secs: f64,
    /// Gap between consecutive snapshots, µs.
    pub interarrival_us: Histogram<u64>,
    /// Ping round trips, µs.
    pub rtt_us: Histogram<u64>,
    /// Distance between prediction and server after reconciliation, 1/1000 unit.
    pub prediction_error_milli: Histogram<u64>,
    /// Why the last disconnected bot was dropped, if any was.
    pub last_disconnect: Option<String>,
}

impl Default for BotStats {
    fn default() -> Self {
        let h = || {
            Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("static histogram bounds are valid")
        };
        BotStats {
            connected: 0,
            failed: 0,
            disconnected: 0,
            snapshots: 0,
            bytes_in: 0,
            bytes_out: 0,
            visible_sum: 0,
            decode_errors: 0,
            delta_errors: 0,
            events: 0,
            play_secs: 0.0,
            interarrival_us: h(),
            rtt_us: h(),
            prediction_error_milli: h(),
            last_disconnect: None,
        }
    }
}

impl BotStats {
    /// Adds another bot's figures to these.
    pub fn merge(&mut self, other: &BotStats) {
        self.connected += other.connected;
        self.failed += other.failed;
        self.disconnected += other.disconnected;
        self.snapshots += other.snapshots;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.visible_sum += other.visible_sum;
        self.decode_errors += other.decode_errors;
        self.delta_errors += other.delta_errors;
        self.events += other.events;
        self.play_secs += other.play_secs;
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.interarrival_us.add(&other.interarrival_us);
        let _ = self.rtt_us.add(&other.rtt_us);
        let _ = self
            .prediction_error_milli
            .add(&other.prediction_error_milli);
        if other.last_disconnect.is_some() {
            self.last_disconnect.clone_from(&other.last_disconnect);
        }
    }

    /// Mean entities in view per snapshot.
    pub fn visible_mean(&self) -> f64 {
        if self.snapshots == 0 {
            0.0
        } else {
            self.visible_sum as f64 / self.snapshots as f64
        }
    }

    /// Snapshots per bot per second.
    pub fn snapshot_hz(&self) -> f64 {
        if self.play_secs == 0.0 {
            0.0
        } else {
            self.snapshots as f64 / self.play_secs
        }
    }
}

/// A random walk: a new direction every 0.5–1.5 s, sometimes standing still.
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

/// Runs one bot to the end of its time (or its connection). Never fails:
/// what went wrong is in the stats.
pub async fn run_bot(cfg: BotConfig) -> BotStats {
    let mut stats = BotStats::default();
    let (client, welcome) = match GameClient::join(&cfg.url, &cfg.name).await {
        Ok(ok) => ok,
        Err(e) => {
            stats.failed = 1;
            stats.last_disconnect = Some(e.to_string());
            return stats;
        }
    };
    stats.connected = 1;
    let started = Instant::now();
    let result = play(client, &welcome, &cfg, &mut stats).await;
    stats.play_secs = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        stats.disconnected = 1;
        stats.last_disconnect = Some(e.to_string());
    }
    stats
}

async fn play(
    mut client: GameClient,
    welcome: &Welcome,
    cfg: &BotConfig,
    stats: &mut BotStats,
) -> Result<(), ClientError> {
    let tick_rate = welcome.tick_rate.max(1);
    let end = Instant::now() + cfg.duration;
    let mut inputs = interval(Duration::from_secs_f64(1.0 / f64::from(tick_rate)));
    inputs.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut pings = interval(Duration::from_secs(1));
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut walk = Walk::new(cfg.seed);
    let mut mirror = Mirror::new();
    let mut predictor: Option<Predictor> = None;
    let mut seq: u32 = 0;
    let mut last_snapshot: Option<Instant> = None;
    let epoch = Instant::now();
    loop {
        tokio::select! {
            _ = sleep_until(end) => break,
            _ = inputs.tick() => {
                let dir = walk.next(Instant::now());
                seq = seq.wrapping_add(1);
                let input = InputCmd { seq, move_x: dir.x, move_y: dir.y, yaw: dir.to_angle(), buttons: 0 };
                if let Some(p) = predictor.as_mut() {
                    p.predict(input);
                }
                stats.bytes_out += client.send(&ClientMsg::Input(input)).await? as u64;
            }
            _ = pings.tick() => {
                let client_time = epoch.elapsed().as_micros() as u64;
                stats.bytes_out += client.send(&ClientMsg::Ping { client_time }).await? as u64;
            }
            msg = client.recv_sized() => {
                let (msg, size) = match msg {
                    Ok(m) => m,
                    Err(ClientError::Decode(_)) => {
                        stats.decode_errors += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                stats.bytes_in += size as u64;
                match msg {
                    ServerMsg::Snapshot(snap) => {
                        let now = Instant::now();
                        if let Some(prev) = last_snapshot.replace(now) {
                            let _ = stats.interarrival_us.record((now - prev).as_micros().max(1) as u64);
                        }
                        stats.snapshots += 1;
                        stats.events += snap.events.len() as u64;
                        match mirror.apply(&snap) {
                            Ok(()) => {}
                            Err(MirrorError::Delta(_) | MirrorError::BaseMismatch { .. } | MirrorError::Stale { .. }) => {
                                stats.delta_errors += 1;
                                continue;
                            }
                        }
                        stats.visible_sum += mirror.entities().len() as u64;
                        if let Some(me) = mirror.get(welcome.entity) {
                            let p = predictor.get_or_insert_with(|| Predictor::new(me.body(), tick_rate, welcome.world.size));
                            if let Some(err) = p.reconcile(me, snap.ack_input_seq) {
                                let _ = stats.prediction_error_milli.record((err * 1000.0) as u64);
                            }
                        }
                        // "Render" the others where a client would draw them.
                        let mut checksum = Vec2::ZERO;
                        for e in mirror.entities() {
                            if e.id != welcome.entity {
                                checksum += mirror.interpolated(e.id, INTERP_DELAY_TICKS).unwrap_or_default();
                            }
                        }
                        std::hint::black_box(checksum);
                    }
                    ServerMsg::Pong { client_time, server_tick: _ } => {
                        let rtt = (epoch.elapsed().as_micros() as u64).saturating_sub(client_time);
                        let _ = stats.rtt_us.record(rtt.max(1));
                    }
                    ServerMsg::Kicked { reason } => {
                        return Err(ClientError::Closed { code: 1008, reason });
                    }
                    ServerMsg::Welcome(_) => return Err(ClientError::Unexpected("second Welcome")),
                }
            }
        }
    }
    let _ = client.send(&ClientMsg::Leave).await;
    let _ = client.close().await;
    Ok(())
}
