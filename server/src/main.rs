//! `snapwire-server`: parse the command line, set up logging, bind, run.

use anyhow::{Context, bail};
use clap::Parser;
use snapwire_server::Config;
use snapwire_shared::quant::MAX_WORLD_SIZE;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Authoritative fixed-tick game state-sync server over binary WebSocket.
///
/// Clients connect to ws://ADDR/play with the subprotocol snapwire.v1.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
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
    /// Tokio worker threads (default: the cores this process may use).
    /// 1 runs everything on a single current-thread runtime.
    #[arg(long)]
    threads: Option<usize>,
    /// Log filter, as in RUST_LOG (for example `info` or `snapwire_server=debug`).
    #[arg(long, default_value = "info")]
    log: String,
}

impl Cli {
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
        Ok(Config {
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
            ..Config::default()
        })
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
    rt.block_on(serve(cli))
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let listen = cli.listen;
    let config = cli.into_config()?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(url = %format!("ws://{}/play", listener.local_addr()?), "serving");
    snapwire_server::run(listener, config, shutdown_signal()).await?;
    Ok(())
}

/// Completes on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
