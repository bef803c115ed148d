//! The admin listener: `/metrics` parsed by the Prometheus project's own
//! Python parser, its counters checked against the traffic that made them;
//! `/rooms`, `/healthz` and `/readyz` (which turns 503 on SIGTERM, before
//! the drain ends).
//!
//! The parser is `prometheus_client` from PyPI, in the venv that
//! `scripts/test.sh` makes (`SNAPWIRE_TEST_PYTHON`).

mod common;

use common::{
    ServerProcess, TestServer, config, expect_close, http_get, join, next_snapshot,
    snapshot_with_event, within,
};
use futures_util::future::join_all;
use snapwire_bot::GameClient;
use snapwire_server::Config;
use snapwire_server::game::arena::walk;
use snapwire_server::game::{Game, GameSpec, World};
use snapwire_shared::protocol::close;
use snapwire_shared::{EntityId, InputCmd, NoMessages, NoState, PlayerId, ServerEvent, Walker};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Sample name -> every (labels, value) of it.
type Samples = HashMap<String, Vec<(HashMap<String, String>, f64)>>;

/// Every sample of a scrape, as the reference parser read it.
struct Scrape {
    /// Family name -> type.
    types: HashMap<String, String>,
    /// Sample name -> (labels, value).
    samples: Samples,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let python = std::env::var("SNAPWIRE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
types, samples = {}, {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    types[fam.name] = fam.type
    for s in fam.samples:
        samples.setdefault(s.name, []).append([s.labels, s.value])
json.dump({"types": types, "samples": samples}, sys.stdout)
"#;
        let mut child = Command::new(&python)
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{python} should run (scripts/test.sh sets SNAPWIRE_TEST_PYTHON): {e}")
            });
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write the scrape");
        let out = child.wait_with_output().expect("the parser runs");
        assert!(
            out.status.success(),
            "the Prometheus parser refused the scrape (or is not installed: run scripts/test.sh): {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        #[derive(serde::Deserialize)]
        struct Parsed {
            types: HashMap<String, String>,
            samples: Samples,
        }
        let parsed: Parsed = serde_json::from_slice(&out.stdout).expect("the parser's JSON");
        Scrape {
            types: parsed.types,
            samples: parsed.samples,
        }
    }

    /// The value of the sample `name` with (at least) `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .get(name)
            .and_then(|all| {
                all.iter().find(|(l, _)| {
                    labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
                })
            })
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
    }
}

async fn scrape(server: &TestServer) -> Scrape {
    let (status, body) = http_get(server.admin(), "/metrics").await;
    assert_eq!(status, 200);
    Scrape::parse(&body)
}

/// Reads `n` snapshots, answering each with an input; returns the inputs sent.
async fn play(client: &mut GameClient, n: u32, first_seq: u32) -> u32 {
    for i in 0..n {
        next_snapshot(client).await;
        let input = (InputCmd {
            seq: first_seq + i,
            move_x: 1.0,
            ..InputCmd::default()
        })
        .msg();
        client.send(&input).await.expect("send an input");
    }
    n
}

#[tokio::test]
async fn the_counters_move_as_the_traffic_says() {
    const PLAYERS: usize = 4;
    const SNAPSHOTS: u32 = 30;
    let server = TestServer::start_with_admin(Config {
        view_radius: 0.0,
        ..config()
    })
    .await;
    let mut clients = Vec::new();
    for i in 0..PLAYERS {
        let (mut c, _) = join(&server, &format!("m{i}")).await;
        next_snapshot(&mut c).await;
        clients.push(c);
    }
    // Every player is in and served: from here on, one snapshot each per tick.
    for c in &mut clients {
        next_snapshot(c).await;
    }
    let a = scrape(&server).await;
    let sent: u32 = join_all(clients.iter_mut().map(|c| play(c, SNAPSHOTS, 1)))
        .await
        .into_iter()
        .sum();
    // Two more ticks, so that the server has read the last inputs.
    for c in &mut clients {
        next_snapshot(c).await;
        next_snapshot(c).await;
    }
    let b = scrape(&server).await;

    for (family, kind) in [
        ("snapwire_ticks", "counter"),
        ("snapwire_snapshots_sent", "counter"),
        ("snapwire_players", "gauge"),
        ("snapwire_connections", "gauge"),
        ("snapwire_tick_duration_seconds", "histogram"),
        ("snapwire_snapshot_gap_seconds", "histogram"),
        ("snapwire_tick_to_send_seconds", "histogram"),
        ("snapwire_closes", "counter"),
        ("snapwire_violations", "counter"),
    ] {
        assert_eq!(
            b.types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let delta = |name: &str| b.get(name, &[]) - a.get(name, &[]);
    let players = PLAYERS as f64;
    let ticks = delta("snapwire_ticks_total");
    let snapshots = delta("snapwire_snapshots_sent_total");
    assert!(ticks >= f64::from(SNAPSHOTS), "{ticks} ticks");
    // One snapshot per player per tick; shards publish once per pass, so a
    // scrape may miss the newest pass of each player's shard.
    assert!(
        (snapshots - players * ticks).abs() <= 2.0 * players,
        "{snapshots} snapshots in {ticks} ticks to {PLAYERS} players"
    );
    assert!(delta("snapwire_sent_bytes_total") >= snapshots * 4.0);
    let received = delta("snapwire_messages_received_total");
    assert_eq!(received, f64::from(sent), "every input counted once");
    assert!(delta("snapwire_received_bytes_total") >= received * 4.0);
    assert_eq!(b.get("snapwire_players", &[]), players);
    assert_eq!(b.get("snapwire_rooms", &[]), 1.0);
    assert_eq!(
        b.get("snapwire_connections", &[("state", "playing")]),
        players
    );
    assert_eq!(b.get("snapwire_joins_total", &[]), players);
    // The tick histogram saw every tick; the cadence ones every snapshot
    // (the gap: all but each connection's first). A scrape reads a shard's
    // counters one after another, so a pass published in between may show
    // in one and not the next: at most one snapshot per player.
    let tick_count = b.get("snapwire_tick_duration_seconds_count", &[]);
    assert!((tick_count - b.get("snapwire_ticks_total", &[])).abs() <= 1.0);
    let total_snapshots = b.get("snapwire_snapshots_sent_total", &[]);
    let near = |value: f64, want: f64, what: &str| {
        assert!(
            (value - want).abs() <= players,
            "{what}: {value}, expected {want}"
        );
    };
    near(
        b.get("snapwire_tick_to_send_seconds_count", &[]),
        total_snapshots,
        "tick-to-send count",
    );
    let gaps = b.get("snapwire_snapshot_gap_seconds_count", &[]);
    near(gaps, total_snapshots - players, "gap count");
    // The buckets follow the tick period: at 30 Hz one period is 33.3 ms
    // and 1.2 periods, the edge of "held", is 40 ms; cumulative counts
    // never fall.
    let buckets: Vec<f64> = [
        "0.016667", "0.03", "0.033333", "0.036667", "0.04", "0.05", "+Inf",
    ]
    .iter()
    .map(|le| b.get("snapwire_snapshot_gap_seconds_bucket", &[("le", le)]))
    .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last().copied(), Some(gaps));

    // A hostile client: a text frame is closed with 1003 and counted.
    let (mut hostile, _) = join(&server, "hostile").await;
    hostile
        .send_raw(Message::Text("hi".into()))
        .await
        .expect("send a text frame");
    assert_eq!(expect_close(&mut hostile).await.0, close::UNSUPPORTED_DATA);
    let c = scrape(&server).await;
    assert_eq!(c.get("snapwire_closes_total", &[("code", "1003")]), 1.0);
    assert_eq!(
        c.get("snapwire_violations_total", &[("kind", "text_frame")]),
        1.0
    );
    assert_eq!(
        c.get("snapwire_violations_total", &[("kind", "rate_limited")]),
        0.0
    );

    // The room listing and the probes.
    let (status, rooms) = http_get(server.admin(), "/rooms").await;
    assert_eq!(status, 200);
    let rooms: serde_json::Value = serde_json::from_str(&rooms).expect("JSON");
    let rooms = rooms.as_array().expect("a list");
    assert_eq!(rooms.len(), 1, "{rooms:?}");
    assert_eq!(rooms[0]["players"], PLAYERS as u64);
    assert_eq!(rooms[0]["capacity"], 10_000);
    assert_eq!(rooms[0]["tick_rate"], 30);
    assert!(rooms[0]["tick"].as_u64().expect("a tick") >= u64::from(SNAPSHOTS));
    assert!(rooms[0]["age_s"].as_f64().expect("an age") > 0.0);
    assert!(rooms[0]["last_tick_ms"].as_f64().is_some());
    assert_eq!(http_get(server.admin(), "/healthz").await.0, 200);
    assert_eq!(http_get(server.admin(), "/readyz").await.0, 200);
    assert_eq!(http_get(server.admin(), "/nope").await.0, 404);
    server.stop().await;
}

/// The arena, with a step that panics from the 20th tick on: the room's
/// task dies.
struct DiesAtTick20(u32);

impl Game for DiesAtTick20 {
    type Entity = Walker;
    type State = NoState;
    type Input = InputCmd;
    type ClientMessage = NoMessages;
    type ServerMessage = NoMessages;
    const NAME: &'static str = "doomed";

    fn join(&mut self, world: &mut World<Self>, player: PlayerId, _: &str) -> EntityId {
        world.spawn_owned(player, Walker::default())
    }

    fn step(&mut self, world: &mut World<Self>, dt: f32) {
        self.0 += 1;
        assert!(
            self.0 < 20,
            "the game's rules broke (on purpose, in a test)"
        );
        walk(world, dt);
    }
}

#[tokio::test]
async fn healthz_turns_503_when_a_room_stops_ticking() {
    let server = TestServer::start_with_admin(Config {
        stalled_room_after: Duration::from_millis(300),
        game: Arc::new(GameSpec::new(|| DiesAtTick20(0)).unwrap()),
        ..config()
    })
    .await;
    let (mut player, _) = join(&server, "doomed").await;
    next_snapshot(&mut player).await;
    assert_eq!(http_get(server.admin(), "/healthz").await.0, 200);
    // The room dies at tick 20; its shard then closes the player.
    assert_eq!(expect_close(&mut player).await.0, close::GOING_AWAY);
    // Polled, not slept on: the stall shows once 300 ms have passed.
    let body = within(async {
        loop {
            let (status, body) = http_get(server.admin(), "/healthz").await;
            if status == 503 {
                return body;
            }
            assert_eq!(status, 200);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(body.contains("rooms not ticking: 1"), "{body}");
    // New players are not sent into the dead room: they get a new one.
    let (mut next, welcome) = join(&server, "next").await;
    assert_ne!(welcome.room, snapwire_shared::RoomId(1));
    next_snapshot(&mut next).await;
    server.stop().await;
}

#[tokio::test]
async fn readyz_turns_503_on_sigterm_before_the_drain_ends() {
    let mut server = ServerProcess::spawn(&["--drain-timeout", "1m"]).await;
    assert_eq!(
        http_get(server.admin, "/readyz").await,
        (200, "ready\n".into())
    );
    let (mut player, _) = within(GameClient::join(&server.url, "stays"))
        .await
        .expect("join");
    next_snapshot(&mut player).await;
    server.signal("-TERM");
    let draining = |e: &ServerEvent| matches!(e, ServerEvent::ServerDraining { .. });
    snapshot_with_event(&mut player, draining).await;
    assert_eq!(
        http_get(server.admin, "/readyz").await,
        (503, "draining\n".into())
    );
    // Still draining: the game runs on, and the process is alive.
    assert_eq!(http_get(server.admin, "/healthz").await.0, 200);
    next_snapshot(&mut player).await;
    server.signal("-TERM");
    assert_eq!(expect_close(&mut player).await.0, close::GOING_AWAY);
    assert!(server.exited().await.success());
}
