//! The loop driver (`--driver loop`) against a real server on 127.0.0.1:0:
//! the same game and the same report as the task driver, and its limits.

mod common;

use common::{assert_healthy, start};
use snapwire_bot::{Driver, Report, SwarmConfig, run_swarm};
use snapwire_server::{Config, ServerHandle};
use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(40);

async fn within<F: Future>(f: F) -> F::Output {
    common::within(PATIENCE, f).await
}

async fn stop(server: ServerHandle) {
    common::stop(PATIENCE, server).await;
}

fn looped(url: String, bots: u32, duration: Duration, threads: usize) -> SwarmConfig {
    SwarmConfig {
        ramp_up: Duration::from_millis(500),
        seed: 11,
        driver: Driver::Loop { threads },
        ..SwarmConfig::new(url, bots, duration)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_bots_mirror_predict_and_report_like_task_bots() {
    let server = start(Config::default()).await;
    let report: Report = within(run_swarm(looped(
        server.url(),
        30,
        Duration::from_secs(3),
        1,
    )))
    .await;
    assert_healthy(&report, 30, 3.0, 27.0..=33.0);
    assert!(
        report.prediction_error.p99 > 0.0 && report.prediction_error.p99 < 1.0,
        "prediction errors were recorded and small: {:?}",
        report.prediction_error
    );
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_threads_share_the_bots_and_chain_check_full_view() {
    let server = start(Config {
        view_radius: 0.0,
        ..Config::default()
    })
    .await;
    let mut cfg = looped(server.url(), 6, Duration::from_secs(1), 2);
    cfg.mirror_every = 3;
    let report = within(run_swarm(cfg)).await;
    assert_eq!(
        (report.connected, report.failed, report.disconnected),
        (6, 0, 0)
    );
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
async fn loop_bots_leave_at_the_end_of_the_window() {
    let server = start(Config::default()).await;
    let report = within(run_swarm(looped(
        server.url(),
        5,
        Duration::from_millis(500),
        1,
    )))
    .await;
    assert_eq!((report.connected, report.disconnected), (5, 0));
    // Everyone said Leave: the room is empty again.
    let (mut probe, welcome) = within(snapwire_bot::GameClient::join(&server.url(), "probe"))
        .await
        .expect("probe joins");
    let snapwire_shared::ServerMsg::Snapshot(first) =
        within(probe.recv()).await.expect("a snapshot")
    else {
        panic!("a snapshot comes first after Welcome");
    };
    let first = probe.apply(&first).expect("the first snapshot applies");
    let present: Vec<_> = first
        .events
        .iter()
        .filter_map(|e| match e {
            snapwire_shared::ServerEvent::PlayerJoined { player, .. } => Some(*player),
            _ => None,
        })
        .collect();
    assert_eq!(present, vec![welcome.player], "no bot left behind");
    stop(server).await;
}

#[tokio::test]
async fn the_cli_refuses_what_the_loop_driver_does_not_do() {
    for extra in [
        &["--url", "wss://127.0.0.1:1/play"][..],
        &["--chaos-drop", "0.1"][..],
        &["--matchmake", "http://127.0.0.1:1/matchmake"][..],
    ] {
        let out = within(
            tokio::process::Command::new(env!("CARGO_BIN_EXE_snapwire-bot"))
                .args(["--driver", "loop", "--bots", "1", "--duration", "100ms"])
                .args(extra)
                .stdin(Stdio::null())
                .output(),
        )
        .await
        .expect("the bot binary should run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} should be refused");
        assert!(
            stderr.contains("--driver loop") && stderr.contains("--driver tasks"),
            "{extra:?}: the refusal says why and what to use: {stderr}"
        );
    }
}

/// One loop thread.
fn looped1(url: String, bots: u32, duration: Duration) -> SwarmConfig {
    looped(url, bots, duration, 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_bots_see_a_server_go_away_as_disconnects_not_a_hang() {
    common::a_server_that_goes_away_gives_disconnects(looped1, PATIENCE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_bots_sign_their_join_tokens_and_fail_without() {
    common::bots_sign_their_own_join_tokens(
        looped1,
        b"loop-test-secret-loop-test-secret",
        PATIENCE,
    )
    .await;
}
