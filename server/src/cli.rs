//! The command line of a snapwire server: parse it, set up logging, bind,
//! run. The `snapwire-server` binary is this with the built-in arena; a
//! game of its own is `fn main() -> anyhow::Result<()> {
//! crate::cli::main(GameSpec::new(MyGame::default)?) }`, with
//! every flag, the drain on SIGTERM and the `token` and `dev-cert`
//! subcommands for free (see the `shooter` example).

use crate::auth::{JoinAuth, SECRET_ENV, load_secret};
use crate::game::GameSpec;
use crate::{Config, Shutdown};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use snapwire_shared::arena::MAX_WORLD_SIZE;
use snapwire_shared::auth::JoinClaims;
use snapwire_shared::{PlayerId, RoomId};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing_subscriber::EnvFilter;

/// Authoritative fixed-tick game state-sync server over binary WebSocket.
///
/// Clients connect to ws://ADDR/play with the subprotocol snapwire.v2.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a signed join token (HS256 JWT), as a game backend would mint.
    Token(TokenArgs),
    /// Write a self-signed certificate and key (cert.pem, key.pem) for
    /// localhost, 127.0.0.1 and ::1, for trying wss:// locally.
    DevCert(DevCertArgs),
}

#[derive(Debug, Args)]
struct DevCertArgs {
    /// Directory to write cert.pem and key.pem into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Another name the certificate is for (DNS name or IP address); repeatable.
    #[arg(long = "name", value_name = "NAME")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// The player's id, 1 to 4294967295.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    player: u32,
    /// Display name, at most 32 bytes.
    #[arg(long)]
    name: String,
    /// How long the token is valid, like `1h`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    ttl: Duration,
    /// The room to join (created if missing); default: any room.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    room: Option<u32>,
    /// File holding the shared secret (or set SNAPWIRE_AUTH_SECRET).
    #[arg(long)]
    auth_secret_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7777")]
    listen: SocketAddr,
    /// Simulation ticks (and snapshots) per second.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=240))]
    tick_rate: u16,
    /// Radius within which a client sees other entities, world units; 0 = everything.
    #[arg(long, default_value_t = 300.0)]
    view_radius: f32,
    /// Side of the square arena, world units.
    #[arg(long, default_value_t = 1000.0)]
    world_size: f32,
    /// Players per room; a new room opens when every room is full.
    #[arg(long, default_value_t = 10_000)]
    room_capacity: usize,
    /// Largest client message or frame, bytes; larger ones are closed with 1009.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(64..=65_536))]
    max_message_bytes: u32,
    /// Client messages per second per connection (token bucket); over it: close 1008.
    #[arg(long, default_value_t = 60.0)]
    input_rate: f64,
    /// Messages a client may send in a burst above --input-rate.
    #[arg(long, default_value_t = 60.0)]
    input_burst: f64,
    /// Open connections at most; more are refused with HTTP 503.
    #[arg(long, default_value_t = 20_000)]
    max_connections: usize,
    /// Open connections per client IP address at most; 0 = unlimited (local load tests).
    #[arg(long, default_value_t = 256)]
    max_connections_per_ip: u32,
    /// Time to finish the WebSocket upgrade and send Hello, like `5s`.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    handshake_timeout: Duration,
    /// A client that sends nothing for this long is closed (1008), like `15s`.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
    /// A client that stops reading (answers no WebSocket Ping) for this long is closed, like `10s`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    stall_timeout: Duration,
    /// How long a dropped player's entity waits for the player to resume, like `10s`; 0 = no resume.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    resume_grace: Duration,
    /// On SIGTERM or SIGINT, how long the game runs on after telling every client, like `5s`; 0 = close at once.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
    /// PEM certificate chain: serve wss:// (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// File holding the secret that signs join tokens (HS256, at least 32 bytes); or set SNAPWIRE_AUTH_SECRET.
    /// With a secret, Hello must carry a valid token.
    #[arg(long)]
    auth_secret_file: Option<PathBuf>,
    /// A browser origin allowed to connect, like `https://game.example`; repeat for more.
    /// When set, other origins get HTTP 403; clients that send no Origin are allowed.
    #[arg(long = "allowed-origin", value_name = "URL")]
    allowed_origins: Vec<String>,
    /// Also serve a plain WebSocket echo at ws://ADDR/echo (no game, generous
    /// size limits), for running the Autobahn conformance suite. Not for production.
    #[arg(long, conflicts_with = "tls_cert")]
    conformance_echo: bool,
    /// Do not serve the game's web page at GET / (the playable demo).
    #[arg(long)]
    no_demo: bool,
    /// Where to serve /metrics, /healthz, /readyz and /rooms (HTTP); `off` disables it.
    /// Keep it off the public internet.
    #[arg(long, default_value = "127.0.0.1:9100", value_parser = parse_admin)]
    admin_listen: AdminListen,
    /// Run as one of several processes sharing this Redis registry, like
    /// `redis://127.0.0.1:6379`: rooms are placed by POST /matchmake and
    /// joins need its reservation. Default: this process alone.
    #[arg(long, value_name = "URL")]
    redis_url: Option<String>,
    /// The WebSocket URL clients are told to connect to, like
    /// `wss://game1.example:7777/play`. Default: ws(s)://LISTEN-ADDRESS/play.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// The game mode this process serves (matchmaking requests name one).
    #[arg(long, default_value = crate::cluster::DEFAULT_MODE)]
    mode: String,
    /// How long this process's registration (and its rooms') lives unless renewed, like `3s`.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    lease: Duration,
    /// How often the registration is renewed, like `1s`; well under --lease.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    renew_every: Duration,
    /// How long a seat reservation from /matchmake is valid, like `10s`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    reservation_ttl: Duration,
    /// Tokio worker threads (default: the cores this process may use).
    /// 1 runs everything on a single current-thread runtime.
    #[arg(long)]
    threads: Option<usize>,
    /// Log filter, as in RUST_LOG (for example `info` or `snapwire_server=debug`).
    #[arg(long, default_value = "info")]
    log: String,
}

impl ServeArgs {
    fn into_config(self) -> anyhow::Result<Config> {
        if !(self.view_radius.is_finite() && self.view_radius >= 0.0) {
            bail!("--view-radius must be a finite number >= 0");
        }
        if !(self.world_size.is_finite()
            && self.world_size > 0.0
            && self.world_size <= MAX_WORLD_SIZE)
        {
            bail!("--world-size must be in (0, {MAX_WORLD_SIZE}]");
        }
        if self.room_capacity == 0 {
            bail!("--room-capacity must be at least 1");
        }
        if !(self.input_rate.is_finite()
            && self.input_rate > 0.0
            && self.input_burst.is_finite()
            && self.input_burst >= 1.0)
        {
            bail!("--input-rate must be > 0 and --input-burst >= 1");
        }
        if self.max_connections == 0 {
            bail!("--max-connections must be at least 1");
        }
        for (flag, d) in [
            ("--handshake-timeout", self.handshake_timeout),
            ("--idle-timeout", self.idle_timeout),
            ("--stall-timeout", self.stall_timeout),
        ] {
            if d.is_zero() {
                bail!("{flag} must be longer than zero");
            }
        }
        if self.renew_every.is_zero() || self.lease < self.renew_every * 2 {
            bail!("--renew-every must be longer than zero and at most half of --lease");
        }
        if self.reservation_ttl < Duration::from_secs(1) {
            bail!("--reservation-ttl must be at least 1s");
        }
        if self.mode.is_empty()
            || self.mode.len() > 64
            || self.mode.contains(|c: char| c.is_whitespace())
        {
            bail!("--mode must be 1 to 64 characters without spaces");
        }
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("unix://"))
        {
            bail!("--redis-url must look like redis://HOST:PORT");
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(crate::net::transport::server_config(cert, key)?),
            _ => None,
        };
        let auth = load_secret(self.auth_secret_file.as_deref())?
            .map(|secret| Arc::new(JoinAuth::new(&secret)));
        Ok(Config {
            resume_grace: self.resume_grace,
            drain_timeout: self.drain_timeout,
            tls,
            auth,
            allowed_origins: self.allowed_origins,
            conformance_echo: self.conformance_echo,
            demo: !self.no_demo,
            tick_rate: self.tick_rate,
            view_radius: self.view_radius,
            world_size: self.world_size,
            room_capacity: self.room_capacity,
            max_message_bytes: self.max_message_bytes as usize,
            input_rate: self.input_rate,
            input_burst: self.input_burst,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            handshake_timeout: self.handshake_timeout,
            idle_timeout: self.idle_timeout,
            stall_timeout: self.stall_timeout,
            cluster: crate::cluster::ClusterConfig {
                redis_url: self.redis_url,
                public_url: self.public_url,
                mode: self.mode,
                lease: self.lease,
                renew_every: self.renew_every,
                reservation_ttl: self.reservation_ttl,
            },
            ..Config::default()
        })
    }
}

/// Runs a server of `game` as the command line says; returns when it has
/// shut down.
pub fn main(game: GameSpec) -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Token(args)) => return print_token(args),
        Some(Command::DevCert(args)) => return dev_cert(args),
        None => {}
    }
    let cli = cli.serve;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).context("invalid --log filter")?)
        .init();
    let mut rt = match cli.threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(t) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(t.max(1));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = rt
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    rt.block_on(serve(cli, game))
}

fn print_token(args: TokenArgs) -> anyhow::Result<()> {
    let secret = load_secret(args.auth_secret_file.as_deref())?
        .with_context(|| format!("no secret: pass --auth-secret-file or set {SECRET_ENV}"))?;
    if args.name.len() > snapwire_shared::protocol::MAX_NAME_BYTES {
        bail!(
            "--name is longer than {} bytes",
            snapwire_shared::protocol::MAX_NAME_BYTES
        );
    }
    let claims = JoinClaims::new(
        PlayerId(args.player),
        &args.name,
        args.ttl,
        args.room.map(RoomId),
    );
    let token = snapwire_shared::auth::mint(&secret, &claims)?;
    println!("{token}");
    Ok(())
}

/// `--admin-listen`: an address, or none (`off`).
#[derive(Clone, Copy, Debug)]
struct AdminListen(Option<SocketAddr>);

fn parse_admin(s: &str) -> Result<AdminListen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(AdminListen(None));
    }
    s.parse()
        .map(|a| AdminListen(Some(a)))
        .map_err(|e| format!("{e}: expected ADDR:PORT or `off`"))
}

fn dev_cert(args: DevCertArgs) -> anyhow::Result<()> {
    let made = crate::devcert::generate(&args.names)?;
    let (cert, key) = crate::devcert::write(&args.out, &made)?;
    let mut names: Vec<&str> = crate::devcert::DEFAULT_NAMES.to_vec();
    names.extend(args.names.iter().map(String::as_str));
    println!("wrote {} and {}", cert.display(), key.display());
    println!("valid for: {}", names.join(", "));
    println!(
        "serve:  snapwire-server --tls-cert {} --tls-key {}",
        cert.display(),
        key.display()
    );
    println!(
        "trust:  snapwire-bot --url wss://localhost:7777/play --ca {}",
        cert.display()
    );
    Ok(())
}

async fn serve(cli: ServeArgs, game: GameSpec) -> anyhow::Result<()> {
    let listen = cli.listen;
    let admin_listen = cli.admin_listen;
    let config = Config {
        game: Arc::new(game),
        ..cli.into_config()?
    };
    tracing::info!(game = %config.game.schema().game, "game");
    let scheme = if config.tls.is_some() { "wss" } else { "ws" };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let admin = match admin_listen.0 {
        Some(addr) => {
            let admin = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for --admin-listen"))?;
            tracing::info!(url = %format!("http://{}/metrics", admin.local_addr()?), "admin listening");
            Some(admin)
        }
        None => None,
    };
    tracing::info!(url = %format!("{scheme}://{}/play", listener.local_addr()?), "serving");
    if config.conformance_echo {
        tracing::warn!(url = %format!("ws://{}{}", listener.local_addr()?, crate::net::echo::ECHO_PATH), "conformance echo on: not for production");
    }
    let (control, requests) = mpsc::channel(4);
    tokio::spawn(forward_signals(control));
    crate::run_with_admin(listener, admin, config, requests).await?;
    Ok(())
}

/// Turns signals into shutdown requests: the first SIGTERM or SIGINT
/// drains, the second closes at once.
async fn forward_signals(control: mpsc::Sender<Shutdown>) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    for (n, how) in [Shutdown::Drain, Shutdown::Now].into_iter().enumerate() {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let term = async {
            #[cfg(unix)]
            if let Some(term) = term.as_mut() {
                term.recv().await;
                return;
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = ctrl_c => tracing::info!(signal = "SIGINT", n = n + 1, ?how, "signal received"),
            _ = term => tracing::info!(signal = "SIGTERM", n = n + 1, ?how, "signal received"),
        }
        let _ = control.send(how).await;
    }
    // Keep the sender: dropping it would also mean "now".
    std::future::pending::<()>().await;
}
