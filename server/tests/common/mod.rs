//! Test harness: a real server on 127.0.0.1:0 and helpers to talk to it.
//!
//! Everything waits on messages, never on sleeps; every wait is bounded so a
//! broken server fails the test instead of hanging it.

#![allow(dead_code)] // each test file uses a different part of this module

use snapwire_bot::{ClientError, GameClient};
use snapwire_server::{Config, ServerHandle};
use snapwire_shared::{ServerMsg, Snapshot, Welcome};
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Upper bound on any single wait in a test.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A server running in this test's runtime, on an ephemeral port.
pub struct TestServer {
    pub addr: SocketAddr,
    handle: ServerHandle,
    stats: std::sync::Arc<snapwire_server::stats::Stats>,
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        let stats = config.stats.clone();
        let handle = ServerHandle::start("127.0.0.1:0", config)
            .await
            .expect("binding 127.0.0.1:0 should work");
        TestServer {
            addr: handle.addr(),
            handle,
            stats,
        }
    }

    pub fn url(&self) -> String {
        self.handle.url()
    }

    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// The server's counters.
    pub fn stats(&self) -> &snapwire_server::stats::Stats {
        &self.stats
    }

    /// Signals shutdown and waits for `run` to return; returns how long it took.
    pub async fn stop(self) -> Duration {
        let started = Instant::now();
        within(self.handle.stop())
            .await
            .expect("run should end cleanly");
        started.elapsed()
    }
}

/// Awaits `fut`, failing the test if it takes longer than [`PATIENCE`].
pub async fn within<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .expect("the server should answer in time")
}

/// Joins the server as `name`.
pub async fn join(server: &TestServer, name: &str) -> (GameClient, Welcome) {
    within(GameClient::join(&server.url(), name))
        .await
        .expect("joining should succeed")
}

/// The next snapshot, skipping other messages.
pub async fn next_snapshot(client: &mut GameClient) -> Snapshot {
    loop {
        match within(client.recv())
            .await
            .expect("the connection should stay open")
        {
            ServerMsg::Snapshot(s) => return s,
            _ => continue,
        }
    }
}

/// Reads snapshots until one carries an event matching `want`; returns that
/// snapshot. Fails after 300 snapshots (10 s of ticks).
pub async fn snapshot_with_event(
    client: &mut GameClient,
    want: impl Fn(&snapwire_shared::ServerEvent) -> bool,
) -> Snapshot {
    for _ in 0..300 {
        let snap = next_snapshot(client).await;
        if snap.events.iter().any(&want) {
            return snap;
        }
    }
    panic!("the event never came");
}

/// Receives until the server closes; returns the close code and reason.
pub async fn expect_close(client: &mut GameClient) -> (u16, String) {
    loop {
        match within(client.recv()).await {
            Ok(_) => continue,
            Err(ClientError::Closed { code, reason }) => return (code, reason),
            Err(e) => panic!("expected a close frame, got {e}"),
        }
    }
}

/// A full-view server whose dropped players wait `resume_grace`.
pub fn full_view_with_grace(resume_grace: Duration) -> Config {
    Config {
        view_radius: 0.0,
        resume_grace,
        ..config()
    }
}

/// Connects and says `Hello` with a resume token.
pub async fn resume(
    server: &TestServer,
    token: snapwire_shared::SessionToken,
) -> Result<(GameClient, Welcome), ClientError> {
    let join = snapwire_bot::client::Join {
        name: "ignored".into(),
        resume_token: Some(token),
        auth_token: None,
    };
    within(GameClient::join_with(
        &server.url(),
        &snapwire_bot::client::ClientOptions::default(),
        join,
    ))
    .await
}

/// Joins, sees one snapshot, and lets the connection drop without a close
/// frame, as on a network blip.
pub async fn join_and_drop(server: &TestServer, name: &str) -> Welcome {
    let (mut player, welcome) = join(server, name).await;
    next_snapshot(&mut player).await;
    drop(player);
    welcome
}

/// Connects, sends `hello`, and returns how the server closed.
pub async fn closed_after(server: &TestServer, hello: snapwire_shared::ClientMsg) -> (u16, String) {
    let mut client = within(GameClient::connect(&server.url()))
        .await
        .expect("connect");
    client.send(&hello).await.expect("send Hello");
    expect_close(&mut client).await
}

/// Join tokens: a server that requires them, and tokens for it.
pub mod tokens {
    use super::{TestServer, config, within};
    use snapwire_bot::GameClient;
    use snapwire_bot::client::{ClientOptions, Join};
    use snapwire_server::Config;
    use snapwire_server::auth::JoinAuth;
    use snapwire_shared::auth::{JoinClaims, mint};
    use snapwire_shared::protocol::PROTOCOL_VERSION;
    use snapwire_shared::{ClientMsg, PlayerId, RoomId, Welcome};
    use std::sync::Arc;
    use std::time::Duration;

    pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret";

    /// A full-view server that requires join tokens signed with [`SECRET`].
    pub fn authed() -> Config {
        Config {
            view_radius: 0.0,
            auth: Some(Arc::new(JoinAuth::new(SECRET))),
            ..config()
        }
    }

    /// A token valid for a minute.
    pub fn token(player: u32, name: &str, room: Option<u32>) -> String {
        let claims = JoinClaims::new(
            PlayerId(player),
            name,
            Duration::from_secs(60),
            room.map(RoomId),
        );
        mint(SECRET, &claims).expect("minting a token")
    }

    /// A `Hello` carrying `auth_token`.
    pub fn hello(auth_token: Option<String>) -> ClientMsg {
        ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            name: "hopeful".into(),
            resume_token: None,
            auth_token,
        }
    }

    /// Joins with a token that must be accepted.
    pub async fn join_with_token(server: &TestServer, token: String) -> (GameClient, Welcome) {
        let join = Join {
            name: "what the client says".into(),
            resume_token: None,
            auth_token: Some(token),
        };
        within(GameClient::join_with(
            &server.url(),
            &ClientOptions::default(),
            join,
        ))
        .await
        .expect("a valid token joins")
    }
}

/// A config with the defaults but a fast room disposal.
pub fn config() -> Config {
    Config {
        room_empty_grace: Duration::from_millis(200),
        ..Config::default()
    }
}

/// Game rules for tests: the arena's movement, spawns at scripted points
/// (then at random), and a record of the quantised world after every tick,
/// which is the truth a client's mirror is checked against.
pub mod rules {
    use rand::rngs::SmallRng;
    use snapwire_server::sim::{Arena, GameRules, World};
    use snapwire_shared::{Body, NetEntity, Tick};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// The world after each tick, by tick.
    pub type Truth = Arc<Mutex<HashMap<Tick, Vec<NetEntity>>>>;

    pub struct Scripted {
        pub spawns: Vec<glam::Vec2>,
        pub truth: Truth,
        tick: Tick,
    }

    impl Scripted {
        pub fn new(spawns: Vec<glam::Vec2>) -> (Self, Truth) {
            let truth = Truth::default();
            (
                Scripted {
                    spawns,
                    truth: truth.clone(),
                    tick: Tick::NONE,
                },
                truth,
            )
        }
    }

    impl GameRules for Scripted {
        fn spawn(&mut self, world_size: f32, rng: &mut SmallRng) -> Body {
            if self.spawns.is_empty() {
                return Arena.spawn(world_size, rng);
            }
            Body {
                pos: self.spawns.remove(0),
                ..Body::default()
            }
        }

        fn step(&mut self, world: &mut World, dt: f32) {
            Arena.step(world, dt);
            // The room calls step exactly once per tick, starting at tick 1.
            self.tick = self.tick.next();
            let mut now = Vec::new();
            world.quantise_into(&mut now);
            self.truth.lock().unwrap().insert(self.tick, now);
        }
    }

    /// A server config whose single room uses `rules`.
    pub fn config_with(rules: Scripted, view_radius: f32) -> snapwire_server::Config {
        let rules = Mutex::new(Some(rules));
        snapwire_server::Config {
            view_radius,
            rules: Arc::new(move || {
                let r = rules
                    .lock()
                    .unwrap()
                    .take()
                    .expect("tests with scripted rules use one room");
                Box::new(r) as Box<dyn GameRules>
            }),
            ..super::config()
        }
    }
}
