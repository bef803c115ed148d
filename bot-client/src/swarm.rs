//! Thousands of bots on one tokio runtime: ramp-up, the steady window, the
//! progress line and the report.

use crate::bot::{BotConfig, JOIN_TIMEOUT, Shared, Window, run_bot};
use crate::client::ClientOptions;
use crate::matchmake::Matchmaker;
use crate::stats::{Counters, Report};
use snapwire_shared::auth::JoinClaims;
use snapwire_shared::{PlayerId, RoomId};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
        }
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
    let mut bots = JoinSet::new();
    let every = cfg.mirror_every.max(1);
    for i in 0..cfg.bots {
        let at = began
            + cfg
                .ramp_up
                .mul_f64(f64::from(i) / f64::from(cfg.bots.max(1)));
        sleep_until(at).await;
        let bot = BotConfig {
            url: cfg.url.clone(),
            name: format!("bot{i}"),
            seed: cfg.seed.wrapping_add(u64::from(i)),
            mirror: i % every == 0,
            options: cfg.options.clone(),
            auth_token: match &cfg.auth_secret {
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
            chaos_drop: cfg.chaos_drop,
            matchmake: cfg.matchmake.clone(),
            room: cfg.room,
        };
        let shared = shared.clone();
        bots.spawn(async move { run_bot(bot, &shared).await });
    }
    // The window starts once every bot has joined or failed.
    let settle_by = Instant::now() + JOIN_TIMEOUT + Duration::from_secs(1);
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
    if finished < u64::from(cfg.bots) {
        // Still running after the grace: stuck on a dead server.
        let stuck = u64::from(cfg.bots) - finished;
        bots.abort_all();
        total.disconnected += stuck;
        total.last_error = Some(format!("{stuck} bot(s) did not finish in time"));
    }
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
