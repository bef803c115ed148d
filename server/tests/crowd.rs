//! A crowded room: every one of many clients in one room is served.
//!
//! A room's connections are served together, one pass per tick, by its
//! shard. This checks that nobody is left out of the pass (tokio's
//! cooperative budget once answered "not ready" to every socket past the
//! first few dozen of a pass, so those clients got nothing), that every
//! client's input reaches the room, and that every snapshot each client
//! gets chains onto the one before.

mod common;

use common::{TestServer, config, join, next_snapshot};
use snapwire_shared::InputCmd;

/// Well past a pass's budget of socket polls (a few per connection).
const CLIENTS: usize = 150;
/// Snapshots acknowledging its input each client must get.
const SNAPSHOTS: usize = 10;
/// Snapshots a client reads at most: 30 s of ticks.
const MAX_SNAPSHOTS: usize = 900;

#[tokio::test]
async fn every_client_in_a_crowded_room_is_served() {
    let server = TestServer::start(config()).await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let (client, welcome) = join(&server, &format!("c{i}")).await;
        assert_eq!(
            welcome.room,
            clients.first().map_or(welcome.room, |(_, r)| *r)
        );
        clients.push((client, welcome.room));
    }
    for (client, _) in &mut clients {
        let input = InputCmd {
            seq: 1,
            move_x: 1.0,
            move_y: 0.0,
            yaw: 0.0,
            buttons: 0,
        };
        client
            .send(&(input).msg())
            .await
            .expect("the input is sent");
    }
    for (i, (client, _)) in clients.iter_mut().enumerate() {
        // Snapshots queued while the others joined come first; the input
        // is acknowledged in those sent after it arrived.
        let (mut got, mut acked_in) = (0, 0);
        while acked_in < SNAPSHOTS {
            assert!(
                got < MAX_SNAPSHOTS,
                "client {i}: input not acknowledged in {got} snapshots"
            );
            // Applied to the client's mirror, which it must fit.
            let snap = next_snapshot(client).await;
            got += 1;
            if snap.ack_input_seq == 1 {
                acked_in += 1;
            }
        }
    }
    assert_eq!(server.stats().violation_counts(), Vec::new());
    server.stop().await;
}
