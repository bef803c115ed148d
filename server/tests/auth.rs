//! Signed join tokens: with a secret, Hello must carry a valid HS256 JWT,
//! which decides the player's id, name and room; anything else is closed
//! with 1008 `invalid token`, whatever the reason.

mod common;

use common::{TestServer, config, expect_close, next_snapshot, snapshot_with_event, within};
use snapwire_bot::GameClient;
use snapwire_bot::client::{ClientOptions, Join};
use snapwire_server::Config;
use snapwire_server::auth::JoinAuth;
use snapwire_server::stats::Violation;
use snapwire_shared::auth::{JoinClaims, mint};
use snapwire_shared::protocol::{PROTOCOL_VERSION, close};
use snapwire_shared::{ClientMsg, PlayerId, RoomId, ServerEvent};
use std::sync::Arc;
use std::time::Duration;

const SECRET: &[u8] = b"test-secret-test-secret-test-secret";

fn authed() -> Config {
    Config {
        view_radius: 0.0,
        auth: Some(Arc::new(JoinAuth::new(SECRET))),
        ..config()
    }
}

fn token(player: u32, name: &str, room: Option<u32>) -> String {
    let claims = JoinClaims::new(
        PlayerId(player),
        name,
        Duration::from_secs(60),
        room.map(RoomId),
    );
    mint(SECRET, &claims).expect("minting a token")
}

async fn hello(server: &TestServer, auth_token: Option<String>) -> (u16, String) {
    let mut client = within(GameClient::connect(&server.url()))
        .await
        .expect("connect");
    client
        .send(&ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            name: "hopeful".into(),
            resume_token: None,
            auth_token,
        })
        .await
        .expect("send Hello");
    expect_close(&mut client).await
}

async fn join_with_token(
    server: &TestServer,
    token: String,
) -> (GameClient, snapwire_shared::Welcome) {
    let join = Join {
        name: "what the client says".into(),
        resume_token: None,
        auth_token: Some(token),
    };
    within(GameClient::join_with(
        &server.url(),
        &ClientOptions::default(),
        join,
    ))
    .await
    .expect("a valid token joins")
}

#[tokio::test]
async fn a_valid_token_decides_who_the_player_is_and_where() {
    let server = TestServer::start(authed()).await;
    let (mut alice, welcome) = join_with_token(&server, token(77, "alice", None)).await;
    assert_eq!(
        welcome.player,
        PlayerId(77),
        "the player id comes from the token"
    );
    let me = ServerEvent::PlayerJoined {
        player: PlayerId(77),
        entity: welcome.entity,
        name: "alice".into(),
    };
    snapshot_with_event(&mut alice, |e| *e == me).await;
    // A token naming a room puts the player there.
    let (mut bob, in_room) = join_with_token(&server, token(78, "bob", Some(42))).await;
    assert_eq!(in_room.room, RoomId(42));
    next_snapshot(&mut bob).await;
    server.stop().await;
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_are_refused_alike() {
    let server = TestServer::start(authed()).await;
    let expected = (
        close::POLICY_VIOLATION,
        close::REASON_INVALID_TOKEN.to_owned(),
    );
    assert_eq!(hello(&server, None).await, expected, "missing");
    let forged = mint(
        b"not-the-secret-not-the-secret-not",
        &JoinClaims::new(PlayerId(5), "eve", Duration::from_secs(60), None),
    )
    .expect("minting");
    assert_eq!(hello(&server, Some(forged)).await, expected, "badly signed");
    let expired = JoinClaims {
        exp: 1_000_000_000, // 2001
        ..JoinClaims::new(PlayerId(5), "late", Duration::ZERO, None)
    };
    let expired = mint(SECRET, &expired).expect("minting");
    assert_eq!(hello(&server, Some(expired)).await, expected, "expired");
    assert_eq!(
        hello(&server, Some("garbage".into())).await,
        expected,
        "not a JWT"
    );
    let stats = server.stats();
    assert_eq!(stats.violations(Violation::BadToken), 4);
    server.stop().await;
}

#[tokio::test]
async fn the_same_player_logging_in_again_takes_over_its_entity() {
    let server = TestServer::start(authed()).await;
    let (mut first, w1) = join_with_token(&server, token(9, "nine", None)).await;
    next_snapshot(&mut first).await;
    let (mut second, w2) = join_with_token(&server, token(9, "nine", None)).await;
    assert_eq!(
        (w2.player, w2.entity),
        (w1.player, w1.entity),
        "no second entity"
    );
    assert_eq!(
        expect_close(&mut first).await,
        (close::SESSION_REPLACED, close::REASON_REPLACED.to_owned())
    );
    let snap = next_snapshot(&mut second).await;
    assert_eq!(
        snap.delta.spawned.len(),
        1,
        "one entity in the room: {:?}",
        snap.delta.spawned
    );
    server.stop().await;
}
