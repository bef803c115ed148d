//! Reconnection with resume: a dropped player keeps its entity for the
//! grace and comes back with its session token to the same player and
//! entity (full snapshot first, new token); a resume can also take over a
//! connection that is still open; `Leave` is final. The grace running out
//! and a token used twice have their own files.

mod common;

use common::{
    TestServer, expect_close, full_view_with_grace, join, join_and_drop, next_snapshot, resume,
    snapshot_with_event,
};
use snapwire_shared::protocol::close;
use snapwire_shared::{ServerEvent, Tick};
use std::time::Duration;

#[tokio::test]
async fn a_dropped_player_resumes_within_the_grace_with_the_same_entity() {
    let server = TestServer::start(full_view_with_grace(Duration::from_secs(10))).await;
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
async fn resuming_a_live_session_replaces_its_old_connection() {
    let server = TestServer::start(full_view_with_grace(Duration::from_secs(10))).await;
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
    let server = TestServer::start(full_view_with_grace(Duration::from_secs(10))).await;
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
