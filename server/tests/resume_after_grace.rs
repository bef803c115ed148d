//! After the resume grace a dropped player's entity is removed for
//! everyone (`PlayerLeft`), and its session token is refused with 1008.

mod common;

use common::{TestServer, full_view_with_grace, join, join_and_drop, resume, snapshot_with_event};
use snapwire_shared::ServerEvent;
use snapwire_shared::protocol::close;
use std::time::Duration;

#[tokio::test]
async fn after_the_grace_the_entity_is_removed_and_the_token_refused() {
    let grace = Duration::from_millis(500);
    let server = TestServer::start(full_view_with_grace(grace)).await;
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
