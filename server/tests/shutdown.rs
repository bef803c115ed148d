//! Shutdown closes every connection with 1001 and returns promptly.

mod common;

use common::{TestServer, config, expect_close, join, next_snapshot};
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
