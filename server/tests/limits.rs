//! Oversized messages are refused with 1009, announced in-band first.

mod common;

use common::{TestServer, config, expect_close, join, next_snapshot, within};
use snapwire_shared::ServerMsg;
use snapwire_shared::protocol::close;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn an_oversized_message_is_closed_with_1009_after_a_kick() {
    let server = TestServer::start(config()).await;
    let (mut client, _) = join(&server, "big").await;
    next_snapshot(&mut client).await;
    client
        .send_raw(Message::binary(vec![0u8; 4097]))
        .await
        .unwrap();
    let reason = loop {
        match within(client.recv())
            .await
            .expect("a Kicked message should come before the close")
        {
            ServerMsg::Kicked { reason } => break reason,
            _ => continue,
        }
    };
    assert_eq!(reason, close::REASON_TOO_BIG);
    assert_eq!(
        expect_close(&mut client).await,
        (close::MESSAGE_TOO_BIG, close::REASON_TOO_BIG.into())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_message_at_the_limit_is_not_refused_for_its_size() {
    let server = TestServer::start(config()).await;
    let (mut client, _) = join(&server, "edge").await;
    next_snapshot(&mut client).await;
    // 4096 bytes of zeros decode as a Hello with trailing bytes: refused as
    // a bad payload (1007), not for its size.
    client
        .send_raw(Message::binary(vec![0u8; 4096]))
        .await
        .unwrap();
    assert_eq!(expect_close(&mut client).await.0, close::INVALID_PAYLOAD);
    server.stop().await;
}
