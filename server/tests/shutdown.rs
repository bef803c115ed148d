//! Shutdown closes every connection with 1001 and returns promptly.

mod common;

use common::{ServerProcess, TestServer, config, expect_close, join, next_snapshot, raw};
use snapwire_shared::protocol::close;
use std::time::Duration;

#[tokio::test]
async fn shutdown_closes_everyone_with_1001() {
    let server = TestServer::start(config()).await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let (mut c, _) = join(&server, &format!("s{i}")).await;
        next_snapshot(&mut c).await;
        clients.push(c);
    }
    // Read the close frames concurrently with the shutdown.
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut c| tokio::spawn(async move { expect_close(&mut c).await }))
        .collect();
    let took = server.stop().await;
    for r in readers {
        let (code, reason) = r.await.expect("reader task should not panic");
        assert_eq!(code, close::GOING_AWAY);
        assert_eq!(reason, close::REASON_SHUTDOWN);
    }
    // The bound is the behaviour under test, not a performance figure: the
    // server gives connections 1.5 s to close, then returns regardless.
    assert!(took < Duration::from_secs(2), "run returned after {took:?}");
}

/// A connection that has finished the upgrade but not said Hello also gets
/// 1001 when the binary is stopped by SIGTERM, like every joined one.
#[tokio::test]
async fn sigterm_closes_a_connection_that_has_not_said_hello_with_1001() {
    let mut server =
        ServerProcess::spawn(&["--drain-timeout", "0s", "--handshake-timeout", "1m"]).await;
    let mut waiting = raw::upgrade(server.addr(), "/play").await;
    let (mut player, _) = join_url(&server.url).await;
    next_snapshot(&mut player).await;
    server.signal("-TERM");
    let closed = raw::read_close(&mut waiting).await;
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (close::GOING_AWAY, close::REASON_SHUTDOWN)
    );
    assert!(closed.clean_eof);
    assert_eq!(expect_close(&mut player).await.0, close::GOING_AWAY);
    let status = server.exited().await;
    assert!(status.success(), "exit status {status}");
}

async fn join_url(url: &str) -> (snapwire_bot::GameClient, snapwire_shared::Welcome) {
    common::within(snapwire_bot::GameClient::join(url, "joined"))
        .await
        .expect("join")
}
