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
    tokio::time::timeout(PATIENCE, f)
        .await
        .expect("should finish in time")
}

async fn stop(server: ServerHandle) {
    within(server.stop())
        .await
        .expect("the server should end cleanly");
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
async fn a_server_that_goes_away_gives_disconnects_not_a_hang() {
    let server = start(Config {
        view_radius: 0.0,
        ..Config::default()
    })
    .await;
    let swarm = tokio::spawn(run_swarm(swarm(server.url(), 3, Duration::from_secs(3))));
    // Watch the room until all three bots are in it, then stop the server.
    let (mut probe, _) = within(GameClient::join(&server.url(), "probe"))
        .await
        .expect("probe joins");
    let mut present = 0; // entities in the probe's view, itself included
    while present < 4 {
        if let ServerMsg::Snapshot(s) = within(probe.recv()).await.expect("probe stays connected") {
            probe.apply(&s).expect("the probe's snapshots chain");
            present = probe.view().map_or(0, |m| m.len());
        }
    }
    stop(server).await;
    let report = within(swarm)
        .await
        .expect("the swarm task should not panic");
    assert_eq!(report.connected, 3);
    assert_eq!(report.disconnected, 3, "every bot saw the server go");
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
async fn bots_sign_their_own_join_tokens() {
    let secret: &[u8] = b"swarm-test-secret-swarm-test-secret";
    let server = start(Config {
        auth: Some(std::sync::Arc::new(snapwire_server::auth::JoinAuth::new(
            secret,
        ))),
        ..Config::default()
    })
    .await;
    // Without tokens, every bot is refused.
    let refused = within(run_swarm(swarm(
        server.url(),
        2,
        Duration::from_millis(300),
    )))
    .await;
    assert_eq!((refused.connected, refused.failed), (0, 2));
    let mut cfg = swarm(server.url(), 4, Duration::from_secs(1));
    cfg.auth_secret = Some(snapwire_bot::swarm::AuthSecret(secret.into()));
    let report = within(run_swarm(cfg)).await;
    assert_eq!(
        (report.connected, report.failed, report.disconnected),
        (4, 0, 0)
    );
    assert_eq!((report.decode_errors, report.delta_errors), (0, 0));
    stop(server).await;
}
