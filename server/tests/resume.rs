//! Reconnection with resume: a dropped player keeps its entity for the
//! grace, comes back with its session token to the same player and entity
//! (full snapshot first, new token), and a token is good exactly once.

mod common;

use common::{TestServer, config, expect_close, join, next_snapshot, snapshot_with_event, within};
use snapwire_bot::GameClient;
use snapwire_bot::client::{ClientOptions, Join};
use snapwire_server::Config;
use snapwire_shared::protocol::close;
use snapwire_shared::{ServerEvent, SessionToken, Tick, Welcome};
use std::time::Duration;

fn full_view(resume_grace: Duration) -> Config {
    Config {
        view_radius: 0.0,
        resume_grace,
        ..config()
    }
}

async fn resume(
    server: &TestServer,
    token: SessionToken,
) -> Result<(GameClient, Welcome), snapwire_bot::ClientError> {
    let join = Join {
        name: "ignored".into(),
        resume_token: Some(token),
        auth_token: None,
    };
    within(GameClient::join_with(
        &server.url(),
        &ClientOptions::default(),
        join,
    ))
    .await
}

/// Joins, sees one snapshot, and lets the connection drop without a close
/// frame, as on a network blip.
async fn join_and_drop(server: &TestServer, name: &str) -> Welcome {
    let (mut player, welcome) = join(server, name).await;
    next_snapshot(&mut player).await;
    drop(player);
    welcome
}

#[tokio::test]
async fn a_dropped_player_resumes_within_the_grace_with_the_same_entity() {
    let server = TestServer::start(full_view(Duration::from_secs(10))).await;
    let (mut watcher, _) = join(&server, "watcher").await;
    let first = join_and_drop(&server, "mobile").await;

    let dropped = ServerEvent::PlayerDropped {
        player: first.player,
    };
    let snap = snapshot_with_event(&mut watcher, |e| *e == dropped).await;
    assert!(
        !snap.delta.removed.contains(&first.entity),
        "the entity stays while the player may resume"
    );

    let (mut back, second) = resume(&server, first.session_token)
        .await
        .expect("resuming within the grace should succeed");
    assert_eq!(second.player, first.player, "same player");
    assert_eq!(second.entity, first.entity, "same entity");
    assert_ne!(second.session_token, first.session_token, "a new token");
    // The first snapshot after a resume is complete, and holds the entity.
    let full = next_snapshot(&mut back).await;
    assert_eq!(full.base_tick, Tick::NONE, "a full snapshot first");
    assert!(full.delta.spawned.iter().any(|e| e.id == first.entity));
    // Deltas resume after it.
    let next = next_snapshot(&mut back).await;
    assert_eq!(next.base_tick, full.tick);

    // The others learn that the player is back, and never that it left.
    let resumed = ServerEvent::PlayerResumed {
        player: first.player,
    };
    let left = ServerEvent::PlayerLeft {
        player: first.player,
    };
    let snap = snapshot_with_event(&mut watcher, |e| *e == resumed || *e == left).await;
    assert!(snap.events.contains(&resumed), "{:?}", snap.events);
    assert!(!snap.events.contains(&left));
    assert!(!snap.delta.removed.contains(&first.entity));
    server.stop().await;
}

#[tokio::test]
async fn a_session_token_is_spent_by_its_first_use() {
    let server = TestServer::start(full_view(Duration::from_secs(10))).await;
    let first = join_and_drop(&server, "p").await;
    let (mut back, _second) = resume(&server, first.session_token)
        .await
        .expect("the first resume succeeds");
    next_snapshot(&mut back).await;
    drop(back);
    // The old token again: refused, even though the player can be resumed.
    let mut again = within(GameClient::connect(&server.url()))
        .await
        .expect("connect");
    again
        .send(&snapwire_shared::ClientMsg::Hello {
            protocol_version: snapwire_shared::protocol::PROTOCOL_VERSION,
            name: String::new(),
            resume_token: Some(first.session_token),
            auth_token: None,
        })
        .await
        .expect("send Hello");
    assert_eq!(
        expect_close(&mut again).await,
        (
            close::POLICY_VIOLATION,
            close::REASON_INVALID_RESUME.to_owned()
        )
    );
    // A made-up token is refused the same way.
    let made_up = SessionToken([7; 16]);
    assert!(resume(&server, made_up).await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn after_the_grace_the_entity_is_removed_and_the_token_refused() {
    let grace = Duration::from_millis(500);
    let server = TestServer::start(full_view(grace)).await;
    let (mut watcher, _) = join(&server, "watcher").await;
    let first = join_and_drop(&server, "gone").await;
    let dropped = ServerEvent::PlayerDropped {
        player: first.player,
    };
    let at_drop = snapshot_with_event(&mut watcher, |e| *e == dropped).await;
    let left = ServerEvent::PlayerLeft {
        player: first.player,
    };
    let at_leave = snapshot_with_event(&mut watcher, |e| *e == left).await;
    assert!(at_leave.delta.removed.contains(&first.entity));
    // Counted in the room's own ticks: at least the grace went by.
    let ticks = at_leave.tick.0 - at_drop.tick.0;
    assert!(ticks + 1 >= 15, "removed after {ticks} ticks, grace is 15");

    let refused = resume(&server, first.session_token).await;
    match refused {
        Err(snapwire_bot::ClientError::Closed { code, reason }) => {
            assert_eq!(
                (code, reason.as_str()),
                (close::POLICY_VIOLATION, close::REASON_INVALID_RESUME)
            );
        }
        other => panic!("expected a 1008 close, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn resuming_a_live_session_replaces_its_old_connection() {
    let server = TestServer::start(full_view(Duration::from_secs(10))).await;
    let (mut old, first) = join(&server, "two-devices").await;
    next_snapshot(&mut old).await;
    // The server has not noticed any drop: the old connection is still up.
    let (mut new, second) = resume(&server, first.session_token)
        .await
        .expect("resuming a live session succeeds");
    assert_eq!(second.entity, first.entity);
    assert_eq!(
        expect_close(&mut old).await,
        (close::SESSION_REPLACED, close::REASON_REPLACED.to_owned())
    );
    // The new connection keeps playing.
    for _ in 0..5 {
        next_snapshot(&mut new).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn leave_is_final() {
    let server = TestServer::start(full_view(Duration::from_secs(10))).await;
    let (mut player, first) = join(&server, "quitter").await;
    next_snapshot(&mut player).await;
    player
        .send(&snapwire_shared::ClientMsg::Leave)
        .await
        .expect("send Leave");
    assert_eq!(expect_close(&mut player).await.0, close::NORMAL);
    assert!(
        resume(&server, first.session_token).await.is_err(),
        "a player who left cannot be resumed"
    );
    server.stop().await;
}
