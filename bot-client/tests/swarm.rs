//! The swarm against a real server on 127.0.0.1:0: its report, its
//! thresholds, and a server that goes away.

mod common;

use common::{assert_healthy, start};
use snapwire_bot::{GameClient, Report, SwarmConfig, run_swarm};
use snapwire_server::{Config, ServerHandle};
use snapwire_shared::{ServerEvent, ServerMsg};
use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);

async fn within<F: Future>(f: F) -> F::Output {
    common::within(PATIENCE, f).await
}

async fn stop(server: ServerHandle) {
    common::stop(PATIENCE, server).await;
}

fn swarm(url: String, bots: u32, duration: Duration) -> SwarmConfig {
    SwarmConfig {
        ramp_up: Duration::from_millis(300),
        seed: 9,
        ..SwarmConfig::new(url, bots, duration)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_complete_and_sane() {
    let server = start(Config::default()).await;
    let report: Report = within(run_swarm(swarm(server.url(), 6, Duration::from_secs(2)))).await;
    assert_healthy(&report, 6, 2.0, 25.0..=35.0);
    assert!(
        report.prediction_error.p99 < 1.0,
        "prediction error {:?}",
        report.prediction_error
    );
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_checking_bots_follow_full_view_without_errors() {
    let server = start(Config {
        view_radius: 0.0,
        ..Config::default()
    })
    .await;
    let mut cfg = swarm(server.url(), 6, Duration::from_secs(1));
    cfg.mirror_every = 3;
    let report = within(run_swarm(cfg)).await;
    assert_eq!(report.connected, 6);
    assert_eq!(report.mirrored, 2, "bots 0 and 3 mirror");
    assert_eq!((report.decode_errors, report.delta_errors), (0, 0));
    assert!(
        (report.visible_mean - 6.0).abs() < 0.01,
        "full view: everyone sees all six ({})",
        report.visible_mean
    );
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_violated_threshold_makes_the_exit_status_non_zero() {
    // A server that ticks at 10 Hz cannot give 29 snapshots a second.
    let server = start(Config {
        tick_rate: 10,
        ..Config::default()
    })
    .await;
    let out = within(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_snapwire-bot"))
            .args([
                "--url",
                &server.url(),
                "--bots",
                "2",
                "--duration",
                "1s",
                "--min-snapshot-hz",
                "29",
            ])
            .args(["--max-failed", "0", "--threads", "1"])
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("the bot binary should run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "exit status should be non-zero; stderr: {stderr}"
    );
    assert!(
        stderr.contains("--min-snapshot-hz"),
        "the violated threshold is named: {stderr}"
    );
    assert!(
        !stderr.contains("--max-failed"),
        "thresholds that held are not reported: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("snapshot_hz"),
        "the table is printed: {stdout}"
    );
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_drops_resume_with_consistent_mirrors_and_leave_no_ghosts() {
    let server = start(Config::default()).await;
    let mut cfg = swarm(server.url(), 20, Duration::from_secs(3));
    cfg.chaos_drop = 0.5;
    let report = within(run_swarm(cfg)).await;
    assert_eq!(
        (report.connected, report.failed, report.disconnected),
        (20, 0, 0)
    );
    assert!(report.resumes >= 10, "resumes: {}", report.resumes);
    assert_eq!(report.resume_failures, 0);
    assert_eq!((report.decode_errors, report.delta_errors), (0, 0));
    // Every bot left at the end; a newcomer's roster lists only itself.
    let (mut probe, welcome) = within(GameClient::join(&server.url(), "probe"))
        .await
        .expect("probe joins");
    let ServerMsg::Snapshot(first) = within(probe.recv()).await.expect("a snapshot") else {
        panic!("a snapshot comes first after Welcome");
    };
    let first = probe.apply(&first).expect("the first snapshot applies");
    let present: Vec<_> = first
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::PlayerJoined { player, .. } => Some(*player),
            _ => None,
        })
        .collect();
    assert_eq!(present, vec![welcome.player], "no ghost players left");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_gives_disconnects_not_a_hang() {
    common::a_server_that_goes_away_gives_disconnects(swarm, PATIENCE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_sign_their_own_join_tokens() {
    common::bots_sign_their_own_join_tokens(
        swarm,
        b"swarm-test-secret-swarm-test-secret",
        PATIENCE,
    )
    .await;
}
