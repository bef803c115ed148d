//! With `--view-radius 0` every client sees every entity, and clients on
//! the same baseline receive the same delta.

mod common;

use common::rules::{Scripted, config_with};
use common::{TestServer, join, within};
use snapwire_shared::{EntityId, InputCmd, ServerMsg, Tick, Walker};
use std::collections::HashMap;

#[tokio::test]
async fn full_view_clients_see_everything_and_share_deltas() {
    let (rules, truth) = Scripted::new(Vec::new());
    let server = TestServer::start(config_with(rules, 0.0)).await;
    let mut clients = Vec::new();
    for i in 0..4 {
        let (c, _) = join(&server, &format!("f{i}")).await;
        clients.push(c);
    }
    // (tick, base_tick) -> encoded size of the delta seen by the first client
    // on that baseline, and the delta itself.
    let mut deltas: HashMap<(Tick, Tick), Vec<u8>> = HashMap::new();
    let mut shared = 0;
    for round in 0..45u32 {
        for client in clients.iter_mut() {
            let snap = loop {
                match within(client.recv()).await.unwrap() {
                    ServerMsg::Snapshot(s) => break s,
                    _ => continue,
                }
            };
            client
                .apply(&snap)
                .expect("every snapshot chains onto the mirror");
            let world = truth.lock().unwrap().get(&snap.tick).cloned().unwrap();
            let mirror = client.view().unwrap();
            let mirrored: Vec<(EntityId, Walker)> = mirror
                .rows()
                .iter()
                .map(|r| (r.id, mirror.get::<Walker>(r.id).unwrap()))
                .collect();
            assert_eq!(mirrored, world, "a full-view mirror is the whole world");
            // The body is the delta (the events, after it, are the same
            // for everyone here: none after the joins).
            match deltas.get(&(snap.tick, snap.base_tick)) {
                Some(d) => {
                    assert_eq!(d, &snap.body, "same baseline, same delta");
                    shared += 1;
                }
                None => {
                    deltas.insert((snap.tick, snap.base_tick), snap.body.clone());
                }
            }
            let input = InputCmd {
                seq: round + 1,
                move_x: 1.0,
                move_y: 0.5,
                ..InputCmd::default()
            };
            client.send(&(input).msg()).await.unwrap();
        }
    }
    assert!(
        shared > 45,
        "most snapshots share a baseline with another client ({shared})"
    );
    server.stop().await;
}
