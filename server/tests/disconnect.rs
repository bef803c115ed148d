//! A player who leaves, or disconnects and does not resume, is removed for
//! everyone who saw them.

mod common;

use common::{TestServer, config, expect_close, join, next_snapshot, snapshot_with_event};
use snapwire_bot::GameClient;
use snapwire_server::Config;
use snapwire_shared::{ClientMsg, EntityId, PlayerId, ServerEvent};
use std::time::Duration;

/// Reads `watcher`'s snapshots until `entity` is removed, checking that the
/// same snapshot announces that `player` left.
async fn await_removal(watcher: &mut GameClient, entity: EntityId, player: PlayerId) {
    for _ in 0..150 {
        let snap = next_snapshot(watcher).await;
        if snap.delta.removed.contains(&entity) {
            assert!(
                snap.events.contains(&ServerEvent::PlayerLeft { player }),
                "the removal comes with a PlayerLeft event: {:?}",
                snap.events
            );
            return;
        }
    }
    panic!("{entity} was never removed");
}

fn full_view() -> Config {
    Config {
        view_radius: 0.0,
        // Dropped players wait this long to resume (see resume.rs).
        resume_grace: Duration::from_millis(300),
        ..config()
    }
}

#[tokio::test]
async fn a_dropped_connection_is_removed_for_everyone_after_the_resume_grace() {
    let server = TestServer::start(full_view()).await;
    let (mut watcher, _) = join(&server, "watcher").await;
    let (mut leaver, lw) = join(&server, "dropper").await;
    // Make sure the watcher has seen the leaver before it goes.
    loop {
        let snap = next_snapshot(&mut watcher).await;
        if snap.delta.spawned.iter().any(|e| e.id == lw.entity) {
            break;
        }
    }
    next_snapshot(&mut leaver).await;
    drop(leaver); // no close frame: the TCP connection just ends
    let dropped = ServerEvent::PlayerDropped { player: lw.player };
    snapshot_with_event(&mut watcher, |e| *e == dropped).await;
    await_removal(&mut watcher, lw.entity, lw.player).await;
    server.stop().await;
}

#[tokio::test]
async fn leave_removes_the_player_and_closes_normally() {
    let server = TestServer::start(full_view()).await;
    let (mut watcher, _) = join(&server, "watcher").await;
    let (mut leaver, lw) = join(&server, "leaver").await;
    next_snapshot(&mut leaver).await;
    leaver.send(&ClientMsg::Leave).await.unwrap();
    assert_eq!(expect_close(&mut leaver).await.0, 1000);
    await_removal(&mut watcher, lw.entity, lw.player).await;
    server.stop().await;
}
