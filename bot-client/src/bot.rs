//! One bot: a real client that walks at random, mirrors every snapshot,
//! predicts its own entity, interpolates the others, and measures.

use crate::client::{ClientError, ClientOptions, GameClient, Join};
use crate::matchmake::Matchmaker;
use crate::stats::{Counters, Kind, SampleBuf, Samples};
use glam::Vec2;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_shared::RoomId;
use snapwire_shared::arena::{Predictor, Walker};
use snapwire_shared::codec::{self, DecodeError};
use snapwire_shared::mirror::Mirror;
use snapwire_shared::{ClientMsg, InputCmd, ServerMsg, SessionToken, Tick, Welcome};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

/// Remote entities are drawn this many ticks in the past, between two
/// snapshots, which hides one late snapshot.
pub const INTERP_DELAY_TICKS: f32 = 2.0;
/// A bot that has no Welcome after this long counts as failed.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a bot waits for the server's close after its Leave.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(1);

/// The measured window, once the swarm has fixed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Measurement starts (the last bot has joined).
    pub start: Instant,
    /// Measurement ends; bots leave.
    pub end: Instant,
}

impl Window {
    fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }
}

/// What every bot of a swarm shares: the window, the histograms, and live
/// counters for the progress line.
#[derive(Debug)]
pub struct Shared {
    /// The measured window; `None` until every bot has joined or failed.
    pub window: watch::Receiver<Option<Window>>,
    /// Latency histograms.
    pub samples: Mutex<Samples>,
    /// Bots that joined so far.
    pub live_connected: AtomicU64,
    /// Bots that joined or failed so far (the window starts when all have).
    pub settled: AtomicU64,
    /// Snapshots received so far (for snapshots per second).
    pub live_snapshots: AtomicU64,
    /// Decode, delta and connection errors so far.
    pub live_errors: AtomicU64,
    /// Woken whenever a bot settles.
    pub settled_notify: tokio::sync::Notify,
}

impl Shared {
    /// Shared state for a swarm whose window comes from `window`.
    pub fn new(window: watch::Receiver<Option<Window>>) -> Self {
        Shared {
            window,
            samples: Mutex::new(Samples::default()),
            live_connected: AtomicU64::new(0),
            settled: AtomicU64::new(0),
            live_snapshots: AtomicU64::new(0),
            live_errors: AtomicU64::new(0),
            settled_notify: tokio::sync::Notify::new(),
        }
    }

    fn settle(&self) {
        self.settled.fetch_add(1, Ordering::Relaxed);
        self.settled_notify.notify_one();
    }
}

/// What one bot does.
#[derive(Clone, Debug)]
pub struct BotConfig {
    /// Server endpoint, `ws://host:port/play`.
    pub url: String,
    /// Display name.
    pub name: String,
    /// Seed of the random walk.
    pub seed: u64,
    /// Keep a full mirror; otherwise only follow the snapshots' tick chain.
    pub mirror: bool,
    /// TLS and headers.
    pub options: ClientOptions,
    /// Signed join token, for servers that require one.
    pub auth_token: Option<String>,
    /// Probability per second of dropping the TCP connection abruptly and
    /// resuming the session with its token (0: never).
    pub chaos_drop: f64,
    /// Start from this matchmaking endpoint instead of `url`; a bot that
    /// loses its server matchmakes again for the same room.
    pub matchmake: Option<Matchmaker>,
    /// The room to ask matchmaking for (`None`: any).
    pub room: Option<RoomId>,
}

impl BotConfig {
    /// Connects to `url` and says Hello (resuming with `resume_token` if
    /// given); fails if no Welcome comes within [`JOIN_TIMEOUT`].
    async fn join(
        &self,
        url: &str,
        auth_token: Option<String>,
        resume_token: Option<SessionToken>,
    ) -> Result<(GameClient, Welcome), ClientError> {
        let join = Join {
            name: self.name.clone(),
            resume_token,
            auth_token,
        };
        // Boxed: the connect future (TLS included) is large, and would
        // otherwise size every bot's task for its whole life.
        let connect = Box::pin(GameClient::join_with(url, &self.options, join));
        timeout(JOIN_TIMEOUT, connect)
            .await
            .unwrap_or(Err(ClientError::Unexpected("no Welcome in time")))
    }

    /// Joins a game: through matchmaking (for `room`) when configured,
    /// else at `url`. Returns the URL joined, for resumes.
    async fn enter(
        &self,
        room: Option<RoomId>,
    ) -> Result<(GameClient, Welcome, String), ClientError> {
        let Some(mm) = &self.matchmake else {
            let (client, welcome) = self.join(&self.url, self.auth_token.clone(), None).await?;
            return Ok((client, welcome, self.url.clone()));
        };
        let placed = mm
            .place(room, self.auth_token.as_deref(), &self.options)
            .await
            .map_err(|e| ClientError::Matchmake(e.to_string()))?;
        let (client, welcome) = self
            .join(&placed.url, Some(placed.reservation), None)
            .await?;
        Ok((client, welcome, placed.url))
    }

    /// [`BotConfig::enter`] for the same room again, retried with backoff
    /// until [`JOIN_TIMEOUT`] has passed: the room's process may be gone,
    /// and the registry names a new one once its lease has run out.
    async fn rejoin(&self, room: RoomId) -> Result<(GameClient, Welcome, String), ClientError> {
        let deadline = Instant::now() + JOIN_TIMEOUT;
        let mut wait = Duration::from_millis(100);
        loop {
            match self.enter(Some(room)).await {
                Ok(ok) => return Ok(ok),
                Err(e) if Instant::now() + wait >= deadline => return Err(e),
                Err(e) => tracing::debug!(bot = %self.name, error = %e, "rejoin failed; retrying"),
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        }
    }
}

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

/// Runs one bot until the window ends (or its connection does). Never
/// fails: what went wrong is in the counters.
pub async fn run_bot(cfg: BotConfig, shared: &Shared) -> Counters {
    let mut c = Counters::default();
    let (mut client, welcome, url) = match cfg.enter(cfg.room).await {
        Ok(ok) => ok,
        Err(e) => return failed(c, shared, e.to_string()),
    };
    c.connected = 1;
    c.mirrored = u64::from(cfg.mirror);
    shared.live_connected.fetch_add(1, Ordering::Relaxed);
    shared.settle();
    let mut samples = SampleBuf::default();
    let mut bot = Bot::new(&cfg, &welcome, url, &client);
    loop {
        let Err(e) = bot.play(&cfg, client, shared, &mut c, &mut samples).await else {
            break;
        };
        let over = shared
            .window
            .borrow()
            .is_some_and(|w| Instant::now() >= w.end);
        // With matchmaking, a lost server is not the end: the room lives
        // on in another process (or comes back there).
        let rejoined = match &cfg.matchmake {
            Some(_) if !over => {
                tracing::debug!(bot = %cfg.name, error = %e, "lost the server; matchmaking again");
                cfg.rejoin(bot.welcome.room).await.ok()
            }
            _ => None,
        };
        match rejoined {
            Some((next, welcome, url)) => {
                c.rejoins += 1;
                bot.restart(welcome, url, &next);
                client = next;
            }
            None => {
                c.disconnected = 1;
                c.last_error = Some(e.to_string());
                shared.live_errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    samples.flush(&shared.samples);
    c
}

fn failed(mut c: Counters, shared: &Shared, why: String) -> Counters {
    c.failed = 1;
    c.last_error = Some(why);
    shared.live_errors.fetch_add(1, Ordering::Relaxed);
    shared.settle();
    c
}

/// What a server message was, for the play loop.
enum Received {
    /// A snapshot, already handled.
    Snapshot,
    /// Anything else, for the caller.
    Other(ServerMsg),
}

/// A bot's game state.
struct Bot {
    welcome: Welcome,
    /// The server joined (resumes go there).
    url: String,
    walk: Walk,
    /// Decides the chaos drops.
    chaos: SmallRng,
    seq: u32,
    /// Full mirror, or `None` in chain-check mode.
    mirror: Option<Mirror>,
    /// Chain-check mode: the last snapshot's tick.
    chain_tick: Tick,
    predictor: Option<Predictor>,
    last_snapshot: Option<Instant>,
    /// Where the mirrored entities are drawn this frame (reused buffer).
    drawn: Vec<(snapwire_shared::EntityId, Vec2)>,
}

impl Bot {
    fn new(cfg: &BotConfig, welcome: &Welcome, url: String, client: &GameClient) -> Self {
        Bot {
            welcome: welcome.clone(),
            url,
            walk: Walk::new(cfg.seed),
            chaos: SmallRng::seed_from_u64(cfg.seed ^ 0x0063_6861_6f73),
            seq: 0,
            mirror: cfg.mirror.then(|| client.new_mirror()),
            chain_tick: Tick::NONE,
            predictor: None,
            last_snapshot: None,
            drawn: Vec::new(),
        }
    }

    /// Drops the connection without a close handshake, reconnects and
    /// resumes with the session token; the mirror starts over from the full
    /// snapshot the server sends first.
    async fn drop_and_resume(
        &mut self,
        cfg: &BotConfig,
        client: GameClient,
        c: &mut Counters,
    ) -> Result<GameClient, ClientError> {
        drop(client); // the TCP connection just ends: no close frame
        let resume = cfg.join(
            &self.url,
            cfg.auth_token.clone(),
            Some(self.welcome.session_token),
        );
        let (client, welcome) = match resume.await {
            Ok(ok) => ok,
            Err(e) => {
                c.resume_failures += 1;
                return Err(e);
            }
        };
        if welcome.entity != self.welcome.entity || welcome.player != self.welcome.player {
            c.resume_failures += 1;
            return Err(ClientError::Unexpected("resume gave another player"));
        }
        c.resumes += 1;
        let url = std::mem::take(&mut self.url);
        self.restart(welcome, url, &client);
        Ok(client)
    }

    /// A new session (resumed or rejoined): the mirror starts over from
    /// the complete snapshot (base 0) the server sends first.
    fn restart(&mut self, welcome: Welcome, url: String, client: &GameClient) {
        self.welcome = welcome;
        self.url = url;
        self.mirror = self.mirror.as_ref().map(|_| client.new_mirror());
        self.predictor = None;
        self.chain_tick = Tick::NONE;
        // The reconnect gap is the drop's, not the server's latency.
        self.last_snapshot = None;
    }

    /// Plays until the window ends.
    ///
    /// Inputs keep a strict schedule of one per tick, but each is sent when
    /// the first snapshot arrives within half a tick of its slot (a client
    /// whose simulation is clocked by the server's), and by the bot's own
    /// clock, half a tick late, only when no snapshot came. So a bot wakes
    /// about once per tick, not once for its clock and once for the server:
    /// the swarm is the instrument, and its own wake-ups would otherwise
    /// cost as much CPU as the server it measures. A ping rides along every
    /// `tick_rate`-th input (once a second).
    async fn play(
        &mut self,
        cfg: &BotConfig,
        mut client: GameClient,
        shared: &Shared,
        c: &mut Counters,
        samples: &mut SampleBuf,
    ) -> Result<(), ClientError> {
        let tick_rate = self.welcome.tick_rate.max(1);
        let period = Duration::from_secs_f64(1.0 / f64::from(tick_rate));
        let half = period / 2;
        // The next input's slot; it goes out in `slot ± half`.
        let mut slot = Instant::now() + period;
        let mut window_rx = shared.window.clone();
        let mut window = *window_rx.borrow_and_update();
        // The swarm fixes the window once; after that there is nothing to
        // watch, and no reason to re-arm the watch on every wake-up.
        let mut watch_window = window.is_none();
        let epoch = Instant::now();
        let clock = sleep_until(slot + half);
        tokio::pin!(clock);
        loop {
            let now = Instant::now();
            if window.is_some_and(|w| now >= w.end) {
                break;
            }
            let by_snapshot = tokio::select! {
                changed = window_rx.changed(), if watch_window => {
                    match changed {
                        Ok(()) => {
                            window = *window_rx.borrow_and_update();
                            watch_window = window.is_none();
                        }
                        Err(_) => watch_window = false,
                    }
                    continue;
                }
                _ = &mut clock => false,
                bytes = client.recv_bytes() => {
                    let bytes = bytes?;
                    let now = Instant::now();
                    let counted = window.is_some_and(|w| w.contains(now));
                    if counted {
                        c.bytes_in += bytes.len() as u64;
                    }
                    match self.receive(&bytes, now, window, c, shared, samples) {
                        Ok(Received::Snapshot) => true,
                        Ok(Received::Other(ServerMsg::Pong { client_time, .. })) => {
                            if counted {
                                let rtt = (epoch.elapsed().as_micros() as u64)
                                    .saturating_sub(client_time);
                                samples.record(Kind::Rtt, rtt, &shared.samples);
                            }
                            continue;
                        }
                        // A Kicked is followed by the close frame, which
                        // ends the bot with the same reason.
                        Ok(Received::Other(_)) => continue,
                        Err(_) => {
                            c.decode_errors += 1;
                            shared.live_errors.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                }
            };
            let now = Instant::now();
            if by_snapshot && now + half < slot {
                continue; // this tick's input is out already
            }
            // One slot per tick; a bot that fell far behind skips slots
            // rather than sending a burst.
            slot = (slot + period).max(now + half);
            clock.as_mut().reset(slot + half);
            let counted = window.is_some_and(|w| w.contains(now));
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
            let sent = client.send(&input.msg()).await?;
            if counted {
                c.bytes_out += sent as u64;
            }
            if self.seq.is_multiple_of(u32::from(tick_rate)) {
                let client_time = epoch.elapsed().as_micros() as u64;
                let sent = client.send(&ClientMsg::Ping { client_time }).await?;
                if counted {
                    c.bytes_out += sent as u64;
                }
                // Chaos is decided once a second, with the ping.
                if cfg.chaos_drop > 0.0 && self.chaos.random_bool(cfg.chaos_drop.min(1.0)) {
                    client = Box::pin(self.drop_and_resume(cfg, client, c)).await?;
                }
            }
        }
        let _ = client.send(&ClientMsg::Leave).await;
        let _ = timeout(LEAVE_TIMEOUT, client.close()).await;
        Ok(())
    }

    /// Handles one server message.
    fn receive(
        &mut self,
        bytes: &[u8],
        now: Instant,
        window: Option<Window>,
        c: &mut Counters,
        shared: &Shared,
        samples: &mut SampleBuf,
    ) -> Result<Received, DecodeError> {
        if self.mirror.is_none()
            && let Some(header) = codec::peek_snapshot_header(bytes)?
        {
            self.on_snapshot_arrival(now, window, c, shared, samples);
            if header.base_tick.is_some() && header.base_tick != self.chain_tick {
                self.delta_error(c, shared);
            }
            self.chain_tick = header.tick;
            return Ok(Received::Snapshot);
        }
        // Read in place: the body is applied where it lies.
        if let Some((head, body)) = codec::split_snapshot(bytes)? {
            self.on_snapshot_arrival(now, window, c, shared, samples);
            let counted = window.is_some_and(|w| w.contains(now));
            self.apply(&head, body, counted, c, shared, samples);
            return Ok(Received::Snapshot);
        }
        Ok(Received::Other(codec::decode_server(bytes)?))
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

    fn delta_error(&mut self, c: &mut Counters, shared: &Shared) {
        c.delta_errors += 1;
        shared.live_errors.fetch_add(1, Ordering::Relaxed);
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
            self.delta_error(c, shared);
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
