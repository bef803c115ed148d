//! What the swarm tests share: a real server on 127.0.0.1:0, and the checks
//! every healthy swarm report passes, whichever driver ran it.

use snapwire_bot::{GameClient, Report, SwarmConfig, run_swarm};
use snapwire_server::{Config, ServerHandle};
use snapwire_shared::ServerMsg;
use std::future::Future;
use std::ops::RangeInclusive;
use std::time::Duration;

/// A swarm configuration for `url`: `bots` bots measured for a window.
pub type MakeSwarm = fn(String, u32, Duration) -> SwarmConfig;

/// `f`, or a panic once `patience` has passed.
pub async fn within<F: Future>(patience: Duration, f: F) -> F::Output {
    tokio::time::timeout(patience, f)
        .await
        .expect("should finish in time")
}

/// Stops `server`, which must end cleanly within `patience`.
pub async fn stop(patience: Duration, server: ServerHandle) {
    within(patience, server.stop())
        .await
        .expect("the server should end cleanly");
}

pub async fn start(config: Config) -> ServerHandle {
    ServerHandle::start("127.0.0.1:0", config)
        .await
        .expect("binding 127.0.0.1:0 should work")
}

/// `bots` bots, all connected and mirroring, over a window of `window_s`:
/// snapshots at a rate in `hz` and about a tick apart, pings answered,
/// traffic both ways, a view, no decode or delta error.
pub fn assert_healthy(report: &Report, bots: u64, window_s: f64, hz: RangeInclusive<f64>) {
    assert_eq!(
        (
            report.bots,
            report.connected,
            report.failed,
            report.disconnected
        ),
        (bots, bots, 0, 0)
    );
    assert!(
        (report.window_s - window_s).abs() < 0.01,
        "{}",
        report.window_s
    );
    assert!(
        hz.contains(&report.snapshot_hz),
        "snapshot_hz {}",
        report.snapshot_hz
    );
    assert!(
        report.interarrival_ms.p50 > 20.0 && report.interarrival_ms.p50 < 50.0,
        "{:?}",
        report.interarrival_ms
    );
    assert!(
        report.rtt_ms.p50 > 0.0,
        "pings were answered: {:?}",
        report.rtt_ms
    );
    // One input per tick (plus a ping a second) went out.
    assert!(
        report.bytes_out_per_bot_s > 100.0 && report.bytes_in_per_bot_s > 100.0,
        "{report:?}"
    );
    assert!(report.visible_mean >= 1.0, "each bot sees at least itself");
    assert_eq!((report.decode_errors, report.delta_errors), (0, 0));
    assert_eq!(report.mirrored, bots);
}

/// Three bots in a room: once a probe sees all of them, the server stops;
/// every bot must report the disconnect rather than hang.
pub async fn a_server_that_goes_away_gives_disconnects(make: MakeSwarm, patience: Duration) {
    let server = start(Config {
        view_radius: 0.0,
        ..Config::default()
    })
    .await;
    let swarm = tokio::spawn(run_swarm(make(server.url(), 3, Duration::from_secs(3))));
    // Watch the room until all three bots are in it, then stop the server.
    let (mut probe, _) = within(patience, GameClient::join(&server.url(), "probe"))
        .await
        .expect("probe joins");
    let mut present = 0; // entities in the probe's view, itself included
    while present < 4 {
        if let ServerMsg::Snapshot(s) = within(patience, probe.recv())
            .await
            .expect("probe stays connected")
        {
            probe.apply(&s).expect("the probe's snapshots chain");
            present = probe.view().map_or(0, |m| m.len());
        }
    }
    stop(patience, server).await;
    let report = within(patience, swarm)
        .await
        .expect("the swarm task should not panic");
    assert_eq!(report.connected, 3);
    assert_eq!(report.disconnected, 3, "every bot saw the server go");
}

/// With join tokens required, bots without the secret are all refused and
/// bots that sign their own tokens with it all play.
pub async fn bots_sign_their_own_join_tokens(make: MakeSwarm, secret: &[u8], patience: Duration) {
    let server = start(Config {
        auth: Some(std::sync::Arc::new(snapwire_server::auth::JoinAuth::new(
            secret,
        ))),
        ..Config::default()
    })
    .await;
    // Without tokens, every bot is refused.
    let refused = within(
        patience,
        run_swarm(make(server.url(), 2, Duration::from_millis(300))),
    )
    .await;
    assert_eq!((refused.connected, refused.failed), (0, 2));
    let mut cfg = make(server.url(), 4, Duration::from_secs(1));
    cfg.auth_secret = Some(snapwire_bot::swarm::AuthSecret(secret.into()));
    let report = within(patience, run_swarm(cfg)).await;
    assert_eq!(
        (report.connected, report.failed, report.disconnected),
        (4, 0, 0)
    );
    assert_eq!((report.decode_errors, report.delta_errors), (0, 0));
    stop(patience, server).await;
}
