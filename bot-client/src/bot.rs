//! One bot: a real client that walks at random, mirrors every snapshot,
//! predicts its own entity, interpolates the others, and measures.

use crate::client::{ClientError, ClientOptions, GameClient, Join};
use crate::matchmake::Matchmaker;
use crate::play::Play;
use crate::stats::{Counters, SampleBuf, Samples};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_shared::RoomId;
use snapwire_shared::{ClientMsg, SessionToken, Welcome};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};

pub use crate::play::INTERP_DELAY_TICKS;
/// A bot that has no Welcome after this long counts as failed.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a bot waits for the server's close after its Leave.
pub(crate) const LEAVE_TIMEOUT: Duration = Duration::from_secs(1);

/// The measured window, once the swarm has fixed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Measurement starts (the last bot has joined).
    pub start: Instant,
    /// Measurement ends; bots leave.
    pub end: Instant,
}

impl Window {
    /// Whether `t` is inside the window (counted).
    pub(crate) fn contains(&self, t: Instant) -> bool {
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

    /// Counts a bot as joined or failed.
    pub(crate) fn settle(&self) {
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
                cfg.rejoin(bot.play.welcome.room).await.ok()
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

pub(crate) fn failed(mut c: Counters, shared: &Shared, why: String) -> Counters {
    c.failed = 1;
    c.last_error = Some(why);
    shared.live_errors.fetch_add(1, Ordering::Relaxed);
    shared.settle();
    c
}

/// A bot of the task driver: its game, and what its transport needs besides.
struct Bot {
    /// The game, shared with the loop driver.
    play: Play,
    /// The server joined (resumes go there).
    url: String,
    /// Decides the chaos drops.
    chaos: SmallRng,
}

impl Bot {
    fn new(cfg: &BotConfig, welcome: &Welcome, url: String, client: &GameClient) -> Self {
        Bot {
            play: Play::new(
                cfg.seed,
                welcome.clone(),
                cfg.mirror.then(|| client.new_mirror()),
            ),
            url,
            chaos: SmallRng::seed_from_u64(cfg.seed ^ 0x0063_6861_6f73),
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
            Some(self.play.welcome.session_token),
        );
        let (client, welcome) = match resume.await {
            Ok(ok) => ok,
            Err(e) => {
                c.resume_failures += 1;
                return Err(e);
            }
        };
        let before = &self.play.welcome;
        if welcome.entity != before.entity || welcome.player != before.player {
            c.resume_failures += 1;
            return Err(ClientError::Unexpected("resume gave another player"));
        }
        c.resumes += 1;
        let url = std::mem::take(&mut self.url);
        self.restart(welcome, url, &client);
        Ok(client)
    }

    /// A new session (resumed or rejoined).
    fn restart(&mut self, welcome: Welcome, url: String, client: &GameClient) {
        self.url = url;
        self.play.restart(welcome, Some(client.new_mirror()));
    }

    /// Plays until the window ends, on the schedule [`Play`] describes.
    async fn play(
        &mut self,
        cfg: &BotConfig,
        mut client: GameClient,
        shared: &Shared,
        c: &mut Counters,
        samples: &mut SampleBuf,
    ) -> Result<(), ClientError> {
        self.play.start_schedule(Instant::now());
        let mut window_rx = shared.window.clone();
        let mut window = *window_rx.borrow_and_update();
        // The swarm fixes the window once; after that there is nothing to
        // watch, and no reason to re-arm the watch on every wake-up.
        let mut watch_window = window.is_none();
        let clock = sleep_until(self.play.clock_deadline());
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
                    if !self.play.on_frame(&bytes, Instant::now(), window, c, shared, samples) {
                        continue;
                    }
                    true
                }
            };
            let now = Instant::now();
            if !self.play.input_due(now, by_snapshot) {
                continue; // this tick's input is out already
            }
            let input = self.play.next_input(now);
            clock.as_mut().reset(self.play.clock_deadline());
            let counted = window.is_some_and(|w| w.contains(now));
            let sent = client.send(&input).await?;
            if counted {
                c.bytes_out += sent as u64;
            }
            if self.play.ping_due() {
                let sent = client.send(&self.play.ping(Instant::now())).await?;
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
}
