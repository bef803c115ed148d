//! `snapwire-bot`: a swarm of headless players for a snapwire server.

use anyhow::Context;
use clap::Parser;
use snapwire_bot::client::{ClientOptions, tls_trusting};
use snapwire_bot::swarm::AuthSecret;
use snapwire_bot::{Driver, SwarmConfig, Thresholds, run_swarm};
use snapwire_shared::auth::load_secret;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// Headless bots that join a snapwire server, walk at random, mirror what
/// they see, and report what they measured over a steady window that starts
/// once the last bot has joined.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Server endpoint: ws://HOST:PORT/play, or wss:// for TLS.
    #[arg(long, default_value = "ws://127.0.0.1:7777/play")]
    url: String,
    /// Start from this matchmaking endpoint instead of --url, like
    /// `http://127.0.0.1:7777/matchmake`: each bot asks it for a seat and
    /// joins the process it names; a bot that loses its server asks again.
    #[arg(long, value_name = "URL")]
    matchmake: Option<String>,
    /// The game mode to ask matchmaking for.
    #[arg(long, default_value = "arena")]
    mode: String,
    /// The room to ask matchmaking for (default: any room with a free seat).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    room: Option<u32>,
    /// PEM file of the CA (or self-signed certificate) to trust for wss://;
    /// default: the web PKI roots.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// File holding the server's join-token secret (or set SNAPWIRE_AUTH_SECRET):
    /// each bot signs its own token (player id = bot index + 1).
    #[arg(long)]
    auth_secret_file: Option<PathBuf>,
    /// Each bot drops its TCP connection abruptly with this probability per
    /// second and resumes with its session token.
    #[arg(long, default_value_t = 0.0)]
    chaos_drop: f64,
    /// Number of bots.
    #[arg(long, default_value_t = 1)]
    bots: u32,
    /// Length of the measured window, like `30s` or `500ms`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Joins are spread evenly over this time, like `5s`.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    ramp_up: Duration,
    /// Seed of the random walks (bot i uses seed + i), for reproducible runs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the report as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// What drives the bots' sockets: `tasks`, a tokio task per bot (every
    /// option); `loop`, one loop per thread over non-blocking sockets (the
    /// cheaper load generator; no wss://, --matchmake or --chaos-drop).
    #[arg(long, value_enum, default_value_t = DriverArg::Tasks)]
    driver: DriverArg,
    /// Tokio worker threads with `--driver tasks` (default: all cores), loop
    /// threads with `--driver loop` (default: 1). Use 1 when pinned to one core.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    threads: Option<u64>,
    /// Keep a full mirror on every K-th bot only; the others follow the
    /// snapshots' tick chain. For full-view runs, where every bot would
    /// decode every entity.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    mirror_every: u32,
    /// Fail (exit 1) if snapshot_hz is below this.
    #[arg(long)]
    min_snapshot_hz: Option<f64>,
    /// Fail (exit 1) if the p99 snapshot inter-arrival exceeds this, ms.
    #[arg(long)]
    max_p99_interarrival_ms: Option<f64>,
    /// Fail (exit 1) if more bots than this failed to join.
    #[arg(long)]
    max_failed: Option<u64>,
    /// Fail (exit 1) if more bots than this were disconnected.
    #[arg(long)]
    max_disconnected: Option<u64>,
    /// Log filter, as in RUST_LOG.
    #[arg(long, default_value = "warn")]
    log: String,
}

/// `--driver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DriverArg {
    Tasks,
    Loop,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_new(&cli.log).context("invalid --log filter")?)
        .init();
    let threads = cli.threads.map(|t| t as usize);
    // One thread: a current-thread runtime, with no work-stealing machinery
    // to pay for on every wake-up (the common case: a swarm pinned to a core).
    // The loop driver's threads are its own; its runtime only keeps time.
    let mut rt = match (cli.driver, threads) {
        (DriverArg::Loop, _) | (DriverArg::Tasks, Some(1)) => {
            tokio::runtime::Builder::new_current_thread()
        }
        (DriverArg::Tasks, Some(t)) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(t);
            b
        }
        (DriverArg::Tasks, None) => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = rt
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    if !(0.0..=1.0).contains(&cli.chaos_drop) {
        anyhow::bail!("--chaos-drop must be a probability, 0 to 1");
    }
    let tls = match &cli.ca {
        Some(ca) => Some(tls_trusting(ca)?),
        None => None,
    };
    let auth_secret = load_secret(cli.auth_secret_file.as_deref())?.map(|s| AuthSecret(s.into()));
    let config = SwarmConfig {
        url: cli.url.clone(),
        bots: cli.bots,
        duration: cli.duration,
        ramp_up: cli.ramp_up,
        seed: cli.seed,
        mirror_every: cli.mirror_every,
        progress: std::io::stdout().is_terminal(),
        options: ClientOptions { tls, origin: None },
        auth_secret,
        chaos_drop: cli.chaos_drop,
        matchmake: cli
            .matchmake
            .clone()
            .map(|url| snapwire_bot::matchmake::Matchmaker {
                url,
                mode: cli.mode.clone(),
            }),
        room: cli.room.map(snapwire_shared::RoomId),
        driver: match cli.driver {
            DriverArg::Tasks => Driver::Tasks,
            DriverArg::Loop => Driver::Loop {
                threads: threads.unwrap_or(1),
            },
        },
    };
    if let Some(why) = config.unsupported() {
        anyhow::bail!("--driver loop: {why}");
    }
    let report = rt.block_on(run_swarm(config));
    let target = cli.matchmake.as_deref().unwrap_or(&cli.url);
    println!("snapwire-bot: {} bot(s) against {target}", cli.bots);
    print!("{}", report.table());
    if let Some(path) = &cli.report {
        let json = serde_json::to_string_pretty(&report).context("report should serialise")?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let thresholds = Thresholds {
        min_snapshot_hz: cli.min_snapshot_hz,
        max_p99_interarrival_ms: cli.max_p99_interarrival_ms,
        max_failed: cli.max_failed,
        max_disconnected: cli.max_disconnected,
    };
    let violations = thresholds.violations(&report);
    if violations.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for v in &violations {
        eprintln!("threshold violated: {v}");
    }
    Ok(ExitCode::FAILURE)
}
