//! Thousands of bots on one tokio runtime: ramp-up, the steady window, the
//! progress line and the report.

use crate::bot::{BotConfig, JOIN_TIMEOUT, Shared, Window, run_bot};
use crate::client::ClientOptions;
use crate::event_loop;
use crate::matchmake::Matchmaker;
use crate::stats::{Counters, Report};
use snapwire_shared::auth::JoinClaims;
use snapwire_shared::{PlayerId, RoomId};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout_at};

/// How long after the window's end bots get to leave before they are
/// abandoned (a server that stopped answering must not hang the swarm).
const LEAVE_GRACE: Duration = Duration::from_secs(5);

/// What a swarm does.
#[derive(Debug, Clone)]
pub struct SwarmConfig {
    /// Server endpoint.
    pub url: String,
    /// Bots to run.
    pub bots: u32,
    /// Length of the measured window.
    pub duration: Duration,
    /// Joins are spread evenly over this time.
    pub ramp_up: Duration,
    /// Bot `i` walks with seed `seed + i`.
    pub seed: u64,
    /// Every `mirror_every`-th bot keeps a full mirror; the others only
    /// follow the snapshots' tick chain. 1 = every bot mirrors.
    pub mirror_every: u32,
    /// Print a live progress line (only on a terminal).
    pub progress: bool,
    /// TLS and headers for every bot.
    pub options: ClientOptions,
    /// Signs a join token per bot (player id `i + 1`), for servers that
    /// require one.
    pub auth_secret: Option<AuthSecret>,
    /// Per bot, probability per second of an abrupt drop and a resume.
    pub chaos_drop: f64,
    /// Start every bot from this matchmaking endpoint instead of `url`;
    /// bots that lose their server matchmake again for their room.
    pub matchmake: Option<Matchmaker>,
    /// The room every bot asks matchmaking for (`None`: any).
    pub room: Option<RoomId>,
    /// What drives the bots' sockets.
    pub driver: Driver,
}

/// What drives the bots' sockets. Both play the same game ([`crate::play`]),
/// on the same schedule, and report the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Driver {
    /// A tokio task per bot over tokio-tungstenite; every option.
    #[default]
    Tasks,
    /// `threads` threads, each one loop over its bots' non-blocking
    /// sockets (mio); no TLS, matchmaking or chaos drops.
    Loop {
        /// Loop threads; bot `i` runs on thread `i % threads`.
        threads: usize,
    },
}

impl SwarmConfig {
    /// `bots` plain bots against `url` for `duration`, everything else at
    /// its default (no ramp, every bot mirrors, no TLS, no token, no chaos).
    pub fn new(url: impl Into<String>, bots: u32, duration: Duration) -> Self {
        SwarmConfig {
            url: url.into(),
            bots,
            duration,
            ramp_up: Duration::ZERO,
            seed: 1,
            mirror_every: 1,
            progress: false,
            options: ClientOptions::default(),
            auth_secret: None,
            chaos_drop: 0.0,
            matchmake: None,
            room: None,
            driver: Driver::Tasks,
        }
    }

    /// Why this swarm cannot run with its driver, if it cannot.
    pub fn unsupported(&self) -> Option<&'static str> {
        match self.driver {
            Driver::Tasks => None,
            Driver::Loop { .. } => event_loop::unsupported(self),
        }
    }

    /// Bot `i`'s configuration (with its join token, if the server needs one).
    fn bot(&self, i: u32) -> BotConfig {
        BotConfig {
            url: self.url.clone(),
            name: format!("bot{i}"),
            seed: self.seed.wrapping_add(u64::from(i)),
            mirror: i.is_multiple_of(self.mirror_every.max(1)),
            options: self.options.clone(),
            auth_token: match &self.auth_secret {
                Some(secret) => {
                    let claims =
                        JoinClaims::new(PlayerId(i + 1), &format!("bot{i}"), TOKEN_TTL, None);
                    match snapwire_shared::auth::mint(&secret.0, &claims) {
                        Ok(token) => Some(token),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot sign a join token");
                            None
                        }
                    }
                }
                None => None,
            },
            chaos_drop: self.chaos_drop,
            matchmake: self.matchmake.clone(),
            room: self.room,
        }
    }

    /// When the ramp-up starts bot `i`.
    fn start_of(&self, began: Instant, i: u32) -> Instant {
        began
            + self
                .ramp_up
                .mul_f64(f64::from(i) / f64::from(self.bots.max(1)))
    }
}

/// The secret join tokens are signed with (never printed).
#[derive(Clone)]
pub struct AuthSecret(pub Arc<[u8]>);

impl std::fmt::Debug for AuthSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthSecret(..)")
    }
}

/// How long the bots' join tokens are valid.
const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Runs the swarm to the end of its window and reports.
pub async fn run_swarm(cfg: SwarmConfig) -> Report {
    let (window_tx, window_rx) = watch::channel(None);
    let shared = Arc::new(Shared::new(window_rx));
    let began = Instant::now();
    let progress = cfg
        .progress
        .then(|| tokio::spawn(progress_line(shared.clone(), cfg.bots, began)));
    let (running, settle_by) = match cfg.driver {
        Driver::Tasks => {
            let tasks = spawn_tasks(&cfg, &shared, began).await;
            (Running::Tasks(tasks), Instant::now())
        }
        Driver::Loop { threads } => {
            let loops = spawn_loops(&cfg, &shared, began, threads);
            (Running::Loops(loops), began + cfg.ramp_up)
        }
    };
    // The window starts once every bot has joined or failed.
    let settle_by = settle_by + JOIN_TIMEOUT + Duration::from_secs(1);
    while shared.settled.load(Ordering::Relaxed) < u64::from(cfg.bots) {
        tokio::select! {
            _ = shared.settled_notify.notified() => {}
            _ = sleep_until(settle_by) => break,
        }
    }
    let start = Instant::now();
    let end = start + cfg.duration;
    window_tx.send_replace(Some(Window { start, end }));
    let joined = shared.live_connected.load(Ordering::Relaxed);
    tracing::info!(
        bots = cfg.bots,
        joined,
        window_s = cfg.duration.as_secs_f64(),
        "window started"
    );
    tokio::spawn(async move {
        sleep_until(end).await;
        tracing::info!("window ended");
    });

    let total = match running {
        Running::Tasks(tasks) => collect_tasks(tasks, cfg.bots, end).await,
        Running::Loops(loops) => loops.collect(end).await,
    };
    if let Some(p) = progress {
        p.abort();
        println!();
    }
    let samples = shared.samples.lock().unwrap_or_else(|p| p.into_inner());
    let window_s = (end - start).as_secs_f64();
    if let Some(why) = &total.last_error {
        tracing::warn!(reason = %why, "last bot failure");
    }
    Report::new(u64::from(cfg.bots), window_s, &total, &samples)
}

/// The bots, while they run.
enum Running {
    Tasks(JoinSet<Counters>),
    Loops(Loops),
}

/// Spawns one task per bot, each at its time in the ramp-up.
async fn spawn_tasks(cfg: &SwarmConfig, shared: &Arc<Shared>, began: Instant) -> JoinSet<Counters> {
    let mut bots = JoinSet::new();
    for i in 0..cfg.bots {
        sleep_until(cfg.start_of(began, i)).await;
        let bot = cfg.bot(i);
        let shared = shared.clone();
        bots.spawn(async move { run_bot(bot, &shared).await });
    }
    bots
}

/// Sums the tasks' counters; those still running after the leave grace are
/// counted as disconnected.
async fn collect_tasks(mut bots: JoinSet<Counters>, n: u32, end: Instant) -> Counters {
    let mut total = Counters::default();
    let mut finished = 0u64;
    while let Ok(Some(done)) = timeout_at(end + LEAVE_GRACE, bots.join_next()).await {
        finished += 1;
        match done {
            Ok(c) => total.add(&c),
            Err(e) => {
                total.disconnected += 1;
                total.last_error = Some(format!("bot task failed: {e}"));
            }
        }
    }
    if finished < u64::from(n) {
        // Still running after the grace: stuck on a dead server.
        let stuck = u64::from(n) - finished;
        bots.abort_all();
        total.disconnected += stuck;
        total.last_error = Some(format!("{stuck} bot(s) did not finish in time"));
    }
    total
}

/// The loop threads, each with its bots' count and its result to come.
struct Loops {
    threads: Vec<(
        u64,
        tokio::sync::oneshot::Receiver<std::io::Result<Counters>>,
    )>,
    /// Stops the threads if the swarm is abandoned (dropped) or done.
    stop: StopOnDrop,
    /// Bots the loop driver could not run at all.
    refused: Counters,
}

/// Sets the flag when dropped: loop threads do not outlive their swarm.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Starts the loop threads; each ramps its own bots up.
fn spawn_loops(cfg: &SwarmConfig, shared: &Arc<Shared>, began: Instant, threads: usize) -> Loops {
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let mut refused = Counters::default();
    if let Some(why) = cfg.unsupported() {
        tracing::error!(reason = why, "the loop driver cannot run this swarm");
        for _ in 0..cfg.bots {
            refused.add(&crate::bot::failed(
                Counters::default(),
                shared,
                why.to_owned(),
            ));
        }
        return Loops {
            threads: Vec::new(),
            stop,
            refused,
        };
    }
    let threads = threads.clamp(1, cfg.bots.max(1) as usize);
    let mut per_thread: Vec<Vec<(Instant, BotConfig)>> = (0..threads).map(|_| Vec::new()).collect();
    for i in 0..cfg.bots {
        per_thread[i as usize % threads].push((cfg.start_of(began, i), cfg.bot(i)));
    }
    let mut handles = Vec::with_capacity(threads);
    for (t, bots) in per_thread.into_iter().enumerate() {
        let n = bots.len() as u64;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (thread_shared, flag) = (shared.clone(), stop.0.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("bot-loop-{t}"))
            .spawn(move || {
                let _ = tx.send(event_loop::run_thread(bots, &thread_shared, &flag));
            });
        match spawned {
            Ok(_) => handles.push((n, rx)),
            Err(e) => {
                for _ in 0..n {
                    refused.add(&crate::bot::failed(
                        Counters::default(),
                        shared.as_ref(),
                        format!("cannot start a loop thread: {e}"),
                    ));
                }
            }
        }
    }
    Loops {
        threads: handles,
        stop,
        refused,
    }
}

impl Loops {
    /// Sums the threads' counters; a thread not done after the leave grace
    /// (it bounds itself, so only a bug would do that) or that failed counts
    /// all its bots as disconnected.
    async fn collect(self, end: Instant) -> Counters {
        let Loops {
            threads,
            stop,
            mut refused,
        } = self;
        for (n, rx) in threads {
            let why = match timeout_at(end + LEAVE_GRACE, rx).await {
                Ok(Ok(Ok(c))) => {
                    refused.add(&c);
                    continue;
                }
                Ok(Ok(Err(e))) => format!("loop thread failed: {e}"),
                Ok(Err(_)) => "loop thread panicked".to_owned(),
                Err(_) => format!("{n} bot(s) did not finish in time"),
            };
            refused.disconnected += n;
            refused.last_error = Some(why);
        }
        drop(stop);
        refused
    }
}

/// Rewrites one terminal line every second: connected bots, snapshots per
/// second, errors.
async fn progress_line(shared: Arc<Shared>, bots: u32, began: Instant) {
    let mut last = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let snaps = shared.live_snapshots.load(Ordering::Relaxed);
        let phase = match *shared.window.borrow() {
            None => "ramp-up",
            Some(w) if Instant::now() < w.end => "measuring",
            Some(_) => "leaving",
        };
        print!(
            "\r\x1b[K[{:>5.1}s] {phase:<9} connected {}/{bots}  snapshots/s {}  errors {}",
            began.elapsed().as_secs_f64(),
            shared.live_connected.load(Ordering::Relaxed),
            snaps - last,
            shared.live_errors.load(Ordering::Relaxed),
        );
        let _ = std::io::stdout().flush();
        last = snaps;
    }
}
