//! Every resource a client can spend is bounded; every violation gets its
//! close code (or HTTP status) and is counted; honest players are untouched.

mod common;

use common::{PATIENCE, TestServer, config, expect_close, join, next_snapshot, within};
use snapwire_bot::{ClientError, GameClient};
use snapwire_server::Config;
use snapwire_server::stats::Violation;
use snapwire_shared::protocol::close;
use snapwire_shared::{ClientMsg, InputCmd};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

#[tokio::test]
async fn a_fragmented_message_over_the_limit_is_closed_with_1009() {
    let server = TestServer::start(config()).await;
    let (mut c, _) = join(&server, "frag").await;
    next_snapshot(&mut c).await;
    // Three 2,000-byte fragments of one message: each frame is under the
    // 4,096-byte limit, the message is not.
    let ws = c.ws_mut();
    let first = Frame::message(vec![0u8; 2000], OpCode::Data(Data::Binary), false);
    ws_send(ws, Message::Frame(first)).await;
    for _ in 0..2 {
        let cont = Frame::message(vec![0u8; 2000], OpCode::Data(Data::Continue), false);
        ws_send(ws, Message::Frame(cont)).await;
    }
    assert_eq!(
        expect_close(&mut c).await,
        (close::MESSAGE_TOO_BIG, close::REASON_TOO_BIG.into())
    );
    server.stop().await;
}

async fn ws_send(ws: &mut snapwire_bot::client::Ws, msg: Message) {
    use futures_util::SinkExt;
    // The server may close while we are still sending; that is fine.
    let _ = ws.send(msg).await;
}

#[tokio::test]
async fn an_input_flood_is_closed_with_1008_and_counted() {
    let cfg = config();
    let stats = cfg.stats.clone();
    let server = TestServer::start(cfg).await;
    let (mut honest, _) = join(&server, "honest").await;
    let (mut flooder, _) = join(&server, "flooder").await;
    for seq in 1..=200 {
        let input = (InputCmd {
            seq,
            ..InputCmd::default()
        })
        .msg();
        if flooder.send(&input).await.is_err() {
            break;
        }
    }
    assert_eq!(
        expect_close(&mut flooder).await,
        (close::POLICY_VIOLATION, close::REASON_RATE_LIMIT.into())
    );
    assert_eq!(stats.violations(Violation::RateLimited), 1);
    // The honest player keeps getting snapshots.
    for _ in 0..10 {
        next_snapshot(&mut honest).await;
    }
    server.stop().await;
}

async fn http_refusal(url: &str) -> (u16, String) {
    match within(GameClient::connect(url)).await {
        Err(ClientError::Ws(WsError::Http(resp))) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            (resp.status().as_u16(), body)
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, got a connection"),
    }
}

#[tokio::test]
async fn over_the_connection_cap_a_new_connection_gets_503_and_players_stay() {
    let cfg = Config {
        max_connections: 2,
        ..config()
    };
    let stats = cfg.stats.clone();
    let server = TestServer::start(cfg).await;
    let (mut a, _) = join(&server, "a").await;
    let (mut b, _) = join(&server, "b").await;
    let (status, body) = http_refusal(&server.url()).await;
    assert_eq!(status, 503);
    assert!(body.contains("server full"), "{body}");
    assert_eq!(stats.violations(Violation::ServerFull), 1);
    for _ in 0..5 {
        next_snapshot(&mut a).await;
        next_snapshot(&mut b).await;
    }
    // A slot freed is a slot available.
    a.send(&ClientMsg::Leave).await.unwrap();
    expect_close(&mut a).await;
    let mut rejoined = None;
    for _ in 0..100 {
        // The slot returns when the server's connection task ends, which
        // follows the close handshake: poll on b's snapshots as a clock.
        if let Ok(ok) = within(GameClient::join(&server.url(), "c")).await {
            rejoined = Some(ok);
            break;
        }
        next_snapshot(&mut b).await;
    }
    assert!(rejoined.is_some(), "the freed slot should be reusable");
    server.stop().await;
}

#[tokio::test]
async fn over_the_per_address_cap_a_new_connection_gets_503() {
    let server = TestServer::start(Config {
        max_connections_per_ip: 1,
        ..config()
    })
    .await;
    let (mut a, _) = join(&server, "a").await;
    let (status, body) = http_refusal(&server.url()).await;
    assert_eq!(status, 503);
    assert!(body.contains("your address"), "{body}");
    next_snapshot(&mut a).await;
    server.stop().await;
}

#[tokio::test]
async fn a_slow_upgrade_is_dropped_at_the_handshake_timeout() {
    let cfg = Config {
        handshake_timeout: Duration::from_millis(300),
        ..config()
    };
    let stats = cfg.stats.clone();
    let server = TestServer::start(cfg).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /play HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap(); // and never finish
    let mut buf = [0u8; 64];
    let n = within(tcp.read(&mut buf)).await.unwrap_or(0);
    assert_eq!(n, 0, "the server closes the connection without answering");
    assert_eq!(stats.violations(Violation::HandshakeTimeout), 1);
    server.stop().await;
}

#[tokio::test]
async fn an_upgrade_without_hello_is_closed_with_1008() {
    let server = TestServer::start(Config {
        handshake_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut c = within(GameClient::connect(&server.url())).await.unwrap();
    assert_eq!(
        expect_close(&mut c).await,
        (close::POLICY_VIOLATION, close::REASON_HELLO_TIMEOUT.into())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_closed_with_1008_idle_timeout() {
    let server = TestServer::start(Config {
        idle_timeout: Duration::from_millis(500),
        ..config()
    })
    .await;
    let (mut c, _) = join(&server, "silent").await;
    // Read only; send nothing.
    assert_eq!(
        expect_close(&mut c).await,
        (close::POLICY_VIOLATION, close::REASON_IDLE.into())
    );
    server.stop().await;
}

#[tokio::test]
async fn clients_that_stop_reading_are_closed_and_released() {
    let cfg = Config {
        stall_timeout: Duration::from_millis(600),
        ..config()
    };
    let stats = cfg.stats.clone();
    let server = TestServer::start(cfg).await;
    // Join everyone at once (joins complete on the next tick), so that the
    // honest client is not left unread while the others join.
    let names: Vec<String> = (0..41).map(|i| format!("p{i}")).collect();
    let mut clients: Vec<GameClient> =
        futures_util::future::join_all(names.iter().map(|n| join(&server, n)))
            .await
            .into_iter()
            .map(|(c, _)| c)
            .collect();
    let mut honest = clients.pop().expect("41 clients joined");
    let mut stalled = clients;
    // The stalled clients read nothing from here on. The honest one keeps
    // reading (and sending, so it is not idle); its ticks are the clock.
    let mut seq = 0;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while stats.open.load(std::sync::atomic::Ordering::Relaxed) > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stalled clients were not closed"
        );
        next_snapshot(&mut honest).await;
        seq += 1;
        honest
            .send(
                &(InputCmd {
                    seq,
                    ..InputCmd::default()
                })
                .msg(),
            )
            .await
            .unwrap();
    }
    assert_eq!(stats.violations(Violation::Stalled), 40);
    // Their connections are over: reading ends in an error (the close frame
    // sits behind the snapshots they never read, and the client library
    // fails first, trying to send its overdue pong into a closed socket).
    for c in stalled.iter_mut().take(3) {
        let ended = loop {
            match within(c.recv()).await {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert!(!matches!(ended, ClientError::Decode(_)), "{ended}");
    }
    server.stop().await;
}
