//! The registry and its one collector: every figure is read from its
//! source (stats, shards, rooms) when `/metrics` is scraped.

use super::{Buckets, LocalHistogram, RoomTelemetry, ShardSet, ShardTotals};
use crate::room::RoomManager;
use crate::stats::{Stats, Violation};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// The server's metrics: its registry and what it reads at scrape time.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) shards: Arc<ShardSet>,
    pub(crate) rooms: Arc<RoomTelemetry>,
}

impl Metrics {
    pub(crate) fn new(
        stats: Arc<Stats>,
        rooms: Arc<RoomTelemetry>,
        manager: Arc<RoomManager>,
        period: Duration,
    ) -> Self {
        let shards = Arc::new(ShardSet::new(period));
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Scrape {
            stats,
            shards: shards.clone(),
            rooms: rooms.clone(),
            manager,
        }));
        Metrics {
            registry,
            shards,
            rooms,
        }
    }

    /// The text exposition (OpenMetrics 1.0, which Prometheus scrapes).
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; a collector's error would be a bug.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Reads every source when scraped.
#[derive(Debug)]
struct Scrape {
    stats: Arc<Stats>,
    shards: Arc<ShardSet>,
    rooms: Arc<RoomTelemetry>,
    manager: Arc<RoomManager>,
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

fn histogram(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    buckets: &Buckets,
    h: &LocalHistogram,
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Histogram)?;
    let bounds = buckets
        .bounds()
        .iter()
        .map(|&b| f64::from(b) / 1e6)
        .chain(std::iter::once(f64::MAX));
    let pairs: Vec<(f64, u64)> = bounds.zip(h.counts.iter().copied()).collect();
    let count = h.counts.iter().sum();
    m.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
        h.sum_micros as f64 / 1e6,
        count,
        &pairs,
        None,
    )
}

/// A counter with one label, one sample per value.
fn labelled(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    label: &'static str,
    samples: &[(String, u64)],
) -> std::fmt::Result {
    let mut m = e.encode_descriptor(name, help, None, kind)?;
    for (value, n) in samples {
        let labels = [(label, value.as_str())];
        let mut f = m.encode_family(&labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(*n).encode(f)?,
            _ => f.encode_gauge(&i64::try_from(*n).unwrap_or(i64::MAX))?,
        }
    }
    Ok(())
}

impl Collector for Scrape {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.stats;
        let ShardTotals {
            counts: shards,
            playing,
        } = self.shards.totals();
        let rooms = self.manager.statuses();
        let players: u64 = rooms.iter().map(|r| r.players()).sum();
        gauge(
            &mut e,
            "snapwire_players",
            "Players in rooms, connected or waiting out the resume grace.",
            players,
        )?;
        gauge(&mut e, "snapwire_rooms", "Rooms open.", rooms.len() as u64)?;
        let open = s.open.load(Relaxed);
        let closing = s.closing.load(Relaxed);
        let states = [
            (
                "handshake".to_owned(),
                open.saturating_sub(playing + closing),
            ),
            ("playing".to_owned(), playing),
            ("closing".to_owned(), closing),
        ];
        labelled(
            &mut e,
            "snapwire_connections",
            "Open connections by state: handshake (before the join), playing (served by a shard), closing.",
            MetricType::Gauge,
            "state",
            &states,
        )?;
        counter(
            &mut e,
            "snapwire_connections_admitted",
            "Connections accepted past the connection caps.",
            s.admitted.load(Relaxed),
        )?;
        counter(
            &mut e,
            "snapwire_joins",
            "Joins (and resumes) that reached a room.",
            s.joined.load(Relaxed),
        )?;
        counter(
            &mut e,
            "snapwire_resumes",
            "Sessions resumed with a session token.",
            s.resumed.load(Relaxed),
        )?;
        counter(
            &mut e,
            "snapwire_resume_failures",
            "Resume attempts refused (unknown, spent or expired token).",
            s.violations(Violation::BadResume),
        )?;
        counter(
            &mut e,
            "snapwire_ticks",
            "Room ticks run, all rooms.",
            self.rooms.ticks.load(Relaxed),
        )?;
        counter(
            &mut e,
            "snapwire_tick_overruns",
            "Ticks whose work took longer than the tick period.",
            self.rooms.overruns.load(Relaxed),
        )?;
        counter(
            &mut e,
            "snapwire_ticks_skipped",
            "Ticks never run because a room woke a period or more late.",
            self.rooms.skipped.load(Relaxed),
        )?;
        histogram(
            &mut e,
            "snapwire_tick_duration_seconds",
            "Work of one room tick: commands, step, frame.",
            &self.rooms.tick_buckets,
            &self.rooms.tick_duration.load(),
        )?;
        counter(
            &mut e,
            "snapwire_snapshots_sent",
            "Snapshots written to clients.",
            shards.snapshots,
        )?;
        counter(
            &mut e,
            "snapwire_sent_bytes",
            "WebSocket payload bytes written by the shards (snapshots and pongs).",
            shards.sent_bytes,
        )?;
        counter(
            &mut e,
            "snapwire_messages_received",
            "Data messages read from joined clients.",
            shards.messages,
        )?;
        counter(
            &mut e,
            "snapwire_received_bytes",
            "Payload bytes of those messages.",
            shards.received_bytes,
        )?;
        counter(
            &mut e,
            "snapwire_inputs_dropped",
            "Inputs dropped because a room's command queue was full.",
            s.inputs_dropped.load(Relaxed),
        )?;
        histogram(
            &mut e,
            "snapwire_snapshot_gap_seconds",
            "Time between two snapshots written to one connection.",
            &self.shards.buckets.gap,
            &shards.gap,
        )?;
        histogram(
            &mut e,
            "snapwire_tick_to_send_seconds",
            "Time from a frame's publication to a connection's snapshot of it being written.",
            &self.shards.buckets.latency,
            &shards.latency,
        )?;
        let closes: Vec<(String, u64)> = s
            .close_counts()
            .into_iter()
            .map(|(c, n)| (c.label(), n))
            .collect();
        labelled(
            &mut e,
            "snapwire_closes",
            "Connections ended, by the close code the server sent (none: transport gone; client: the client closed first).",
            MetricType::Counter,
            "code",
            &closes,
        )?;
        let violations: Vec<(String, u64)> = Violation::ALL
            .iter()
            .map(|&v| (v.name().to_owned(), s.violations(v)))
            .collect();
        labelled(
            &mut e,
            "snapwire_violations",
            "Client violations and refusals, by kind.",
            MetricType::Counter,
            "kind",
            &violations,
        )?;
        Ok(())
    }
}
