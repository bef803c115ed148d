//! A valid signed join token admits the player, and decides its id, name
//! and room; the same player logging in again takes over its entity.

mod common;

use common::tokens::{authed, join_with_token, token};
use common::{TestServer, expect_close, next_snapshot, snapshot_with_event};
use snapwire_shared::protocol::close;
use snapwire_shared::{PlayerId, RoomId, ServerEvent};

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

#[tokio::test]
async fn the_token_subcommand_mints_a_token_the_server_accepts() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapwire-server"))
        .args(["token", "--player", "31", "--name", "cli", "--ttl", "5m"])
        .env(
            "SNAPWIRE_AUTH_SECRET",
            std::str::from_utf8(common::tokens::SECRET).expect("an ASCII secret"),
        )
        .output()
        .expect("the server binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted = String::from_utf8(out.stdout).expect("a UTF-8 token");
    let server = TestServer::start(authed()).await;
    let (mut client, welcome) = join_with_token(&server, minted.trim().to_owned()).await;
    assert_eq!(welcome.player, PlayerId(31));
    next_snapshot(&mut client).await;
    server.stop().await;
}
