//! What the swarm measures, and the report it makes of it.
//!
//! Counters live in each bot and are summed at the end; latency samples go
//! into histograms shared by all bots (hdrhistogram), through a small
//! per-bot buffer, so that a bot costs a few hundred bytes, not three
//! histograms' worth.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Samples a bot buffers before taking the shared lock.
const FLUSH_AT: usize = 32;

/// Histograms shared by every bot of a swarm.
#[derive(Debug)]
pub struct Samples {
    /// Gap between consecutive snapshots at one bot, µs.
    pub interarrival_us: Histogram<u64>,
    /// Ping to pong, µs.
    pub rtt_us: Histogram<u64>,
    /// Predicted vs server position after reconciliation, 1/1000 unit.
    pub prediction_milli: Histogram<u64>,
}

impl Default for Samples {
    fn default() -> Self {
        // One hour in µs at three significant digits: ample for any gap.
        let h =
            || Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid");
        Samples {
            interarrival_us: h(),
            rtt_us: h(),
            prediction_milli: h(),
        }
    }
}

/// Which histogram a sample belongs to.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Snapshot inter-arrival, µs.
    Interarrival,
    /// Round trip, µs.
    Rtt,
    /// Prediction error, 1/1000 unit.
    Prediction,
}

/// One bot's unflushed samples.
#[derive(Debug, Default)]
pub struct SampleBuf {
    buf: Vec<(Kind, u64)>,
}

impl SampleBuf {
    /// Records a sample, flushing into `shared` when the buffer is full.
    pub fn record(&mut self, kind: Kind, value: u64, shared: &Mutex<Samples>) {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(FLUSH_AT);
        }
        self.buf.push((kind, value.max(1)));
        if self.buf.len() >= FLUSH_AT {
            self.flush(shared);
        }
    }

    /// Moves the buffered samples into `shared`.
    pub fn flush(&mut self, shared: &Mutex<Samples>) {
        if self.buf.is_empty() {
            return;
        }
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, v) in self.buf.drain(..) {
            let h = match kind {
                Kind::Interarrival => &mut s.interarrival_us,
                Kind::Rtt => &mut s.rtt_us,
                Kind::Prediction => &mut s.prediction_milli,
            };
            // Values beyond an hour are saturated rather than lost.
            h.saturating_record(v);
        }
    }
}

/// One bot's counters, summed over the swarm at the end.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    /// Got a Welcome.
    pub connected: u64,
    /// Could not connect, or was refused.
    pub failed: u64,
    /// Lost its connection before the end of the window.
    pub disconnected: u64,
    /// Kept a full mirror (rather than checking the tick chain only).
    pub mirrored: u64,
    /// Snapshots received in the window.
    pub snapshots: u64,
    /// Payload bytes received in the window.
    pub bytes_in: u64,
    /// Payload bytes sent in the window.
    pub bytes_out: u64,
    /// Sum of mirrored entities over mirrored snapshots in the window.
    pub visible_sum: u64,
    /// Mirrored snapshots in the window.
    pub visible_snapshots: u64,
    /// Frames that did not decode (whole run).
    pub decode_errors: u64,
    /// Snapshots that did not fit the mirror or the tick chain (whole run).
    pub delta_errors: u64,
    /// Sessions resumed after a deliberate drop (`--chaos-drop`, whole run).
    pub resumes: u64,
    /// Resumes the server refused or that did not complete (whole run).
    pub resume_failures: u64,
    /// Times a bot lost its server and joined again through matchmaking
    /// (`--matchmake`, whole run).
    pub rejoins: u64,
    /// Why the most recent failure or disconnect happened.
    pub last_error: Option<String>,
}

impl Counters {
    /// Adds another bot's counters.
    pub fn add(&mut self, o: &Counters) {
        self.connected += o.connected;
        self.failed += o.failed;
        self.disconnected += o.disconnected;
        self.mirrored += o.mirrored;
        self.snapshots += o.snapshots;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.visible_sum += o.visible_sum;
        self.visible_snapshots += o.visible_snapshots;
        self.decode_errors += o.decode_errors;
        self.delta_errors += o.delta_errors;
        self.resumes += o.resumes;
        self.resume_failures += o.resume_failures;
        self.rejoins += o.rejoins;
        if o.last_error.is_some() {
            self.last_error.clone_from(&o.last_error);
        }
    }
}

/// `{p50, p99, max}` in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct P50P99Max {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// `{p50, p99}` in world units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct P50P99 {
    pub p50: f64,
    pub p99: f64,
}

/// The swarm's report: the metrics of `docs/WORKLOAD.md`, by those names,
/// plus `mirrored`, `resumes` and `resume_failures`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Bots requested.
    pub bots: u64,
    /// Bots that received `Welcome`.
    pub connected: u64,
    /// Bots that could not connect or were refused.
    pub failed: u64,
    /// Bots dropped by the server or the network before the window's end.
    pub disconnected: u64,
    /// Length of the measured window, seconds.
    pub window_s: f64,
    /// Snapshots received per bot per second (mean over connected bots).
    pub snapshot_hz: f64,
    /// Gap between consecutive snapshots at one bot, ms.
    pub interarrival_ms: P50P99Max,
    /// Ping to pong round trip, ms.
    pub rtt_ms: P50P99Max,
    /// WebSocket payload bytes received per bot per second.
    pub bytes_in_per_bot_s: f64,
    /// WebSocket payload bytes sent per bot per second.
    pub bytes_out_per_bot_s: f64,
    /// Mean entities in a bot's mirrored view.
    pub visible_mean: f64,
    /// Frames that did not decode.
    pub decode_errors: u64,
    /// Snapshots whose `base_tick` did not match the bot's mirror.
    pub delta_errors: u64,
    /// Predicted vs server position of the bot's own entity after
    /// reconciliation, world units.
    pub prediction_error: P50P99,
    /// Bots that kept a full mirror (all unless `--mirror-every` > 1).
    pub mirrored: u64,
    /// Sessions resumed after a deliberate drop (`--chaos-drop`), whole run.
    pub resumes: u64,
    /// Resumes refused or not completed, whole run.
    pub resume_failures: u64,
    /// Rejoins through matchmaking after a lost server, whole run.
    pub rejoins: u64,
}

fn ms(h: &Histogram<u64>) -> P50P99Max {
    let q = |q| h.value_at_quantile(q) as f64 / 1000.0;
    P50P99Max {
        p50: q(0.5),
        p99: q(0.99),
        max: h.max() as f64 / 1000.0,
    }
}

impl Report {
    /// Builds the report from the summed counters and shared samples.
    pub fn new(bots: u64, window_s: f64, c: &Counters, s: &Samples) -> Report {
        let per_bot_s = |v: u64| {
            if c.connected == 0 || window_s <= 0.0 {
                0.0
            } else {
                v as f64 / c.connected as f64 / window_s
            }
        };
        let units = |q| s.prediction_milli.value_at_quantile(q) as f64 / 1000.0;
        Report {
            bots,
            connected: c.connected,
            failed: c.failed,
            disconnected: c.disconnected,
            window_s,
            snapshot_hz: per_bot_s(c.snapshots),
            interarrival_ms: ms(&s.interarrival_us),
            rtt_ms: ms(&s.rtt_us),
            bytes_in_per_bot_s: per_bot_s(c.bytes_in),
            bytes_out_per_bot_s: per_bot_s(c.bytes_out),
            visible_mean: if c.visible_snapshots == 0 {
                0.0
            } else {
                c.visible_sum as f64 / c.visible_snapshots as f64
            },
            decode_errors: c.decode_errors,
            delta_errors: c.delta_errors,
            prediction_error: P50P99 {
                p50: units(0.5),
                p99: units(0.99),
            },
            mirrored: c.mirrored,
            resumes: c.resumes,
            resume_failures: c.resume_failures,
            rejoins: c.rejoins,
        }
    }

    /// The report as an aligned, human-readable table.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let mut row = |k: &str, v: String| {
            let _ = writeln!(t, "  {k:<22} {v}");
        };
        row("bots", self.bots.to_string());
        row("connected", self.connected.to_string());
        row("failed", self.failed.to_string());
        row("disconnected", self.disconnected.to_string());
        row("window_s", format!("{:.1}", self.window_s));
        row("snapshot_hz", format!("{:.2}", self.snapshot_hz));
        let pm = |p: &P50P99Max| format!("p50 {:.1}  p99 {:.1}  max {:.1}", p.p50, p.p99, p.max);
        row("interarrival_ms", pm(&self.interarrival_ms));
        row("rtt_ms", pm(&self.rtt_ms));
        row(
            "bytes_in_per_bot_s",
            format!("{:.0}", self.bytes_in_per_bot_s),
        );
        row(
            "bytes_out_per_bot_s",
            format!("{:.0}", self.bytes_out_per_bot_s),
        );
        row("visible_mean", format!("{:.1}", self.visible_mean));
        row("decode_errors", self.decode_errors.to_string());
        row("delta_errors", self.delta_errors.to_string());
        row(
            "prediction_error",
            format!(
                "p50 {:.3}  p99 {:.3}",
                self.prediction_error.p50, self.prediction_error.p99
            ),
        );
        row("mirrored", self.mirrored.to_string());
        row("resumes", self.resumes.to_string());
        row("resume_failures", self.resume_failures.to_string());
        row("rejoins", self.rejoins.to_string());
        t
    }
}

/// Pass/fail limits; `None` means not checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Thresholds {
    /// `snapshot_hz` must be at least this.
    pub min_snapshot_hz: Option<f64>,
    /// `interarrival_ms.p99` must be at most this.
    pub max_p99_interarrival_ms: Option<f64>,
    /// `failed` must be at most this.
    pub max_failed: Option<u64>,
    /// `disconnected` must be at most this.
    pub max_disconnected: Option<u64>,
}

impl Thresholds {
    /// Every violated threshold, described.
    pub fn violations(&self, r: &Report) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(min) = self.min_snapshot_hz.filter(|&m| r.snapshot_hz < m) {
            v.push(format!(
                "snapshot_hz {:.2} < --min-snapshot-hz {min}",
                r.snapshot_hz
            ));
        }
        if let Some(max) = self
            .max_p99_interarrival_ms
            .filter(|&m| r.interarrival_ms.p99 > m)
        {
            v.push(format!(
                "interarrival_ms.p99 {:.1} > --max-p99-interarrival-ms {max}",
                r.interarrival_ms.p99
            ));
        }
        if let Some(max) = self.max_failed.filter(|&m| r.failed > m) {
            v.push(format!("failed {} > --max-failed {max}", r.failed));
        }
        if let Some(max) = self.max_disconnected.filter(|&m| r.disconnected > m) {
            v.push(format!(
                "disconnected {} > --max-disconnected {max}",
                r.disconnected
            ));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(snapshot_hz: f64, p99: f64, failed: u64, disconnected: u64) -> Report {
        let mut r = Report::new(10, 1.0, &Counters::default(), &Samples::default());
        r.snapshot_hz = snapshot_hz;
        r.interarrival_ms.p99 = p99;
        r.failed = failed;
        r.disconnected = disconnected;
        r
    }

    #[test]
    fn every_violated_threshold_is_named() {
        let t = Thresholds {
            min_snapshot_hz: Some(29.0),
            max_p99_interarrival_ms: Some(50.0),
            max_failed: Some(0),
            max_disconnected: Some(0),
        };
        assert!(t.violations(&report(30.0, 40.0, 0, 0)).is_empty());
        let v = t.violations(&report(10.0, 90.0, 1, 2));
        assert_eq!(v.len(), 4, "{v:?}");
        assert!(v[0].contains("--min-snapshot-hz"));
        assert!(v[3].contains("--max-disconnected"));
        assert!(
            Thresholds::default()
                .violations(&report(0.0, 1e9, 9, 9))
                .is_empty()
        );
    }

    #[test]
    fn the_json_has_exactly_the_workload_keys() {
        let json = serde_json::to_value(report(30.0, 40.0, 0, 0)).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bots",
                "bytes_in_per_bot_s",
                "bytes_out_per_bot_s",
                "connected",
                "decode_errors",
                "delta_errors",
                "disconnected",
                "failed",
                "interarrival_ms",
                "mirrored",
                "prediction_error",
                "rejoins",
                "resume_failures",
                "resumes",
                "rtt_ms",
                "snapshot_hz",
                "visible_mean",
                "window_s",
            ]
        );
        assert_eq!(json["interarrival_ms"].as_object().unwrap().len(), 3);
        assert_eq!(json["prediction_error"].as_object().unwrap().len(), 2);
    }

    #[test]
    fn samples_reach_the_shared_histograms() {
        let shared = Mutex::new(Samples::default());
        let mut buf = SampleBuf::default();
        for i in 0..100 {
            buf.record(Kind::Rtt, 1000 + i, &shared);
        }
        buf.flush(&shared);
        let s = shared.lock().unwrap();
        assert_eq!(s.rtt_us.len(), 100);
        assert_eq!(s.interarrival_us.len(), 0);
    }
}
