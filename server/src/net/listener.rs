//! The accept loop and orderly shutdown.

use super::limits::{ConnectionCaps, Refusal};
use super::{connection, handshake};
use crate::config::Config;
use crate::room::RoomManager;
use crate::stats::Violation;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::sync::{mpsc, watch};
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
async fn refuse(stream: TcpStream, refusal: Refusal) {
    let upgrade = match refusal {
        Refusal::Full => tokio_tungstenite::accept_hdr_async(stream, handshake::refuse_full).await,
        Refusal::PerAddress => {
            tokio_tungstenite::accept_hdr_async(stream, handshake::refuse_per_address).await
        }
    };
    drop(upgrade);
}

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) rooms: Arc<RoomManager>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// Serves the game on `listener` until `shutdown` completes, then closes
/// every connection with 1001 and returns within about two seconds.
///
/// The binary calls this with a signal future; tests call it with a
/// listener on `127.0.0.1:0` and a channel.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let rooms = RoomManager::new(config.room_settings(), stop_rx.clone());
    let shared = Arc::new(Shared {
        config,
        rooms,
        shutdown: stop_rx,
    });
    // Every connection task holds a clone; when all are dropped, `recv`
    // returns None and shutdown knows every connection has finished.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    info!(addr = %listener.local_addr()?, config = ?shared.config, "listening");
    let caps = ConnectionCaps::new(
        shared.config.max_connections,
        shared.config.max_connections_per_ip,
    );
    // Refusals are answered concurrently but not without bound: beyond this
    // many in flight, an over-cap connection is just closed.
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    tokio::pin!(shutdown);
    let mut summary = tokio::time::interval(SUMMARY_EVERY);
    summary.tick().await;
    let mut last_summary = Vec::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = summary.tick() => {
                let stats = &shared.config.stats;
                let violations = stats.violation_counts();
                let open = stats.open.load(Ordering::Relaxed);
                if violations != last_summary || open > 0 {
                    info!(
                        open,
                        joined = stats.joined.load(Ordering::Relaxed),
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
                        let shared = shared.clone();
                        let alive = alive_tx.clone();
                        tokio::spawn(async move {
                            connection::serve(stream, peer, shared, admission).await;
                            drop(alive);
                        });
                    }
                    Err(refusal) => {
                        let kind = match refusal {
                            Refusal::Full => Violation::ServerFull,
                            Refusal::PerAddress => Violation::TooManyFromAddress,
                        };
                        shared.config.stats.violation(kind, peer, "connection refused with 503");
                        if let Ok(permit) = refusals.clone().try_acquire_owned() {
                            tokio::spawn(async move {
                                let _ = tokio::time::timeout(REFUSAL_TIMEOUT, refuse(stream, refusal)).await;
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
    }
    drop(listener);
    info!("shutting down: closing connections");
    stop_tx.send_replace(true);
    drop(alive_tx);
    if tokio::time::timeout(SHUTDOWN_GRACE, alive_rx.recv())
        .await
        .is_err()
    {
        warn!("some connections did not close in time");
    }
    info!("stopped");
    Ok(())
}

/// A server running in the background of the current tokio runtime: for
/// embedding snapwire in a larger program, and for tests.
#[derive(Debug)]
pub struct ServerHandle {
    /// Where it listens.
    addr: std::net::SocketAddr,
    /// Fires the shutdown.
    stop: tokio::sync::oneshot::Sender<()>,
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
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, config, async {
            let _ = stopped.await;
        }));
        Ok(ServerHandle { addr, stop, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The game endpoint, `ws://ADDR/play`.
    pub fn url(&self) -> String {
        format!("ws://{}{}", self.addr, snapwire_shared::protocol::PLAY_PATH)
    }

    /// Shuts down (close 1001 to everyone) and waits for the server to end.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task.await.map_err(std::io::Error::other)?
    }
}
