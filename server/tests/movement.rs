//! Two players see each other move, and inputs are acknowledged.

mod common;

use common::rules::{Scripted, config_with};
use common::{TestServer, join, next_snapshot};
use glam::Vec2;
use snapwire_shared::InputCmd;

#[tokio::test]
async fn two_players_see_each_other_move() {
    let (rules, _) = Scripted::new(vec![Vec2::new(300.0, 500.0), Vec2::new(400.0, 500.0)]);
    let server = TestServer::start(config_with(rules, 300.0)).await;
    let (mut a, wa) = join(&server, "a").await;
    let (mut b, _wb) = join(&server, "b").await;

    // A walks right, one input per snapshot it receives.
    let mut seq = 0;
    let mut a_x_seen_by_b = Vec::new();
    let mut last_ack = 0;
    for _ in 0..30 {
        let snap = next_snapshot(&mut a).await;
        last_ack = snap.ack_input_seq;
        seq += 1;
        a.send(
            &(InputCmd {
                seq,
                move_x: 1.0,
                ..InputCmd::default()
            })
            .msg(),
        )
        .await
        .unwrap();
        let seen = next_snapshot(&mut b).await;
        for e in &seen.delta.spawned {
            if e.id == wa.entity {
                a_x_seen_by_b.push(e.walker.pos.x);
            }
        }
        for u in &seen.delta.updated {
            if u.id == wa.entity {
                assert!(!a_x_seen_by_b.is_empty(), "B saw A spawn before it moved");
                a_x_seen_by_b.push(u.walker.pos.x);
            }
        }
    }
    assert_eq!(
        a_x_seen_by_b.first(),
        Some(&300.0),
        "B first sees A where it spawned"
    );
    assert!(
        a_x_seen_by_b.windows(2).all(|w| w[1] >= w[0]),
        "A only moves right: {a_x_seen_by_b:?}"
    );
    let moved = a_x_seen_by_b.last().unwrap() - a_x_seen_by_b[0];
    assert!(
        moved > 50.0,
        "A walked for most of a second at 200 units/s but moved {moved}"
    );
    assert!(
        last_ack > 0 && last_ack <= seq,
        "A's inputs are acknowledged (ack {last_ack}, sent {seq})"
    );
    server.stop().await;
}
