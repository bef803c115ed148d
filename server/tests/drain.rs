//! Graceful drain: on a shutdown request the server stops accepting, tells
//! every client how long it has (`ServerDraining`), keeps the game running,
//! then closes everyone with 1001. A second request closes at once. The
//! binary does this on SIGTERM / SIGINT.

mod common;

use common::Snap;
use common::{
    ServerProcess, TestServer, config, expect_close, join, next_snapshot, snapshot_with_event,
    within,
};
use snapwire_bot::GameClient;
use snapwire_server::{Config, Shutdown};
use snapwire_shared::ServerEvent;
use snapwire_shared::protocol::close;
use std::time::{Duration, Instant};

fn draining(timeout: Duration) -> Config {
    Config {
        drain_timeout: timeout,
        ..config()
    }
}

fn is_drain(e: &ServerEvent) -> bool {
    matches!(e, ServerEvent::ServerDraining { .. })
}

fn closes_in_ms(snap: &Snap) -> u32 {
    snap.events
        .iter()
        .find_map(|e| match e {
            ServerEvent::ServerDraining { closes_in_ms } => Some(*closes_in_ms),
            _ => None,
        })
        .expect("a ServerDraining event")
}

#[tokio::test]
async fn clients_are_told_the_game_runs_on_then_1001() {
    let server = TestServer::start(draining(Duration::from_secs(1))).await;
    let (mut player, _) = join(&server, "stays").await;
    next_snapshot(&mut player).await;
    server.handle().request(Shutdown::Drain).await;
    let notice = snapshot_with_event(&mut player, is_drain).await;
    let left = closes_in_ms(&notice);
    assert!(left > 0 && left <= 1000, "closes in {left} ms");
    // No new players while draining: the listener is closed.
    assert!(within(GameClient::connect(&server.url())).await.is_err());
    // The game keeps running for those still in it.
    let mut last = notice.tick;
    for _ in 0..5 {
        let snap = next_snapshot(&mut player).await;
        assert!(snap.tick.is_newer_than(last));
        last = snap.tick;
    }
    assert_eq!(
        expect_close(&mut player).await,
        (close::GOING_AWAY, close::REASON_SHUTDOWN.to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_second_request_ends_the_drain_at_once() {
    // A drain far longer than the test's patience: only the second request
    // can end it in time.
    let server = TestServer::start(draining(Duration::from_secs(600))).await;
    let (mut player, _) = join(&server, "p").await;
    server.handle().request(Shutdown::Drain).await;
    let notice = snapshot_with_event(&mut player, is_drain).await;
    assert!(closes_in_ms(&notice) > 500_000);
    server.handle().request(Shutdown::Now).await;
    assert_eq!(expect_close(&mut player).await.0, close::GOING_AWAY);
    server.stop().await;
}

#[tokio::test]
async fn a_zero_drain_timeout_closes_at_once() {
    let server = TestServer::start(draining(Duration::ZERO)).await;
    let (mut player, _) = join(&server, "p").await;
    next_snapshot(&mut player).await;
    server.handle().request(Shutdown::Drain).await;
    // Straight to 1001: no ServerDraining on the way.
    loop {
        match within(player.recv()).await {
            Ok(snapwire_shared::ServerMsg::Snapshot(s)) => {
                let applied = player.apply(&s).expect("snapshots chain");
                assert!(!applied.events.iter().any(is_drain), "no drain announced");
            }
            Ok(_) => {}
            Err(snapwire_bot::ClientError::Closed { code, .. }) => {
                assert_eq!(code, close::GOING_AWAY);
                break;
            }
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
    server.stop().await;
}

/// The real binary: SIGTERM drains, a second SIGTERM closes at once, and
/// the process exits.
#[tokio::test]
async fn the_binary_drains_on_sigterm_and_closes_on_the_second() {
    let mut server = ServerProcess::spawn(&["--drain-timeout", "10m"]).await;
    let (mut player, _) = within(GameClient::join(&server.url, "p"))
        .await
        .expect("join");
    next_snapshot(&mut player).await;
    server.signal("-TERM");
    let notice = snapshot_with_event(&mut player, is_drain).await;
    assert!(closes_in_ms(&notice) > 60_000, "a 10 minute drain");
    let second = Instant::now();
    server.signal("-TERM");
    assert_eq!(expect_close(&mut player).await.0, close::GOING_AWAY);
    let status = server.exited().await;
    assert!(status.success(), "exit status {status}");
    // The bound the README promises after the close: about two seconds.
    assert!(
        second.elapsed() < Duration::from_secs(5),
        "{:?}",
        second.elapsed()
    );
}
