//! What the swarm tests share: a real server on 127.0.0.1:0, and the checks
//! every healthy swarm report passes, whichever driver ran it.

use snapwire_bot::Report;
use snapwire_server::{Config, ServerHandle};
use std::ops::RangeInclusive;

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
