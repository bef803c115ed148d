//! Per-client snapshot work, done in each connection's task.
//!
//! - `view/aoi`: one client's area-of-interest query, delta against its last
//!   snapshot and encoding, at the reference density (~28 visible, all
//!   moving), for a client that was sent the previous frame: its updates
//!   are copied from the frame's, encoded once per entity by the room.
//!   Expected: flat in world entities, since the grid query only touches
//!   the cells around the client.
//! - `view/aoi_diffed`: the same for a client that was not sent the
//!   previous frame (it skipped a tick), which diffs and encodes each
//!   entity itself. Expected: flat in world entities, above `view/aoi`.
//! - `view/full_shared`: the full-view delta (every entity moving) that all
//!   clients on one baseline share, encoded once. Expected: linear in
//!   entities.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use snapwire_benches::{Updates, VIEW_RADIUS, two_frames};
use snapwire_server::view::{ClientView, ViewScratch};
use snapwire_shared::delta::{DeltaScratch, Sel};
use std::hint::black_box;

fn aoi(c: &mut Criterion) {
    for (name, updates) in [
        ("view/aoi", Updates::Encoded),
        ("view/aoi_diffed", Updates::Diffed),
    ] {
        aoi_group(c, name, updates);
    }
}

fn aoi_group(c: &mut Criterion, name: &str, updates: Updates) {
    let mut group = c.benchmark_group(name);
    for n in [1_000usize, 10_000, 50_000] {
        let (f1, f2) = two_frames(n, VIEW_RADIUS, 2, updates);
        let mut view = ClientView::new(VIEW_RADIUS);
        let mut out = Vec::with_capacity(1024);
        let mut scratch = ViewScratch::default();
        // Warm the baseline so every timed call is a steady-state delta.
        view.encode_next(&f1, 0, &mut scratch, &mut out);
        let mut flip = false;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                out.clear();
                flip = !flip;
                let f = if flip { &f2 } else { &f1 };
                black_box(view.encode_next(f, 0, &mut scratch, &mut out))
            });
        });
    }
    group.finish();
}

fn full_shared(c: &mut Criterion) {
    let mut group = c.benchmark_group("view/full_shared");
    for n in [100usize, 1_000, 5_000] {
        let (f1, f2) = two_frames(n, 0.0, 3, Updates::Diffed);
        let mut scratch = DeltaScratch::default();
        let mut out = Vec::with_capacity(8 * n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                out.clear();
                f2.write_body(Some(&f1), Sel::All, Sel::All, &mut scratch, &mut out);
                black_box(out.len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, aoi, full_shared);
criterion_main!(benches);
