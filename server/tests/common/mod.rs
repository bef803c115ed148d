//! Test harness: a real server on 127.0.0.1:0 and helpers to talk to it.
//!
//! Everything waits on messages, never on sleeps; every wait is bounded so a
//! broken server fails the test instead of hanging it.

#![allow(dead_code)] // each test file uses a different part of this module

use snapwire_bot::{ClientError, GameClient};
use snapwire_server::{Config, ServerHandle};
use snapwire_shared::{EntityId, ServerEvent, ServerMsg, Tick, Walker, Welcome};
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
        Self::start_inner(config, false).await
    }

    /// Also serves the admin endpoints, on an ephemeral port.
    pub async fn start_with_admin(config: Config) -> Self {
        Self::start_inner(config, true).await
    }

    async fn start_inner(config: Config, admin: bool) -> Self {
        let stats = config.stats.clone();
        let admin = admin.then_some("127.0.0.1:0");
        let handle = ServerHandle::start_with_admin("127.0.0.1:0", admin, config)
            .await
            .expect("binding 127.0.0.1:0 should work");
        TestServer {
            addr: handle.addr(),
            handle,
            stats,
        }
    }

    /// The admin listener's address.
    pub fn admin(&self) -> SocketAddr {
        self.handle
            .admin_addr()
            .expect("started with start_with_admin")
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

/// One entity as a snapshot showed it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seen {
    pub id: EntityId,
    pub walker: Walker,
}

/// What a snapshot changed in the client's mirror.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    /// Ids no longer in view.
    pub removed: Vec<EntityId>,
    /// Entities that arrived.
    pub spawned: Vec<Seen>,
    /// Entities that stayed and changed.
    pub updated: Vec<Seen>,
}

/// A snapshot, applied to the client's own mirror.
#[derive(Clone, Debug)]
pub struct Snap {
    pub tick: Tick,
    pub base_tick: Tick,
    pub ack_input_seq: u32,
    pub events: Vec<ServerEvent>,
    pub delta: Changes,
    /// The bytes of the snapshot after its header.
    pub body: Vec<u8>,
}

fn walkers(client: &GameClient) -> Vec<Seen> {
    let m = client.view().expect("a joined client has a mirror");
    m.rows()
        .iter()
        .map(|r| Seen {
            id: r.id,
            walker: m.get::<Walker>(r.id).unwrap_or_default(),
        })
        .collect()
}

/// The next snapshot, skipping other messages, applied to the client's
/// mirror (which it must fit).
pub async fn next_snapshot(client: &mut GameClient) -> Snap {
    loop {
        let msg = within(client.recv())
            .await
            .expect("the connection should stay open");
        let ServerMsg::Snapshot(s) = msg else {
            continue;
        };
        let before = walkers(client);
        let applied = client
            .apply(&s)
            .expect("each snapshot should apply to the client's mirror");
        let after = walkers(client);
        let was = |id| before.iter().find(|b| b.id == id);
        let delta = Changes {
            removed: before
                .iter()
                .filter(|b| !after.iter().any(|a| a.id == b.id))
                .map(|b| b.id)
                .collect(),
            spawned: after
                .iter()
                .filter(|a| was(a.id).is_none())
                .copied()
                .collect(),
            updated: after
                .iter()
                .filter(|a| was(a.id).is_some_and(|b| b != *a))
                .copied()
                .collect(),
        };
        return Snap {
            tick: s.tick,
            base_tick: s.base_tick,
            ack_input_seq: client.view().map_or(0, |m| m.ack()),
            events: applied.events,
            delta,
            body: s.body,
        };
    }
}

/// Reads snapshots until one carries an event matching `want`; returns that
/// snapshot. Fails after 300 snapshots (10 s of ticks).
pub async fn snapshot_with_event(
    client: &mut GameClient,
    want: impl Fn(&snapwire_shared::ServerEvent) -> bool,
) -> Snap {
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

/// A game for tests: the arena's movement, spawns at scripted points
/// (then at random), and a record of every walker after every tick, which
/// is the truth a client's mirror is checked against.
pub mod rules {
    use snapwire_server::game::arena::walk;
    use snapwire_server::game::{Game, GameSpec, World};
    use snapwire_shared::{EntityId, InputCmd, NoMessages, NoState, PlayerId, Tick, Walker};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// The walkers after each tick, by tick, quantised as clients see them.
    pub type Truth = Arc<Mutex<HashMap<Tick, Vec<(EntityId, Walker)>>>>;

    pub struct Scripted {
        pub spawns: Vec<glam::Vec2>,
        pub truth: Truth,
    }

    impl Scripted {
        pub fn new(spawns: Vec<glam::Vec2>) -> (Self, Truth) {
            let truth = Truth::default();
            (
                Scripted {
                    spawns,
                    truth: truth.clone(),
                },
                truth,
            )
        }
    }

    /// A walker as a client's mirror holds it (every field quantised).
    fn quantised(w: &Walker) -> Walker {
        let codec = snapwire_shared::codec::FieldCodec::of::<Walker>();
        codec
            .decode(&codec.encode(w))
            .expect("a walker round-trips")
    }

    impl Game for Scripted {
        type Entity = Walker;
        type State = NoState;
        type Input = InputCmd;
        type ClientMessage = NoMessages;
        type ServerMessage = NoMessages;
        const NAME: &'static str = "arena";

        fn join(&mut self, world: &mut World<Self>, player: PlayerId, _: &str) -> EntityId {
            let pos = if self.spawns.is_empty() {
                world.random_point()
            } else {
                self.spawns.remove(0)
            };
            world.spawn_owned(
                player,
                Walker {
                    pos,
                    ..Walker::default()
                },
            )
        }

        fn step(&mut self, world: &mut World<Self>, dt: f32) {
            walk(world, dt);
            let mut now: Vec<(EntityId, Walker)> = world
                .entities()
                .map(|e| (e.id, quantised(e.value)))
                .collect();
            now.sort_by_key(|e| e.0);
            self.truth.lock().unwrap().insert(world.tick(), now);
        }
    }

    /// A server config whose single room plays `rules`.
    pub fn config_with(rules: Scripted, view_radius: f32) -> snapwire_server::Config {
        let rules = Mutex::new(Some(rules));
        let spec = GameSpec::new(move || {
            rules
                .lock()
                .unwrap()
                .take()
                .expect("tests with scripted rules use one room")
        })
        .expect("the test game's schema is valid");
        snapwire_server::Config {
            view_radius,
            game: Arc::new(spec),
            ..super::config()
        }
    }
}

/// The real `snapwire-server` binary, started on `127.0.0.1:0`.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    /// The game endpoint the server logged, `ws://` or `wss://`.
    pub url: String,
    /// The admin listener (`/metrics`, ...), on an ephemeral port.
    pub admin: SocketAddr,
}

impl ServerProcess {
    /// Starts the binary with `args` (plus `--listen 127.0.0.1:0 --log info`)
    /// and waits for the line that says where it serves.
    pub async fn spawn(args: &[&str]) -> Self {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_snapwire-server"))
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .args(["--log", "info"])
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // The admin line comes first, then the game's.
        let (admin, url) = within(async {
            let mut admin = None;
            while let Some(line) = lines.next_line().await.expect("reading the log") {
                if let Some(at) = line.find("url=http://") {
                    let rest = &line[at + 11..];
                    let addr = rest.split('/').next().unwrap_or("");
                    admin = addr.parse().ok();
                }
                if let Some(at) = line.find("url=ws") {
                    let url = line[at + 4..].split_whitespace().next().unwrap_or("");
                    return (admin, url.to_owned());
                }
            }
            panic!("the server never said where it serves");
        })
        .await;
        let admin = admin.expect("the server logs its admin listener before its game endpoint");
        // Keep reading the log so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess { child, url, admin }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        let rest = self.url.split("://").nth(1).expect("a URL with a scheme");
        rest.split('/')
            .next()
            .and_then(|a| a.parse().ok())
            .expect("the logged URL names the address")
    }

    /// Sends `signal` (like `-TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Waits for the process to exit.
    pub async fn exited(&mut self) -> std::process::ExitStatus {
        within(self.child.wait()).await.expect("the server exits")
    }
}

/// A WebSocket client that writes its own frames, right or wrong, and reads
/// the server's frames byte by byte: for what no WebSocket library sends.
pub mod raw {
    use super::within;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;

    /// Connects to `addr` and upgrades to `path` with the snapwire
    /// subprotocol; panics unless the server answers 101.
    pub async fn upgrade(addr: SocketAddr, path: &str) -> TcpStream {
        let mut s = within(TcpStream::connect(addr)).await.expect("connect");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: {}\r\n\r\n",
            snapwire_shared::protocol::SUBPROTOCOL
        );
        s.write_all(request.as_bytes())
            .await
            .expect("send the upgrade");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            within(s.read_exact(&mut b))
                .await
                .expect("read the upgrade answer");
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        s
    }

    /// One frame: `first` is FIN, RSV1-3 and the opcode as on the wire
    /// (see [`fin`]); masked with a fixed key unless `masked` is false.
    pub fn frame(first: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(mask_bit | n as u8),
            n @ 126..=65535 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [0x12, 0x34, 0x56, 0x78];
        if masked {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend_from_slice(payload);
        }
        out
    }

    /// The first byte of a final frame with `opcode`.
    pub fn fin(opcode: u8) -> u8 {
        0x80 | opcode
    }

    /// The first byte of a non-final frame with `opcode`.
    pub fn more(opcode: u8) -> u8 {
        opcode
    }

    /// How the server ended the connection.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Closed {
        pub code: u16,
        pub reason: String,
        /// Whether the TCP connection then ended with a FIN (not a reset).
        pub clean_eof: bool,
    }

    /// Reads one server frame: its opcode and payload.
    pub async fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        s.read_exact(&mut head)
            .await
            .expect("the server should send a close frame before the connection ends");
        assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
        let len = match head[1] & 0x7f {
            126 => u64::from(s.read_u16().await.expect("length")),
            127 => s.read_u64().await.expect("length"),
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).expect("a small frame")];
        s.read_exact(&mut payload).await.expect("payload");
        (head[0] & 0x0f, payload)
    }

    /// Reads frames until the server's close frame, then until the TCP
    /// connection ends.
    pub async fn read_close(s: &mut TcpStream) -> Closed {
        within(async {
            loop {
                let (opcode, payload) = read_frame(s).await;
                if opcode != CLOSE {
                    continue;
                }
                assert!(payload.len() >= 2, "the close frame should carry a code");
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                let reason = String::from_utf8(payload[2..].to_vec()).expect("a UTF-8 reason");
                let mut rest = Vec::new();
                let clean_eof = s.read_to_end(&mut rest).await.is_ok();
                return Closed {
                    code,
                    reason,
                    clean_eof,
                };
            }
        })
        .await
    }
}

/// A plain HTTP/1.1 GET (for the admin listener): status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (status, raw) = http_raw(addr, &request).await;
    let (_, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    (status, body.to_owned())
}

/// Sends `request` as is and reads the answer to the end: status and the
/// whole answer (head and body).
pub async fn http_raw(addr: SocketAddr, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    within(async {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(request.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("an HTTP answer, got {text:?}"));
        (status, text)
    })
    .await
}

/// `POST /matchmake` and joining with its reservation.
pub mod matchmaking {
    use super::within;
    use snapwire_bot::GameClient;
    use snapwire_bot::client::{ClientError, ClientOptions, Join};
    use snapwire_bot::matchmake::{MatchmakeError, Matchmaker, Placement};
    use snapwire_shared::{RoomId, Welcome};
    use std::net::SocketAddr;

    /// The matchmaker on `addr` (a game port), for the arena.
    pub fn at(addr: SocketAddr) -> Matchmaker {
        Matchmaker {
            url: format!("http://{addr}/matchmake"),
            mode: "arena".into(),
        }
    }

    /// A seat that must be given.
    pub async fn place(m: &Matchmaker, room: Option<u32>) -> Placement {
        within(m.place(room.map(RoomId), None, &ClientOptions::default()))
            .await
            .expect("matchmaking should place the player")
    }

    /// The HTTP status of a refused matchmaking request.
    pub async fn refused(m: &Matchmaker, room: Option<u32>, token: Option<&str>) -> u16 {
        match within(m.place(room.map(RoomId), token, &ClientOptions::default())).await {
            Err(MatchmakeError::Refused { status, .. }) => status,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Joins where `p` says, with its reservation.
    pub async fn try_join(p: &Placement) -> Result<(GameClient, Welcome), ClientError> {
        let join = Join {
            name: "seated".into(),
            resume_token: None,
            auth_token: Some(p.reservation.clone()),
        };
        within(GameClient::join_with(
            &p.url,
            &ClientOptions::default(),
            join,
        ))
        .await
    }

    /// Joins where `p` says; must be accepted.
    pub async fn join(p: &Placement) -> (GameClient, Welcome) {
        try_join(p).await.expect("a fresh reservation joins")
    }

    /// Joins where `p` says; must be closed. Returns code and reason.
    pub async fn join_refused(p: &Placement) -> (u16, String) {
        match try_join(p).await {
            Err(ClientError::Closed { code, reason }) => (code, reason),
            Err(e) => panic!("expected a close, got {e}"),
            Ok((_, w)) => panic!("expected a refusal, joined room {}", w.room),
        }
    }
}
