//! Thousands of malformed messages through real sockets: the server answers
//! each bad connection with a close, never panics, and keeps serving.

mod common;

use common::{TestServer, config, join, next_snapshot, within};
use futures_util::future::join_all;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_bot::GameClient;
use snapwire_server::Config;
use snapwire_shared::codec::client_to_vec;
use snapwire_shared::protocol::PROTOCOL_VERSION;
use snapwire_shared::{ClientMsg, InputCmd, SessionToken};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_tungstenite::tungstenite::Message;

/// Connections, each sending up to `PER_CONNECTION` messages.
const CONNECTIONS: usize = 1000;
const PER_CONNECTION: usize = 10;

fn valid_messages() -> Vec<Vec<u8>> {
    [
        ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            name: "garbage".into(),
            resume_token: None,
            auth_token: None,
        },
        ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            name: "🦀".repeat(8),
            resume_token: Some(SessionToken([0xaa; 16])),
            auth_token: None,
        },
        (InputCmd {
            seq: 7,
            move_x: 0.3,
            move_y: -0.2,
            yaw: 1.0,
            buttons: 3,
        })
        .msg(),
        ClientMsg::Ping {
            client_time: u64::MAX,
        },
        ClientMsg::Leave,
    ]
    .iter()
    .map(|m| client_to_vec(m).expect("valid messages encode"))
    .collect()
}

/// A random bad message: noise, a mutated valid one, a truncated one, a
/// huge length prefix or a maximal varint.
fn bad_message(rng: &mut SmallRng, valid: &[Vec<u8>]) -> Vec<u8> {
    let base = &valid[rng.random_range(0..valid.len())];
    match rng.random_range(0..5) {
        0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
        1 => {
            let mut m = base.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..m.len());
                m[i] ^= 1 << rng.random_range(0..8);
            }
            m
        }
        2 => base[..rng.random_range(0..base.len())].to_vec(),
        3 => {
            // Hello whose name claims 2^64-1 bytes.
            let mut m = vec![0, 1, 253];
            m.extend_from_slice(&u64::MAX.to_le_bytes());
            m
        }
        _ => {
            let mut m = base.clone();
            let i = rng.random_range(0..m.len());
            m.splice(i..i, [254u8].into_iter().chain([0xff; 16]));
            m
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traffic_never_panics_the_server() {
    let panics = Arc::new(AtomicU64::new(0));
    let counter = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        default_hook(info);
    }));

    let cfg = Config {
        max_connections_per_ip: 0,
        ..config()
    };
    let stats = cfg.stats.clone();
    let server = TestServer::start(cfg).await;
    let (mut honest, _) = join(&server, "honest").await;
    let valid = valid_messages();
    let sent = Arc::new(AtomicU64::new(0));
    for batch in 0..(CONNECTIONS / 20) {
        let attempts = (0..20).map(|i| {
            let url = server.url();
            let valid = valid.clone();
            let sent = sent.clone();
            async move {
                let mut rng = SmallRng::seed_from_u64((batch * 20 + i) as u64);
                let Ok(mut c) = GameClient::connect(&url).await else {
                    return;
                };
                // Half the connections say a proper Hello first, so that
                // the bad bytes also reach the in-game decoder.
                if rng.random_bool(0.5)
                    && c.send_raw(Message::binary(valid[0].clone())).await.is_err()
                {
                    return;
                }
                for _ in 0..PER_CONNECTION {
                    let bytes = bad_message(&mut rng, &valid);
                    if c.send_raw(Message::binary(bytes)).await.is_err() {
                        break;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                // Read to the end: the server closes (or we time out the
                // test, which would be a failure).
                while within(c.recv()).await.is_ok() {}
            }
        });
        join_all(attempts).await;
        // Keep the honest player reading meanwhile.
        next_snapshot(&mut honest).await;
    }
    let sent = sent.load(Ordering::Relaxed);
    eprintln!("{sent} malformed messages sent on {CONNECTIONS} connections");
    assert!(sent >= 2_000, "only {sent} messages were sent");
    // The server is still up and serving.
    let (mut late, _) = join(&server, "late").await;
    next_snapshot(&mut late).await;
    for _ in 0..5 {
        next_snapshot(&mut honest).await;
    }
    assert_eq!(panics.load(Ordering::Relaxed), 0, "something panicked");
    let bad = stats.violation_counts();
    assert!(bad.iter().any(|(k, _)| *k == "undecodable"), "{bad:?}");
    server.stop().await;
}
