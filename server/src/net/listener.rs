//! The accept loop, and orderly shutdown: an optional drain (clients told,
//! the game still running), then 1001 to everyone.

use super::connection::{self, Guards};
use super::limits::{ConnectionCaps, Refusal};
use super::shard::Shards;
use super::{handshake, transport};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::metrics::{Metrics, RoomTelemetry};
use crate::room::RoomManager;
use crate::stats::Violation;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{info, warn};

/// How long connections get to say goodbye (close 1001) on shutdown; with
/// the rest of the shutdown this keeps the exit well inside two seconds.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// How often the server logs its counters (when there is anything to say).
const SUMMARY_EVERY: Duration = Duration::from_secs(30);
/// Over-cap connections being answered with 503 at once, at most.
const MAX_REFUSALS_IN_FLIGHT: usize = 256;
/// Time an over-cap connection gets to send its upgrade request.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

/// Answers an over-cap connection's upgrade request with HTTP 503 and a
/// reason, so that clients can tell "full" from "down".
async fn refuse(
    stream: TcpStream,
    refusal: Refusal,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
) {
    let Ok(stream) = transport::accept(stream, tls.as_ref()).await else {
        return;
    };
    let upgrade = match refusal {
        Refusal::Full => tokio_tungstenite::accept_hdr_async(stream, handshake::refuse_full).await,
        Refusal::PerAddress => {
            tokio_tungstenite::accept_hdr_async(stream, handshake::refuse_per_address).await
        }
    };
    drop(upgrade);
}

/// What connection tasks and shards share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) rooms: Arc<RoomManager>,
    /// True once connections must close (1001).
    pub(crate) shutdown: watch::Receiver<bool>,
    /// When draining, the moment connections will be closed.
    pub(crate) drain: watch::Receiver<Option<Instant>>,
    /// The shards serving each room's joined connections.
    pub(crate) shards: Shards,
    /// The server's metrics registry and what it reads.
    pub(crate) metrics: Arc<Metrics>,
    /// Where rooms live: this process alone, or a registry in Redis.
    pub(crate) cluster: Cluster,
}

impl Shared {
    /// Whether the server is draining (or stopping): no new players.
    pub(crate) fn draining(&self) -> bool {
        self.drain.borrow().is_some() || *self.shutdown.borrow()
    }
}

/// How a running server is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Stop accepting, tell every client (`ServerDraining`), keep the game
    /// running for `Config::drain_timeout` (or until everyone has left),
    /// then close everyone with 1001.
    Drain,
    /// Close everyone with 1001 now; also ends a drain early.
    Now,
}

/// Serves the game on `listener` until asked to stop on `control`, then
/// drains (if asked to and `drain_timeout` is not zero), closes every
/// connection with 1001 and returns within about two seconds of the close.
/// Dropping every sender of `control` counts as [`Shutdown::Now`].
///
/// The binary sends a `Drain` on the first SIGTERM or SIGINT and `Now` on
/// the second; tests use [`ServerHandle`] on `127.0.0.1:0`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    control: mpsc::Receiver<Shutdown>,
) -> std::io::Result<()> {
    run_with_admin(listener, None, config, control).await
}

/// [`run`], with the admin endpoints (`/metrics`, `/healthz`, `/readyz`,
/// `/rooms`) served on `admin` until the server has stopped.
pub async fn run_with_admin(
    listener: TcpListener,
    admin: Option<TcpListener>,
    config: Config,
    mut control: mpsc::Receiver<Shutdown>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (drain_tx, drain_rx) = watch::channel(None);
    let telemetry = Arc::new(RoomTelemetry::new(config.tick_period()));
    let rooms = RoomManager::new(config.room_settings(telemetry.clone()), stop_rx.clone());
    let metrics = Arc::new(Metrics::new(
        config.stats.clone(),
        telemetry,
        rooms.clone(),
        config.tick_period(),
    ));
    let scheme = if config.tls.is_some() { "wss" } else { "ws" };
    let default_url = format!(
        "{scheme}://{}{}",
        listener.local_addr()?,
        snapwire_shared::protocol::PLAY_PATH
    );
    let cluster = Cluster::new(config.cluster.clone(), default_url, config.max_connections)
        .map_err(std::io::Error::other)?;
    info!(process = %cluster.id(), url = %cluster.public_url(), mode = %config.cluster.mode, redis = config.cluster.redis_url.is_some(), "cluster");
    let shared = Arc::new(Shared {
        config,
        rooms,
        shutdown: stop_rx,
        drain: drain_rx,
        shards: Shards::default(),
        metrics,
        cluster,
    });
    // Renews the registration (with Redis); leaves the registry on drain.
    let registry = tokio::spawn(crate::cluster::maintain(shared.clone()));
    // Dropped (and so stopped) when `run` returns.
    let _admin =
        admin.map(|admin| AbortOnDrop(tokio::spawn(crate::admin::serve(admin, shared.clone()))));
    // Every open connection holds a clone (in its `Guards`); when all are
    // dropped, `recv` returns None and shutdown knows every connection has
    // finished.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    info!(addr = %listener.local_addr()?, config = ?shared.config, "listening");
    if shared.config.tls.is_none() {
        info!("serving plain ws:// (no TLS); use --tls-cert and --tls-key for wss://");
    }
    if shared.config.auth.is_none() {
        warn!("no auth secret: anyone may join; use --auth-secret-file for signed join tokens");
    }
    let caps = ConnectionCaps::new(
        shared.config.max_connections,
        shared.config.max_connections_per_ip,
    );
    // Refusals are answered concurrently but not without bound: beyond this
    // many in flight, an over-cap connection is just closed.
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let mut summary = tokio::time::interval(SUMMARY_EVERY);
    summary.tick().await;
    let mut last_summary = Vec::new();
    let drain = loop {
        tokio::select! {
            request = control.recv() => break request == Some(Shutdown::Drain),
            _ = summary.tick() => {
                let stats = &shared.config.stats;
                let violations = stats.violation_counts();
                let open = stats.open.load(Ordering::Relaxed);
                if violations != last_summary || open > 0 {
                    info!(
                        open,
                        joined = stats.joined.load(Ordering::Relaxed),
                        resumed = stats.resumed.load(Ordering::Relaxed),
                        inputs_dropped = stats.inputs_dropped.load(Ordering::Relaxed),
                        ?violations,
                        "summary"
                    );
                    last_summary = violations;
                }
            }
            accepted = listener.accept() => match accepted {
                // The slot is taken here, before any upgrade work.
                Ok((stream, peer)) => match caps.admit(peer.ip()) {
                    Ok(admission) => {
                        let guards = Guards::new(shared.clone(), admission, alive_tx.clone());
                        tokio::spawn(connection::serve(stream, peer, guards));
                    }
                    Err(refusal) => {
                        let kind = match refusal {
                            Refusal::Full => Violation::ServerFull,
                            Refusal::PerAddress => Violation::TooManyFromAddress,
                        };
                        shared.config.stats.violation(kind, peer, "connection refused with 503");
                        if let Ok(permit) = refusals.clone().try_acquire_owned() {
                            let tls = shared.config.tls.clone();
                            tokio::spawn(async move {
                                let _ = tokio::time::timeout(REFUSAL_TIMEOUT, refuse(stream, refusal, tls)).await;
                                drop(permit);
                            });
                        }
                    }
                },
                Err(error) => {
                    // Typically out of file descriptors: back off instead of
                    // spinning, and keep serving the connections we have.
                    warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    };
    drop(listener);
    drop(alive_tx);
    let drain_timeout = shared.config.drain_timeout;
    if drain && !drain_timeout.is_zero() {
        let deadline = Instant::now() + drain_timeout;
        drain_tx.send_replace(Some(deadline));
        info!(
            ?drain_timeout,
            open = shared.config.stats.open.load(Ordering::Relaxed),
            "draining: no new players; clients told; the game runs on"
        );
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = control.recv() => info!("second shutdown request: closing now"),
            _ = alive_rx.recv() => info!("every client has left"),
        }
    }
    info!("shutting down: closing connections");
    stop_tx.send_replace(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, alive_rx.recv())
        .await
        .is_err()
    {
        warn!("some connections did not close in time");
    }
    // The registry has been left when the drain began; wait for it.
    let _ = tokio::time::timeout(Duration::from_secs(1), registry).await;
    info!("stopped");
    Ok(())
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A server running in the background of the current tokio runtime: for
/// embedding snapwire in a larger program, and for tests.
#[derive(Debug)]
pub struct ServerHandle {
    /// Where it listens.
    addr: std::net::SocketAddr,
    /// Where its admin endpoints are, if it serves them.
    admin: Option<std::net::SocketAddr>,
    /// Asks for the shutdown.
    control: mpsc::Sender<Shutdown>,
    /// The running server.
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl ServerHandle {
    /// Binds `addr` (for example `127.0.0.1:0` for an ephemeral port) and
    /// starts serving in a spawned task.
    pub async fn start(
        addr: impl tokio::net::ToSocketAddrs,
        config: Config,
    ) -> std::io::Result<Self> {
        Self::start_with_admin(addr, None::<std::net::SocketAddr>, config).await
    }

    /// [`ServerHandle::start`], also serving the admin endpoints on
    /// `admin` (for example `127.0.0.1:0`) when given.
    pub async fn start_with_admin(
        addr: impl tokio::net::ToSocketAddrs,
        admin: Option<impl tokio::net::ToSocketAddrs>,
        config: Config,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let admin = match admin {
            Some(a) => Some(TcpListener::bind(a).await?),
            None => None,
        };
        let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;
        let (control, requests) = mpsc::channel(4);
        let task = tokio::spawn(run_with_admin(listener, admin, config, requests));
        Ok(ServerHandle {
            addr,
            admin: admin_addr,
            control,
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The admin listener's address, if it has one.
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        self.admin
    }

    /// The game endpoint, `ws://ADDR/play` (the scheme is `wss` with TLS
    /// configured: use [`ServerHandle::url_with_scheme`]).
    pub fn url(&self) -> String {
        self.url_with_scheme("ws")
    }

    /// The game endpoint with the given scheme, for example
    /// `wss://localhost:PORT/play` with `"wss"`: TLS clients must name a
    /// host the certificate is for, so this uses `localhost` for loopback.
    pub fn url_with_scheme(&self, scheme: &str) -> String {
        let host = if self.addr.ip().is_loopback() && scheme == "wss" {
            format!("localhost:{}", self.addr.port())
        } else {
            self.addr.to_string()
        };
        format!("{scheme}://{host}{}", snapwire_shared::protocol::PLAY_PATH)
    }

    /// Asks for a shutdown without waiting for it: a second request during
    /// a drain ends it early.
    pub async fn request(&self, how: Shutdown) {
        let _ = self.control.send(how).await;
    }

    /// Shuts down (close 1001 to everyone) and waits for the server to end.
    pub async fn stop(self) -> std::io::Result<()> {
        self.request(Shutdown::Now).await;
        self.finished().await
    }

    /// Waits for the server to end (after a [`ServerHandle::request`]).
    pub async fn finished(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}
