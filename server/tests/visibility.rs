//! Walking out of view removes an entity; walking back in spawns it again.

mod common;

use common::rules::{Scripted, config_with};
use common::{TestServer, join, next_snapshot};
use glam::Vec2;
use snapwire_bot::GameClient;
use snapwire_shared::{EntityId, InputCmd};

/// Walks `walker` in direction `dir` (one input per snapshot) until the
/// watcher's snapshots report `target` as `spawned` (`want_spawn`) or
/// `removed`; returns how many ticks it took. Bounded at five seconds.
async fn walk_until(
    walker: &mut GameClient,
    watcher: &mut GameClient,
    target: EntityId,
    dir: f32,
    seq: &mut u32,
    want_spawn: bool,
) -> usize {
    for ticks in 1..=150 {
        next_snapshot(walker).await;
        *seq += 1;
        let input = InputCmd {
            seq: *seq,
            move_x: dir,
            ..InputCmd::default()
        };
        walker.send(&(input).msg()).await.unwrap();
        let seen = next_snapshot(watcher).await;
        let hit = if want_spawn {
            seen.delta.spawned.iter().any(|e| e.id == target)
        } else {
            seen.delta.removed.contains(&target)
        };
        if hit {
            return ticks;
        }
    }
    panic!(
        "{target} was never {}",
        if want_spawn { "spawned" } else { "removed" }
    );
}

#[tokio::test]
async fn walking_out_of_view_removes_and_walking_back_spawns() {
    // Radius 150: A at x=400 and B at x=500 start in view of each other.
    let (rules, _) = Scripted::new(vec![Vec2::new(400.0, 500.0), Vec2::new(500.0, 500.0)]);
    let server = TestServer::start(config_with(rules, 150.0)).await;
    let (mut a, wa) = join(&server, "walker").await;
    let (mut b, _) = join(&server, "watcher").await;
    let first = next_snapshot(&mut b).await;
    assert!(
        first.delta.spawned.iter().any(|e| e.id == wa.entity),
        "B starts seeing A"
    );

    let mut seq = 0;
    let out = walk_until(&mut a, &mut b, wa.entity, -1.0, &mut seq, false).await;
    // A must get past the exit radius (165) from 100 apart: 65+ units at
    // 6.7 a tick is 10+ ticks.
    assert!(out >= 9, "A left view after only {out} ticks");
    walk_until(&mut a, &mut b, wa.entity, 1.0, &mut seq, true).await;
    server.stop().await;
}
