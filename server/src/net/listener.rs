//! The accept loop and orderly shutdown.

use super::connection;
use crate::config::Config;
use crate::room::RoomManager;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

/// How long connections get to say goodbye (close 1001) on shutdown; with
/// the rest of the shutdown this keeps the exit well inside two seconds.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

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
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let shared = shared.clone();
                    let alive = alive_tx.clone();
                    tokio::spawn(async move {
                        connection::serve(stream, peer, shared).await;
                        drop(alive);
                    });
                }
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
