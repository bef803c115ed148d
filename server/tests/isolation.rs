//! Hostile connections of every kind, all at once, beside 50 honest
//! players: the honest ones keep their full snapshot rate and are never
//! disconnected.

mod common;

use common::{TestServer, config, join, within};
use futures_util::future::join_all;
use snapwire_bot::GameClient;
use snapwire_server::Config;
use snapwire_shared::protocol::PROTOCOL_VERSION;
use snapwire_shared::{ClientMsg, InputCmd, ServerMsg, Tick};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

const HONEST: usize = 50;
/// Ticks each honest player plays through while the attack runs.
const TICKS: u32 = 90;

/// Plays `TICKS` ticks: one input per snapshot. Returns (snapshots received,
/// ticks spanned). Any disconnect fails the test.
async fn play_honestly(mut c: GameClient) -> (u32, u32) {
    let (mut received, mut first, mut last) = (0u32, Tick::NONE, Tick::NONE);
    let mut seq = 0;
    while last.since(first) < TICKS as i32 || !first.is_some() {
        match within(c.recv())
            .await
            .expect("an honest player is never disconnected")
        {
            ServerMsg::Snapshot(s) => {
                received += 1;
                if !first.is_some() {
                    first = s.tick;
                }
                last = s.tick;
                seq += 1;
                let input = InputCmd {
                    seq,
                    move_x: 0.5,
                    ..InputCmd::default()
                };
                c.send(&(input).msg())
                    .await
                    .expect("an honest player can always send");
            }
            _ => continue,
        }
    }
    (received, last.since(first) as u32 + 1)
}

/// One hostile connection of each kind, repeated until told to stop.
async fn attack(url: String, addr: std::net::SocketAddr, kind: usize) {
    loop {
        match kind {
            // Slowloris: half an upgrade request, then nothing.
            0 => {
                if let Ok(mut tcp) = TcpStream::connect(addr).await {
                    let _ = tcp.write_all(b"GET /play HTTP/1.1\r\n").await;
                    tokio::time::sleep(Duration::from_millis(400)).await;
                }
            }
            // Text frames, garbage, oversized messages, a wrong version.
            1..=4 => {
                if let Ok(mut c) = GameClient::connect(&url).await {
                    let msg = match kind {
                        1 => Message::text("hi"),
                        2 => Message::binary(vec![0xfe; 40]),
                        3 => Message::binary(vec![0; 10_000]),
                        _ => Message::binary(
                            snapwire_shared::codec::client_to_vec(&ClientMsg::Hello {
                                protocol_version: PROTOCOL_VERSION + 1,
                                name: "x".into(),
                                resume_token: None,
                                auth_token: None,
                            })
                            .unwrap(),
                        ),
                    };
                    let _ = c.send_raw(msg).await;
                    while c.recv().await.is_ok() {}
                }
            }
            // Input flood past the rate limit.
            5 => {
                if let Ok((mut c, _)) = GameClient::join(&url, "flood").await {
                    for seq in 0..500 {
                        if c.send(
                            &(InputCmd {
                                seq,
                                ..InputCmd::default()
                            })
                            .msg(),
                        )
                        .await
                        .is_err()
                        {
                            break;
                        }
                    }
                    while c.recv().await.is_ok() {}
                }
            }
            // Joins and never reads nor sends (stall and idle).
            _ => {
                if let Ok((c, _)) = GameClient::join(&url, "stall").await {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    drop(c);
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_players_are_untouched_by_hostile_ones() {
    let cfg = Config {
        handshake_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(800),
        stall_timeout: Duration::from_millis(800),
        max_connections_per_ip: 0,
        ..config()
    };
    let stats = cfg.stats.clone();
    let server = TestServer::start(cfg).await;
    let names: Vec<String> = (0..HONEST).map(|i| format!("honest{i}")).collect();
    let honest: Vec<GameClient> = join_all(names.iter().map(|n| join(&server, n)))
        .await
        .into_iter()
        .map(|(c, _)| c)
        .collect();

    let mut attackers = JoinSet::new();
    for kind in 0..7 {
        for _ in 0..3 {
            attackers.spawn(attack(server.url(), server.addr, kind));
        }
    }
    let mut players = JoinSet::new();
    for c in honest {
        players.spawn(play_honestly(c));
    }
    let mut worst = 1.0f64;
    while let Some(done) = players.join_next().await {
        let (received, spanned) = done.expect("an honest player's task should not panic");
        worst = worst.min(f64::from(received) / f64::from(spanned));
    }
    attackers.abort_all();
    // Latest wins: a snapshot is skipped only when the server's write to
    // that client had not finished by the next tick. The share of ticks
    // delivered is a rate measured in server ticks, not wall time.
    assert!(
        worst >= 0.9,
        "an honest player got only {:.0}% of the ticks",
        worst * 100.0
    );
    let seen: Vec<_> = stats.violation_counts();
    for kind in [
        "handshake_timeout",
        "text_frame",
        "undecodable",
        "oversized",
        "wrong_version",
        "rate_limited",
    ] {
        assert!(
            seen.iter().any(|(k, n)| *k == kind && *n > 0),
            "no {kind} violation was seen: {seen:?}"
        );
    }
    assert!(
        seen.iter()
            .any(|(k, n)| (*k == "stalled" || *k == "idle") && *n > 0),
        "silent, unread connections were closed: {seen:?}"
    );
    server.stop().await;
}
