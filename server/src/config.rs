//! The server's configuration: a plain struct, filled from the command line
//! by the binary or directly by tests and embedders.

use crate::auth::JoinAuth;
use crate::cluster::ClusterConfig;
use crate::game::GameSpec;
use crate::metrics::RoomTelemetry;
use crate::room::RoomSettings;
use crate::stats::Stats;
use std::sync::Arc;
use std::time::Duration;

/// Everything `run` needs to know.
#[derive(Clone)]
pub struct Config {
    /// Simulation ticks (and snapshots) per second.
    pub tick_rate: u16,
    /// Radius within which a client sees entities, world units; 0 = all.
    pub view_radius: f32,
    /// Side of the square arena, world units.
    pub world_size: f32,
    /// Players per room before a new room is opened.
    pub room_capacity: usize,
    /// How long an empty room is kept before it is disposed.
    pub room_empty_grace: Duration,
    /// Time a new TCP connection has to finish the WebSocket upgrade and
    /// send its `Hello`.
    pub handshake_timeout: Duration,
    /// Largest WebSocket message or frame accepted from a client, bytes;
    /// also the decoder's limit.
    pub max_message_bytes: usize,
    /// Client messages allowed per second per connection (token bucket
    /// refill rate); beyond it the connection is closed with 1008.
    pub input_rate: f64,
    /// Messages a connection may send in a burst above `input_rate`.
    pub input_burst: f64,
    /// Open connections at most; more are refused with HTTP 503.
    pub max_connections: usize,
    /// Open connections per remote IP address at most (0 = unlimited).
    pub max_connections_per_ip: u32,
    /// A joined client that sends nothing (not even a Ping) for this long
    /// is closed with 1008.
    pub idle_timeout: Duration,
    /// A client that has not answered a WebSocket Ping, or whose socket has
    /// not accepted a write, for this long is closed: it stopped reading.
    pub stall_timeout: Duration,
    /// How long a dropped player's entity is kept for the player to resume
    /// with its session token (0: removed at once).
    pub resume_grace: Duration,
    /// On shutdown, how long the game keeps running after every client was
    /// told (`ServerDraining`) before the 1001 close (0: close at once).
    pub drain_timeout: Duration,
    /// Serve `wss://` with this TLS configuration; `None`: plain `ws://`.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Require a signed join token in `Hello`; `None`: anyone may join.
    pub auth: Option<Arc<JoinAuth>>,
    /// Browser origins allowed to connect (`Origin` header, like
    /// `https://game.example`); empty: any. Handshakes without an `Origin`
    /// (native clients) are always allowed.
    pub allowed_origins: Vec<String>,
    /// Serve a plain WebSocket echo at `/echo` (ws:// only), for the
    /// Autobahn conformance suite; off in any real deployment.
    pub conformance_echo: bool,
    /// Serve the game's web page (if it has one) at `GET /` on the game
    /// port; `--no-demo` turns it off.
    pub demo: bool,
    /// `/healthz` says 503 while a room has not begun a tick for this long
    /// (its task is stuck or gone).
    pub stalled_room_after: Duration,
    /// Scale-out: the registry (Redis or none), public URL, mode, leases.
    pub cluster: ClusterConfig,
    /// Counters of connections and violations, shared with the embedder.
    pub stats: Arc<Stats>,
    /// The game every room plays (the built-in arena by default).
    pub game: Arc<GameSpec>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tick_rate: 30,
            view_radius: 300.0,
            world_size: 1000.0,
            room_capacity: 10_000,
            room_empty_grace: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            max_message_bytes: 4096,
            // Clients send 30 inputs and 1 ping a second; leave room for
            // jitter that bunches them, and for a client catching up.
            input_rate: 60.0,
            input_burst: 60.0,
            max_connections: 20_000,
            max_connections_per_ip: 256,
            idle_timeout: Duration::from_secs(15),
            stall_timeout: Duration::from_secs(10),
            resume_grace: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(5),
            tls: None,
            auth: None,
            allowed_origins: Vec::new(),
            conformance_echo: false,
            demo: true,
            stalled_room_after: Duration::from_secs(2),
            cluster: ClusterConfig::default(),
            stats: Arc::default(),
            game: Arc::new(GameSpec::arena()),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tick_rate", &self.tick_rate)
            .field("view_radius", &self.view_radius)
            .field("world_size", &self.world_size)
            .field("room_capacity", &self.room_capacity)
            .field("room_empty_grace", &self.room_empty_grace)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("input_rate", &self.input_rate)
            .field("input_burst", &self.input_burst)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("idle_timeout", &self.idle_timeout)
            .field("stall_timeout", &self.stall_timeout)
            .field("resume_grace", &self.resume_grace)
            .field("drain_timeout", &self.drain_timeout)
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth.is_some())
            .field("allowed_origins", &self.allowed_origins)
            .field("conformance_echo", &self.conformance_echo)
            .field("demo", &self.demo)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The tick period.
    pub fn tick_period(&self) -> Duration {
        crate::room::tick_period(self.tick_rate)
    }

    pub(crate) fn room_settings(&self, telemetry: Arc<RoomTelemetry>) -> RoomSettings {
        RoomSettings {
            tick_rate: self.tick_rate,
            world_size: self.world_size,
            view_radius: self.view_radius,
            capacity: self.room_capacity,
            empty_grace: self.room_empty_grace,
            resume_grace: self.resume_grace,
            game: self.game.clone(),
            telemetry,
        }
    }
}
