//! Scale-out: three server processes sharing a real `redis-server`
//! (started here on a free loopback port, persistence off, stopped at the
//! end), matchmaking through one of them, and the failures the registry
//! must survive: a killed process, a frozen one, a restarted Redis.
//!
//! `redis-server` comes from Debian's `redis-server` package (`.ci/run`
//! installs it); `SNAPWIRE_TEST_REDIS_SERVER` may name another binary.
//! The tests run one at a time (each starts four processes and bots on a
//! 2-core machine).

mod common;

use common::matchmaking::{self, join, place};
use common::{ServerProcess, expect_close, http_get, next_snapshot, within};
use redis::AsyncCommands;
use snapwire_bot::{SwarmConfig, run_swarm};
use snapwire_shared::protocol::close;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// The lease the processes run with here, and their renewal interval.
const LEASE: Duration = Duration::from_secs(2);
const RENEW: &str = "500ms";

/// A `redis-server` of this test's own.
struct Redis {
    child: tokio::process::Child,
    port: u16,
}

impl Redis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port).await
    }

    async fn start_on(port: u16) -> Self {
        let bin =
            std::env::var("SNAPWIRE_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = tokio::process::Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{bin} should run (Debian: apt-get install redis-server; .ci/run does): {e}")
            });
        let redis = Redis { child, port };
        within(async {
            loop {
                if let Ok(mut c) = redis.conn_once().await
                    && redis::cmd("PING")
                        .query_async::<String>(&mut c)
                        .await
                        .is_ok()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn conn_once(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    async fn conn(&self) -> redis::aio::MultiplexedConnection {
        self.conn_once().await.expect("connect to the test's redis")
    }

    async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// What the registry says: processes (id → url) and rooms (id → owner).
#[derive(Debug, Default)]
struct Registry {
    procs: BTreeMap<String, String>,
    rooms: BTreeMap<u32, String>,
}

async fn registry(c: &redis::aio::MultiplexedConnection) -> Registry {
    let mut c = c.clone();
    let mut r = Registry::default();
    let keys: Vec<String> = c.keys("snapwire:*").await.expect("KEYS");
    for key in keys {
        if let Some(id) = key.strip_prefix("snapwire:proc:") {
            if let Ok(Some(url)) = c.hget::<_, _, Option<String>>(&key, "url").await {
                r.procs.insert(id.to_owned(), url);
            }
        } else if let Some(id) = key.strip_prefix("snapwire:room:")
            && let Ok(id) = id.parse::<u32>()
            && let Ok(Some(owner)) = c.hget::<_, _, Option<String>>(&key, "owner").await
        {
            r.rooms.insert(id, owner);
        }
    }
    r
}

/// Three processes registered in `redis`, plus any extra flags.
async fn cluster(redis: &Redis, extra: &[&str]) -> Vec<ServerProcess> {
    let url = redis.url();
    let lease = format!("{}ms", LEASE.as_millis());
    let mut args = vec![
        "--redis-url",
        &url,
        "--lease",
        &lease,
        "--renew-every",
        RENEW,
        "--max-connections-per-ip",
        "0",
        "--tick-rate",
        "10",
    ];
    args.extend_from_slice(extra);
    let mut procs = Vec::new();
    for _ in 0..3 {
        procs.push(ServerProcess::spawn(&args).await);
    }
    let c = redis.conn().await;
    eventually("all three processes register", || async {
        registry(&c).await.procs.len() == 3
    })
    .await;
    procs
}

/// Polls `cond` every 50 ms until it holds; fails after 30 s. Returns how
/// long it took.
async fn eventually<F, Fut>(what: &str, mut cond: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if cond().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// Polls `probe` every 50 ms until it gives a value; fails after 30 s.
async fn within_30s<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

/// A process's rooms from its `/rooms`: id → players.
async fn rooms_of(p: &ServerProcess) -> BTreeMap<u32, u64> {
    let (status, body) = http_get(p.admin, "/rooms").await;
    assert_eq!(status, 200);
    let rooms: Vec<serde_json::Value> = serde_json::from_str(&body).expect("/rooms is JSON");
    rooms
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().expect("id") as u32,
                r["players"].as_u64().expect("players"),
            )
        })
        .collect()
}

fn players(rooms: &BTreeMap<u32, u64>) -> u64 {
    rooms.values().sum()
}

/// The process whose public URL is `url`.
fn by_url<'a>(procs: &'a [ServerProcess], url: &str) -> &'a ServerProcess {
    procs
        .iter()
        .find(|p| p.url == url)
        .expect("a process of this cluster")
}

fn swarm(via: &ServerProcess, bots: u32, duration: Duration) -> SwarmConfig {
    let mut cfg = SwarmConfig::new(via.url.clone(), bots, duration);
    cfg.ramp_up = Duration::from_secs(2);
    cfg.mirror_every = 10;
    cfg.matchmake = Some(matchmaking::at(via.addr()));
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_bots_matchmade_through_one_process_spread_over_all_three() {
    let _one = ONE_AT_A_TIME.lock().await;
    let redis = Redis::start().await;
    let procs = cluster(&redis, &["--room-capacity", "50"]).await;
    let swarm = tokio::spawn(run_swarm(swarm(&procs[0], 300, Duration::from_secs(4))));
    let seated = within_30s("300 players seated", || async {
        let mut seated = BTreeMap::new();
        for (i, p) in procs.iter().enumerate() {
            seated.insert(i, rooms_of(p).await);
        }
        (seated.values().map(players).sum::<u64>() == 300).then_some(seated)
    })
    .await;
    let c = redis.conn().await;
    let reg = registry(&c).await;
    for (i, p) in procs.iter().enumerate() {
        let held: BTreeSet<u32> = seated[&i].keys().copied().collect();
        assert!(!held.is_empty(), "process {i} holds rooms: {seated:?}");
        let owned: BTreeSet<u32> = reg
            .rooms
            .iter()
            .filter(|(_, owner)| reg.procs.get(*owner) == Some(&p.url))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            held, owned,
            "process {i} holds exactly the rooms the registry says it owns"
        );
    }
    // Seats are counted exactly (players and pending reservations, told to
    // Redis together), so six rooms is the usual; a renewal that came late
    // on a loaded machine can let a room's lease lapse and open one more.
    assert!(reg.rooms.len() >= 6, "300 players in rooms of 50: {reg:?}");
    for rooms in seated.values() {
        assert!(
            rooms.values().all(|&p| p <= 50),
            "no room over capacity: {seated:?}"
        );
    }
    let report = swarm.await.expect("the swarm runs");
    assert_eq!(
        (report.connected, report.failed, report.disconnected),
        (300, 0, 0),
        "{report:?}"
    );
    assert_eq!(report.rejoins, 0);
    assert!(report.snapshot_hz > 5.0, "bots played: {report:?}");
    redis.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_requests_for_one_new_room_make_one_room() {
    let _one = ONE_AT_A_TIME.lock().await;
    let redis = Redis::start().await;
    let procs = cluster(&redis, &[]).await;
    let asks = (0..20).map(|i| {
        let m = matchmaking::at(procs[i % 3].addr());
        async move { place(&m, Some(777)).await }
    });
    let placed = futures_util::future::join_all(asks).await;
    let urls: BTreeSet<&str> = placed.iter().map(|p| p.url.as_str()).collect();
    assert_eq!(urls.len(), 1, "one process holds room 777: {urls:?}");
    assert!(placed.iter().all(|p| p.room == 777));
    let mut clients = Vec::new();
    for p in &placed {
        let (client, welcome) = join(p).await;
        assert_eq!(welcome.room.0, 777);
        clients.push(client);
    }
    let owner = by_url(&procs, &placed[0].url);
    eventually("the owner lists 20 players in room 777", || async {
        rooms_of(owner).await.get(&777) == Some(&20)
    })
    .await;
    for p in procs.iter().filter(|p| p.url != owner.url) {
        assert!(!rooms_of(p).await.contains_key(&777), "no twin of room 777");
    }
    redis.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_leaves_the_registry_within_its_lease_and_its_bots_play_on_elsewhere() {
    let _one = ONE_AT_A_TIME.lock().await;
    let redis = Redis::start().await;
    let procs = cluster(&redis, &["--room-capacity", "10"]).await;
    let bots = 60;
    let swarm = tokio::spawn(run_swarm(swarm(&procs[0], bots, Duration::from_secs(14))));
    eventually("every bot seated", || async {
        let mut n = 0;
        for p in &procs {
            n += players(&rooms_of(p).await);
        }
        n == u64::from(bots)
    })
    .await;
    let c = redis.conn().await;
    let victim = &procs[2];
    let victim_rooms = rooms_of(victim).await;
    assert!(!victim_rooms.is_empty(), "the victim holds rooms");
    let reg = registry(&c).await;
    let victim_id = reg
        .procs
        .iter()
        .find(|(_, url)| **url == victim.url)
        .map(|(id, _)| id.clone())
        .expect("the victim is registered");
    victim.signal("-KILL");
    let killed = Instant::now();
    let gone = eventually("the victim and its rooms leave the registry", || async {
        let reg = registry(&c).await;
        !reg.procs.contains_key(&victim_id) && !reg.rooms.values().any(|o| *o == victim_id)
    })
    .await;
    println!("registry forgot the killed process after {gone:?} (lease {LEASE:?})");
    assert!(
        gone <= LEASE + Duration::from_secs(1),
        "gone after {gone:?}"
    );
    let back = eventually("every bot plays again on the other two", || async {
        players(&rooms_of(&procs[0]).await) + players(&rooms_of(&procs[1]).await) == u64::from(bots)
    })
    .await;
    println!(
        "{} bots of the killed process all played again {:?} after the kill ({back:?} after the registry forgot it)",
        players(&victim_rooms),
        killed.elapsed(),
    );
    let reg = registry(&c).await;
    for room in victim_rooms.keys() {
        let owner = reg.rooms.get(room).expect("the room lives on");
        assert_ne!(*owner, victim_id);
    }
    let report = swarm.await.expect("the swarm runs");
    assert_eq!((report.failed, report.disconnected), (0, 0), "{report:?}");
    assert!(report.rejoins >= players(&victim_rooms), "{report:?}");
    redis.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_process_that_wakes_up_closes_the_rooms_it_lost_with_4002() {
    let _one = ONE_AT_A_TIME.lock().await;
    let redis = Redis::start().await;
    let procs = cluster(&redis, &[]).await;
    let c = redis.conn().await;
    let first = place(&matchmaking::at(procs[0].addr()), Some(55)).await;
    let (mut stayer, _) = join(&first).await;
    next_snapshot(&mut stayer).await;
    let frozen = by_url(&procs, &first.url);
    let other = procs
        .iter()
        .find(|p| p.url != first.url)
        .expect("another process");
    frozen.signal("-STOP");
    let stopped = Instant::now();
    let gone = eventually(
        "room 55 leaves the registry with its frozen owner",
        || async {
            let reg = registry(&c).await;
            !reg.rooms.contains_key(&55) && !reg.procs.values().any(|u| *u == first.url)
        },
    )
    .await;
    assert!(
        gone <= LEASE + Duration::from_secs(1),
        "gone after {gone:?}"
    );
    // Room 55 starts over on a live process.
    let again = place(&matchmaking::at(other.addr()), Some(55)).await;
    assert_ne!(again.url, first.url);
    let (mut newcomer, welcome) = join(&again).await;
    assert_eq!(welcome.room.0, 55);
    frozen.signal("-CONT");
    println!("frozen for {:?}", stopped.elapsed());
    let (code, reason) = expect_close(&mut stayer).await;
    assert_eq!(
        (code, reason.as_str()),
        (close::ROOM_MOVED, close::REASON_ROOM_MOVED)
    );
    // The woken process is back in the registry, without room 55.
    eventually("the woken process registers again", || async {
        registry(&c).await.procs.values().any(|u| *u == first.url)
    })
    .await;
    let reg = registry(&c).await;
    let owner = reg.rooms.get(&55).expect("room 55 is registered");
    assert_eq!(
        reg.procs.get(owner),
        Some(&again.url),
        "one owner: the new one"
    );
    eventually("the woken process drops room 55", || async {
        !rooms_of(frozen).await.contains_key(&55)
    })
    .await;
    next_snapshot(&mut newcomer).await;
    redis.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_processes_are_not_ready_and_register_again_when_it_is_back() {
    let _one = ONE_AT_A_TIME.lock().await;
    let redis = Redis::start().await;
    let port = redis.port;
    let procs = cluster(&redis, &[]).await;
    let mut seated = Vec::new();
    for (i, room) in [(0, 11), (1, 12), (2, 13)] {
        let p = place(&matchmaking::at(procs[i].addr()), Some(room)).await;
        seated.push((join(&p).await.0, room, p.url));
    }
    let c = redis.conn().await;
    let before = registry(&c).await;
    assert_eq!(before.rooms.len(), 3);
    redis.kill().await;
    let down = Instant::now();
    for p in &procs {
        eventually("not ready while Redis is down", || async {
            http_get(p.admin, "/readyz").await == (503, "registry unavailable\n".into())
        })
        .await;
    }
    println!(
        "every process not ready {:?} after Redis went down",
        down.elapsed()
    );
    let redis = Redis::start_on(port).await;
    let up = Instant::now();
    for p in &procs {
        eventually("ready again", || async {
            http_get(p.admin, "/readyz").await.0 == 200
        })
        .await;
    }
    let c = redis.conn().await;
    let after = eventually("every room registered again", || async {
        registry(&c).await.rooms.len() == 3
    })
    .await;
    println!(
        "registered again {:?} after Redis came back",
        up.elapsed().max(after)
    );
    let reg = registry(&c).await;
    assert_eq!(reg.rooms, before.rooms, "same rooms, same owners");
    for (client, room, url) in &mut seated {
        // Still playing where they were.
        next_snapshot(client).await;
        let owner = reg.rooms.get(room).expect("registered");
        assert_eq!(reg.procs.get(owner), Some(&*url));
    }
    redis.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_process_leaves_the_registry_at_once_and_gets_no_new_rooms() {
    let _one = ONE_AT_A_TIME.lock().await;
    let redis = Redis::start().await;
    let procs = cluster(&redis, &["--drain-timeout", "10s"]).await;
    let c = redis.conn().await;
    let placed = place(&matchmaking::at(procs[0].addr()), Some(21)).await;
    let (mut player, _) = join(&placed).await;
    let draining = by_url(&procs, &placed.url);
    draining.signal("-TERM");
    let left = eventually("the draining process leaves the registry", || async {
        let reg = registry(&c).await;
        !reg.procs.values().any(|u| *u == placed.url) && !reg.rooms.contains_key(&21)
    })
    .await;
    println!("left the registry {left:?} after SIGTERM");
    assert!(left < LEASE, "left at once, not by lease expiry: {left:?}");
    // Its player is still served during the drain.
    next_snapshot(&mut player).await;
    let live = procs
        .iter()
        .find(|p| p.url != placed.url)
        .expect("a live process");
    for room in [21, 22, 23] {
        let p = place(&matchmaking::at(live.addr()), Some(room)).await;
        assert_ne!(p.url, placed.url, "no new room on a draining process");
    }
    redis.kill().await;
}
