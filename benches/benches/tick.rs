//! The room's own per-tick work: step every entity, then quantise the world
//! and rebuild the view grid (`Frame::from_world_reusing`, recycling the
//! previous frame's buffers as a steady room does).
//!
//! Expected: linear in entities (two linear passes and a counting sort; no
//! per-entity allocation), so time per entity is flat across the sweep.
//!
//! `tick/encode_updates`: the aoi room's last step of a tick, every
//! entity's update from the previous frame encoded once for the clients
//! that share it (`Frame::encode_updates_from`). Expected: linear in
//! entities.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use snapwire_benches::{DT, VIEW_RADIUS, arena_world};
use snapwire_server::room::frame::Frame;
use snapwire_server::sim::{Arena, GameRules};
use snapwire_shared::Tick;
use std::hint::black_box;

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick/step_and_frame");
    for n in [1_000usize, 10_000, 50_000] {
        let mut world = arena_world(n, 1);
        let mut recycled = Some(
            Frame::from_world(Tick(1), &world, VIEW_RADIUS, Vec::new())
                .recycle()
                .0,
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                Arena.step(&mut world, DT);
                let old = recycled.take().unwrap_or_default();
                let frame =
                    Frame::from_world_reusing(Tick(1), &world, VIEW_RADIUS, Vec::new(), old);
                black_box(frame.entities.len());
                recycled = Some(frame.recycle().0);
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("tick/encode_updates");
    for n in [1_000usize, 10_000, 50_000] {
        let mut world = arena_world(n, 1);
        let older = Frame::from_world(Tick(1), &world, VIEW_RADIUS, Vec::new());
        Arena.step(&mut world, DT);
        let mut frame = Frame::from_world(Tick(2), &world, VIEW_RADIUS, Vec::new());
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| frame.encode_updates_from(black_box(&older)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("tick/step_only");
    for n in [1_000usize, 10_000, 50_000] {
        let mut world = arena_world(n, 1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| Arena.step(black_box(&mut world), DT));
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
