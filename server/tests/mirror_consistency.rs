//! After many ticks of random walking, each client's mirror holds exactly
//! the server's state of what it can see.

mod common;

use common::rules::{Scripted, config_with};
use common::{TestServer, join, next_snapshot};
use rand::{Rng, SeedableRng};
use snapwire_shared::{EntityId, InputCmd, Walker};

const RADIUS: f32 = 200.0;
const EXIT: f32 = RADIUS * snapwire_server::view::EXIT_RADIUS_FACTOR;

#[tokio::test]
async fn mirrors_equal_the_server_world_for_the_visible_set() {
    let (rules, truth) = Scripted::new(Vec::new());
    let server = TestServer::start(config_with(rules, RADIUS)).await;
    let mut clients = Vec::new();
    for i in 0..6 {
        let (c, w) = join(&server, &format!("c{i}")).await;
        clients.push((c, w, 0u32));
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut checked = 0;
    for _ in 0..90 {
        for (client, welcome, seq) in clients.iter_mut() {
            // Applied to the client's own mirror, which it must fit.
            let snap = next_snapshot(client).await;
            let mirror = client.view().expect("joined");
            let mirrored: Vec<(EntityId, Walker)> = mirror
                .rows()
                .iter()
                .map(|r| (r.id, mirror.get::<Walker>(r.id).unwrap()))
                .collect();
            let world = truth
                .lock()
                .unwrap()
                .get(&snap.tick)
                .cloned()
                .expect("the server recorded this tick");
            let me = world
                .iter()
                .find(|e| e.0 == welcome.entity)
                .expect("the client's entity exists")
                .1;
            let dist = |e: &(EntityId, Walker)| e.1.pos.distance(me.pos);
            for e in &mirrored {
                let real = world
                    .iter()
                    .find(|w| w.0 == e.0)
                    .expect("mirrored entities exist on the server");
                assert_eq!(
                    e, real,
                    "mirrored state equals the server's at {}",
                    snap.tick
                );
                assert!(
                    dist(e) <= EXIT + 0.1,
                    "nothing beyond the exit radius is kept"
                );
            }
            for w in world.iter().filter(|w| dist(w) <= RADIUS) {
                assert!(
                    mirror.row(w.0).is_some(),
                    "{} in radius is mirrored at {}",
                    w.0,
                    snap.tick
                );
            }
            checked += 1;
            *seq += 1;
            let angle: f32 = rng.random_range(0.0..std::f32::consts::TAU);
            let input = InputCmd {
                seq: *seq,
                move_x: angle.cos(),
                move_y: angle.sin(),
                yaw: angle,
                buttons: 0,
            };
            client.send(&(input).msg()).await.unwrap();
        }
    }
    assert_eq!(checked, 6 * 90);
    server.stop().await;
}
