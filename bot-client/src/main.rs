//! `snapwire-bot`: headless players for a snapwire server.

use anyhow::Context;
use clap::Parser;
use snapwire_bot::bot::{BotConfig, BotStats, run_bot};
use std::time::Duration;
use tokio::task::JoinSet;
use tracing_subscriber::EnvFilter;

/// Headless bots that join a snapwire server, walk at random, mirror what
/// they see, and report what they measured.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Server endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:7777/play")]
    url: String,
    /// Number of bots.
    #[arg(long, default_value_t = 1)]
    bots: u32,
    /// How long each bot plays, like `10s` or `500ms`.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Seed of the bots' random walks (bot i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Log filter, as in RUST_LOG.
    #[arg(long, default_value = "warn")]
    log: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).context("invalid --log filter")?)
        .init();
    let mut bots = JoinSet::new();
    for i in 0..cli.bots {
        bots.spawn(run_bot(BotConfig {
            url: cli.url.clone(),
            name: format!("bot{i}"),
            duration: cli.duration,
            seed: cli.seed.wrapping_add(u64::from(i)),
        }));
    }
    let mut total = BotStats::default();
    while let Some(stats) = bots.join_next().await {
        total.merge(&stats.context("a bot task panicked")?);
    }
    print_summary(&cli, &total);
    if total.connected == 0 {
        anyhow::bail!(
            "no bot could join: {}",
            total.last_disconnect.unwrap_or_default()
        );
    }
    Ok(())
}

fn print_summary(cli: &Cli, s: &BotStats) {
    let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let per_bot_s = |bytes: u64| {
        if s.play_secs > 0.0 {
            bytes as f64 / s.play_secs
        } else {
            0.0
        }
    };
    println!(
        "snapwire-bot: {} bot(s) against {} for {:?}",
        cli.bots, cli.url, cli.duration
    );
    println!("  connected            {}", s.connected);
    println!("  failed               {}", s.failed);
    println!("  disconnected         {}", s.disconnected);
    println!("  snapshot_hz          {:.2}", s.snapshot_hz());
    println!(
        "  interarrival_ms      p50 {:.1}  p99 {:.1}  max {:.1}",
        ms(&s.interarrival_us, 0.5),
        ms(&s.interarrival_us, 0.99),
        s.interarrival_us.max() as f64 / 1000.0
    );
    println!(
        "  rtt_ms               p50 {:.2}  p99 {:.2}  max {:.2}",
        ms(&s.rtt_us, 0.5),
        ms(&s.rtt_us, 0.99),
        s.rtt_us.max() as f64 / 1000.0
    );
    println!("  bytes_in_per_bot_s   {:.0}", per_bot_s(s.bytes_in));
    println!("  bytes_out_per_bot_s  {:.0}", per_bot_s(s.bytes_out));
    println!("  visible_mean         {:.1}", s.visible_mean());
    println!("  events               {}", s.events);
    println!("  decode_errors        {}", s.decode_errors);
    println!("  delta_errors         {}", s.delta_errors);
    println!(
        "  prediction_error     p50 {:.3}  p99 {:.3}",
        s.prediction_error_milli.value_at_quantile(0.5) as f64 / 1000.0,
        s.prediction_error_milli.value_at_quantile(0.99) as f64 / 1000.0
    );
    if let Some(why) = &s.last_disconnect {
        println!("  last disconnect      {why}");
    }
}
