//! Prometheus metrics: one registry per server, encoded at scrape time.
//!
//! Nothing on the per-snapshot path touches a shared cache line. A shard
//! counts what it sends and receives, and records its connections'
//! delivery cadence, in plain integers of its own ([`Tally`]); once per
//! tick it stores those running totals into its [`ShardCounters`] (one
//! relaxed store each, no read-modify-write). A scrape sums every shard's
//! counters, plus what shards that have ended left behind, so the counters
//! never go backwards. Rooms count their ticks with one atomic add per tick;
//! connection, close and violation counters live in [`Stats`] and move once
//! per connection or per violation.

mod scrape;

pub(crate) use scrape::Metrics;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Snapshot gap buckets, in tick periods: a client served every tick sits
/// at 1.0; 1.2 (40 ms at 30 Hz) is where "held" ends; 2 and up are skipped
/// ticks.
const GAP_PERIODS: [f64; 11] = [0.5, 0.9, 1.0, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0];
/// Tick-to-send buckets, in tick periods: how far into the tick a
/// connection's snapshot was written.
const LATENCY_PERIODS: [f64; 10] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0];
/// Tick duration buckets, in tick periods (1.0 is the budget).
const TICK_PERIODS: [f64; 11] = [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0];

/// Most bucket bounds a histogram has.
const MAX_BOUNDS: usize = 12;

/// Fixed upper bounds of a histogram's buckets (the `+Inf` bucket is implied).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buckets {
    /// In microseconds, ascending, padded with `u32::MAX` (which no value
    /// is below): a fixed array the bucket search compares all at once.
    micros: [u32; MAX_BOUNDS],
    len: usize,
}

impl Buckets {
    fn in_periods(period: Duration, factors: &[f64]) -> Self {
        assert!(factors.len() <= MAX_BOUNDS, "too many buckets");
        let p = period.as_secs_f64() * 1e6;
        let mut micros = [u32::MAX; MAX_BOUNDS];
        for (m, f) in micros.iter_mut().zip(factors) {
            *m = (f * p).round().min(f64::from(u32::MAX - 1)) as u32;
        }
        Buckets {
            micros,
            len: factors.len(),
        }
    }

    /// The bucket a duration falls in (`le` semantics: value <= bound):
    /// the number of bounds below it, counted without branches.
    fn index(&self, micros: u32) -> usize {
        self.micros.iter().filter(|&&b| b < micros).count()
    }

    fn len(&self) -> usize {
        self.len + 1
    }

    fn bounds(&self) -> &[u32] {
        &self.micros[..self.len]
    }
}

/// A duration in whole microseconds, saturating at `u32::MAX` (71 minutes).
fn micros(d: Duration) -> u32 {
    u32::try_from(micros_u64(d)).unwrap_or(u32::MAX)
}

/// A duration in whole microseconds, without `u128` arithmetic.
fn micros_u64(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()))
}

/// A histogram one task owns: plain counts.
#[derive(Debug, Clone)]
pub(crate) struct LocalHistogram {
    counts: Box<[u64]>,
    sum_micros: u64,
}

impl LocalHistogram {
    fn new(buckets: &Buckets) -> Self {
        LocalHistogram {
            counts: vec![0; buckets.len()].into(),
            sum_micros: 0,
        }
    }

    fn observe(&mut self, buckets: &Buckets, micros: u32) {
        self.counts[buckets.index(micros)] += 1;
        self.sum_micros += u64::from(micros);
    }

    fn add(&mut self, other: &LocalHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.sum_micros += other.sum_micros;
    }
}

/// A histogram one task writes (stores) and scrapes read.
#[derive(Debug)]
struct SharedHistogram {
    counts: Box<[AtomicU64]>,
    sum_micros: AtomicU64,
}

impl SharedHistogram {
    fn new(buckets: &Buckets) -> Self {
        SharedHistogram {
            counts: (0..buckets.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn store(&self, from: &LocalHistogram) {
        for (a, &b) in self.counts.iter().zip(from.counts.iter()) {
            a.store(b, Relaxed);
        }
        self.sum_micros.store(from.sum_micros, Relaxed);
    }

    fn load(&self) -> LocalHistogram {
        LocalHistogram {
            counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
            sum_micros: self.sum_micros.load(Relaxed),
        }
    }

    fn observe(&self, buckets: &Buckets, d: Duration) {
        let micros = micros(d);
        self.counts[buckets.index(micros)].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(u64::from(micros), Relaxed);
    }
}

/// Running totals of what shards sent and received.
#[derive(Debug, Clone)]
pub(crate) struct Counts {
    /// Snapshots written.
    pub(crate) snapshots: u64,
    /// WebSocket payload bytes written (snapshots and pongs).
    pub(crate) sent_bytes: u64,
    /// Data messages read from clients.
    pub(crate) messages: u64,
    /// Their payload bytes.
    pub(crate) received_bytes: u64,
    /// Time between two snapshots written to one connection.
    gap: LocalHistogram,
    /// Time from a frame's publication to a connection's snapshot of it.
    latency: LocalHistogram,
}

impl Counts {
    fn new(b: &CadenceBuckets) -> Self {
        Counts {
            snapshots: 0,
            sent_bytes: 0,
            messages: 0,
            received_bytes: 0,
            gap: LocalHistogram::new(&b.gap),
            latency: LocalHistogram::new(&b.latency),
        }
    }
}

/// The shard reads the clock once per this many snapshots of a pass.
///
/// A clock read and the `Instant` arithmetic around it cost more than the
/// rest of the per-snapshot metrics together; a pass writes a snapshot every
/// few microseconds, so a reading shared by 16 sends is off by well under a
/// millisecond, a fraction of the smallest cadence bucket that matters.
const CLOCK_EVERY: u32 = 16;

/// What one shard has done so far, counted in plain integers by the shard
/// alone, and published once per tick.
#[derive(Debug, Clone)]
pub struct Tally {
    pub(crate) counts: Counts,
    buckets: CadenceBuckets,
    /// What the microsecond times below count from.
    epoch: Instant,
    /// The last clock reading, and how many more sends may use it.
    clock: u64,
    clock_left: u32,
    /// When the frame of the current pass was published.
    published: u64,
}

impl Tally {
    /// A tally on its own, registered nowhere: for benchmarks that do a
    /// shard's per-snapshot work without a server.
    pub fn standalone(tick_period: Duration) -> Tally {
        Tally::new(CadenceBuckets::new(tick_period))
    }

    fn new(buckets: CadenceBuckets) -> Tally {
        Tally {
            counts: Counts::new(&buckets),
            buckets,
            epoch: Instant::now(),
            clock: 0,
            clock_left: 0,
            published: 0,
        }
    }

    /// A pass over the shard's connections with the frame published at
    /// `published` begins: the clock is read afresh at the next send.
    pub fn begin_pass(&mut self, published: Instant) {
        self.published = micros_u64(published.saturating_duration_since(self.epoch));
        self.clock_left = 0;
    }

    /// Now, in microseconds since the epoch (see [`CLOCK_EVERY`]); never 0.
    fn now(&mut self) -> u64 {
        if self.clock_left == 0 {
            self.clock = micros_u64(self.epoch.elapsed()).max(1);
            self.clock_left = CLOCK_EVERY;
        }
        self.clock_left -= 1;
        self.clock
    }

    /// Records one data message of `bytes` read from a client.
    pub(crate) fn received(&mut self, bytes: usize) {
        self.counts.messages += 1;
        self.counts.received_bytes += bytes as u64;
    }

    /// Records `bytes` written that are not a snapshot (a pong).
    pub(crate) fn sent(&mut self, bytes: usize) {
        self.counts.sent_bytes += bytes as u64;
    }

    /// Records one snapshot of `bytes` of this pass's frame, written now, to
    /// a connection whose last snapshot was written at `last_sent` (0: none
    /// yet), which it updates.
    pub fn snapshot(&mut self, bytes: usize, last_sent: &mut u64) {
        let now = self.now();
        let c = &mut self.counts;
        c.snapshots += 1;
        c.sent_bytes += bytes as u64;
        let since = |t: u64| u32::try_from(now.saturating_sub(t)).unwrap_or(u32::MAX);
        c.latency
            .observe(&self.buckets.latency, since(self.published));
        if *last_sent != 0 {
            c.gap.observe(&self.buckets.gap, since(*last_sent));
        }
        *last_sent = now;
    }
}

/// The bucket bounds of the cadence histograms.
#[derive(Debug, Clone)]
struct CadenceBuckets {
    gap: Buckets,
    latency: Buckets,
}

impl CadenceBuckets {
    fn new(period: Duration) -> Self {
        CadenceBuckets {
            gap: Buckets::in_periods(period, &GAP_PERIODS),
            latency: Buckets::in_periods(period, &LATENCY_PERIODS),
        }
    }
}

/// A shard's published totals.
#[derive(Debug)]
pub(crate) struct ShardCounters {
    snapshots: AtomicU64,
    sent_bytes: AtomicU64,
    messages: AtomicU64,
    received_bytes: AtomicU64,
    /// Connections the shard serves now.
    playing: AtomicU64,
    gap: SharedHistogram,
    latency: SharedHistogram,
}

impl ShardCounters {
    /// Publishes the shard's running totals (the shard is the only writer).
    pub(crate) fn publish(&self, t: &Tally, playing: usize) {
        let t = &t.counts;
        self.snapshots.store(t.snapshots, Relaxed);
        self.sent_bytes.store(t.sent_bytes, Relaxed);
        self.messages.store(t.messages, Relaxed);
        self.received_bytes.store(t.received_bytes, Relaxed);
        self.playing.store(playing as u64, Relaxed);
        self.gap.store(&t.gap);
        self.latency.store(&t.latency);
    }
}

/// Sums over shards.
#[derive(Debug, Clone)]
struct ShardTotals {
    counts: Counts,
    playing: u64,
}

impl ShardTotals {
    fn add(&mut self, c: &ShardCounters) {
        let t = &mut self.counts;
        t.snapshots += c.snapshots.load(Relaxed);
        t.sent_bytes += c.sent_bytes.load(Relaxed);
        t.messages += c.messages.load(Relaxed);
        t.received_bytes += c.received_bytes.load(Relaxed);
        t.gap.add(&c.gap.load());
        t.latency.add(&c.latency.load());
        self.playing += c.playing.load(Relaxed);
    }
}

/// Every shard's counters: the live ones, and the sum of those that ended.
#[derive(Debug)]
pub(crate) struct ShardSet {
    buckets: CadenceBuckets,
    inner: Mutex<(Vec<Arc<ShardCounters>>, ShardTotals)>,
}

impl ShardSet {
    fn new(period: Duration) -> Self {
        let buckets = CadenceBuckets::new(period);
        let retired = ShardTotals {
            counts: Counts::new(&buckets),
            playing: 0,
        };
        ShardSet {
            buckets,
            inner: Mutex::new((Vec::new(), retired)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Arc<ShardCounters>>, ShardTotals)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new shard's counters and its (empty) tally.
    pub(crate) fn add(&self) -> (Arc<ShardCounters>, Tally) {
        let b = &self.buckets;
        let counters = Arc::new(ShardCounters {
            snapshots: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            received_bytes: AtomicU64::new(0),
            playing: AtomicU64::new(0),
            gap: SharedHistogram::new(&b.gap),
            latency: SharedHistogram::new(&b.latency),
        });
        self.lock().0.push(counters.clone());
        let tally = Tally::new(b.clone());
        (counters, tally)
    }

    /// An ended shard: its final totals are kept, its connections are not.
    pub(crate) fn retire(&self, counters: &Arc<ShardCounters>) {
        let mut inner = self.lock();
        let (live, retired) = &mut *inner;
        if let Some(i) = live.iter().position(|c| Arc::ptr_eq(c, counters)) {
            live.swap_remove(i);
            counters.playing.store(0, Relaxed);
            retired.add(counters);
        }
    }

    fn totals(&self) -> ShardTotals {
        let inner = self.lock();
        let mut sum = inner.1.clone();
        for c in &inner.0 {
            sum.add(c);
        }
        sum
    }
}

/// What rooms report: counters every room adds to once per tick, and each
/// room's own status for `/rooms` and `/healthz`.
#[derive(Debug)]
pub struct RoomTelemetry {
    /// Where "microseconds since" in [`RoomStatus`] count from.
    epoch: Instant,
    ticks: AtomicU64,
    overruns: AtomicU64,
    skipped: AtomicU64,
    tick_buckets: Buckets,
    tick_duration: SharedHistogram,
}

impl RoomTelemetry {
    /// Telemetry for rooms ticking every `period`.
    pub fn new(period: Duration) -> Self {
        let tick_buckets = Buckets::in_periods(period, &TICK_PERIODS);
        RoomTelemetry {
            epoch: Instant::now(),
            ticks: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            tick_duration: SharedHistogram::new(&tick_buckets),
            tick_buckets,
        }
    }

    fn micros_since_epoch(&self, at: Instant) -> u64 {
        micros_u64(at.saturating_duration_since(self.epoch))
    }

    /// A new room's status; it counts as ticking from its creation.
    pub(crate) fn room(
        &self,
        id: snapwire_shared::RoomId,
        capacity: usize,
        tick_rate: u16,
    ) -> Arc<RoomStatus> {
        let created = Instant::now();
        Arc::new(RoomStatus {
            id,
            capacity,
            tick_rate,
            created,
            tick: AtomicU64::new(0),
            players: AtomicU64::new(0),
            last_tick_at: AtomicU64::new(self.micros_since_epoch(created)),
            last_tick_micros: AtomicU64::new(0),
        })
    }

    /// One tick of a room.
    pub(crate) fn tick(&self, status: &RoomStatus, t: TickReport) {
        self.ticks.fetch_add(1, Relaxed);
        if t.skipped > 0 {
            self.skipped.fetch_add(t.skipped, Relaxed);
        }
        if t.overran {
            self.overruns.fetch_add(1, Relaxed);
        }
        self.tick_duration.observe(&self.tick_buckets, t.took);
        status.tick.store(t.tick, Relaxed);
        status.players.store(t.players as u64, Relaxed);
        status
            .last_tick_at
            .store(self.micros_since_epoch(t.started), Relaxed);
        status.last_tick_micros.store(micros_u64(t.took), Relaxed);
    }

    /// Whether `room` has not begun a tick for longer than `stalled_after`.
    pub fn stalled(&self, room: &RoomStatus, stalled_after: Duration) -> bool {
        let now = self.micros_since_epoch(Instant::now());
        now.saturating_sub(room.last_tick_at.load(Relaxed)) > micros_u64(stalled_after)
    }
}

/// What a room tells about one of its ticks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TickReport {
    /// The tick's number.
    pub(crate) tick: u64,
    /// Players in the room.
    pub(crate) players: usize,
    /// When its work began.
    pub(crate) started: Instant,
    /// How long the work took.
    pub(crate) took: Duration,
    /// Ticks skipped before it (the room woke late).
    pub(crate) skipped: u64,
    /// Whether the work took longer than the tick period.
    pub(crate) overran: bool,
}

/// One room, as the admin listener lists it.
#[derive(Debug)]
pub struct RoomStatus {
    /// Which room.
    pub id: snapwire_shared::RoomId,
    /// Its seats.
    pub capacity: usize,
    /// Its ticks per second.
    pub tick_rate: u16,
    /// When it was created.
    pub created: Instant,
    tick: AtomicU64,
    players: AtomicU64,
    last_tick_at: AtomicU64,
    last_tick_micros: AtomicU64,
}

impl RoomStatus {
    /// The last tick it ran.
    pub fn tick(&self) -> u64 {
        self.tick.load(Relaxed)
    }

    /// Players in it (connected or waiting out the resume grace) at its last tick.
    pub fn players(&self) -> u64 {
        self.players.load(Relaxed)
    }

    /// How long its last tick's work took.
    pub fn last_tick_duration(&self) -> Duration {
        Duration::from_micros(self.last_tick_micros.load(Relaxed))
    }
}
