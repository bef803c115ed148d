//! Hello, Welcome, the first snapshot, and the protocol errors around them.

mod common;

use common::{TestServer, config, expect_close, join, next_snapshot, within};
use snapwire_bot::GameClient;
use snapwire_server::Config;
use snapwire_shared::protocol::{PROTOCOL_VERSION, close};
use snapwire_shared::{ClientMsg, InputCmd, Tick};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn hello_gets_a_welcome_and_a_complete_first_snapshot() {
    let server = TestServer::start(config()).await;
    let (mut client, welcome) = join(&server, "alice").await;
    assert_eq!(welcome.tick_rate, 30);
    assert_eq!(welcome.world.size, 1000.0);
    assert_eq!(welcome.world.view_radius, 300.0);
    assert_ne!(welcome.entity.0, 0, "entity ids start at 1");

    let first = next_snapshot(&mut client).await;
    assert_eq!(
        first.base_tick,
        Tick::NONE,
        "the first snapshot is complete"
    );
    assert!(first.tick.is_some());
    assert!(first.delta.removed.is_empty() && first.delta.updated.is_empty());
    assert!(
        first.delta.spawned.iter().any(|e| e.id == welcome.entity),
        "the client sees itself"
    );
    assert!(
        first.events.iter().any(|e| matches!(e,
            snapwire_shared::ServerEvent::PlayerJoined { player, name, .. }
                if *player == welcome.player && name == "alice")),
        "the client's own arrival is announced: {:?}",
        first.events
    );
    let second = next_snapshot(&mut client).await;
    assert_eq!(
        second.base_tick, first.tick,
        "each snapshot is a delta on the previous one"
    );
    server.stop().await;
}

fn hello(version: u16) -> ClientMsg {
    ClientMsg::Hello {
        protocol_version: version,
        name: "x".into(),
        resume_token: None,
        auth_token: None,
    }
}

#[tokio::test]
async fn a_wrong_protocol_version_is_closed_with_1002_naming_both_versions() {
    let server = TestServer::start(config()).await;
    let mut client = within(GameClient::connect(&server.url())).await.unwrap();
    client.send(&hello(PROTOCOL_VERSION + 41)).await.unwrap();
    let (code, reason) = expect_close(&mut client).await;
    assert_eq!(code, close::PROTOCOL_ERROR);
    assert!(
        reason.contains(&(PROTOCOL_VERSION + 41).to_string()),
        "{reason}"
    );
    assert!(reason.contains(&PROTOCOL_VERSION.to_string()), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn an_input_before_hello_is_closed_with_1002() {
    let server = TestServer::start(config()).await;
    let mut client = within(GameClient::connect(&server.url())).await.unwrap();
    client.send(&(InputCmd::default()).msg()).await.unwrap();
    assert_eq!(
        expect_close(&mut client).await,
        (close::PROTOCOL_ERROR, close::REASON_HELLO_FIRST.into())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_second_hello_is_closed_with_1002() {
    let server = TestServer::start(config()).await;
    let (mut client, _) = join(&server, "bob").await;
    client.send(&hello(PROTOCOL_VERSION)).await.unwrap();
    assert_eq!(
        expect_close(&mut client).await,
        (close::PROTOCOL_ERROR, close::REASON_DUPLICATE_HELLO.into())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_text_frame_is_closed_with_1003() {
    let server = TestServer::start(config()).await;
    let (mut client, _) = join(&server, "carol").await;
    client.send_raw(Message::text("hello?")).await.unwrap();
    assert_eq!(
        expect_close(&mut client).await,
        (close::UNSUPPORTED_DATA, close::REASON_BINARY_ONLY.into())
    );
    server.stop().await;
}

#[tokio::test]
async fn bytes_that_do_not_decode_are_closed_with_1007() {
    let server = TestServer::start(config()).await;
    let (mut client, _) = join(&server, "dave").await;
    client
        .send_raw(Message::binary(vec![0xff, 0xff, 0xff]))
        .await
        .unwrap();
    let (code, reason) = expect_close(&mut client).await;
    assert_eq!(code, close::INVALID_PAYLOAD);
    assert!(!reason.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn an_input_field_out_of_its_range_is_closed_with_1007() {
    let server = TestServer::start(config()).await;
    let (mut client, _) = join(&server, "erin").await;
    // move_x is declared in [-1, 1] at 1/1024 (quanta -1024..=1024); a
    // client that is not ours sends 2000 quanta (zigzag 4000: fb a0 0f).
    let bad = ClientMsg::Input(snapwire_shared::protocol::InputMsg {
        seq: 1,
        fields: vec![0xfb, 0xa0, 0x0f, 0, 0, 0],
    });
    client.send(&bad).await.unwrap();
    assert_eq!(
        expect_close(&mut client).await,
        (
            close::INVALID_PAYLOAD,
            "input field move_x out of range".into()
        )
    );
    server.stop().await;
}

#[tokio::test]
async fn a_name_that_is_too_long_is_closed_with_1007() {
    let server = TestServer::start(config()).await;
    let mut client = within(GameClient::connect(&server.url())).await.unwrap();
    let msg = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "n".repeat(33),
        resume_token: None,
        auth_token: None,
    };
    client.send(&msg).await.unwrap();
    assert_eq!(expect_close(&mut client).await.0, close::INVALID_PAYLOAD);
    server.stop().await;
}

#[tokio::test]
async fn a_big_roster_is_spread_over_several_snapshots() {
    let server = TestServer::start(Config {
        max_connections_per_ip: 0,
        ..config()
    })
    .await;
    // More than one snapshot carries (256 events).
    let names: Vec<String> = (0..300).map(|i| format!("p{i}")).collect();
    let _present = futures_util::future::join_all(names.iter().map(|n| join(&server, n))).await;
    let (mut late, lw) = join(&server, "late").await;
    let mut joined = std::collections::HashSet::new();
    let mut snapshots = 0;
    while !joined.contains(&lw.player) || joined.len() < 301 {
        let snap = next_snapshot(&mut late).await;
        assert!(
            snap.events.len() <= 256,
            "{} events on one snapshot",
            snap.events.len()
        );
        for e in snap.events {
            if let snapwire_shared::ServerEvent::PlayerJoined { player, .. } = e {
                assert!(joined.insert(player), "{player} announced twice");
            }
        }
        snapshots += 1;
        assert!(
            snapshots < 30,
            "the roster should arrive within a few snapshots"
        );
    }
    assert!(snapshots >= 2, "301 joins do not fit one snapshot");
    server.stop().await;
}
