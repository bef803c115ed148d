//! Ping and Pong: round trips and the server's tick for clock sync.

mod common;

use common::{TestServer, config, join, next_snapshot, within};
use snapwire_shared::{ClientMsg, ServerMsg};

#[tokio::test]
async fn a_ping_is_answered_with_its_time_and_the_current_tick() {
    let server = TestServer::start(config()).await;
    let (mut client, _) = join(&server, "pinger").await;
    let seen = next_snapshot(&mut client).await.tick;
    client
        .send(&ClientMsg::Ping {
            client_time: 0xdead_beef,
        })
        .await
        .unwrap();
    let pong = loop {
        match within(client.recv()).await.unwrap() {
            ServerMsg::Pong {
                client_time,
                server_tick,
            } => break (client_time, server_tick),
            _ => continue,
        }
    };
    assert_eq!(
        pong.0, 0xdead_beef,
        "the client's time comes back untouched"
    );
    assert!(
        !seen.is_newer_than(pong.1),
        "the pong's tick is at least the last snapshot's"
    );
    server.stop().await;
}
