//! The room's own per-tick work: step every entity, then quantise the world
//! and rebuild the view grid (`Frame::build`, recycling the
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
use snapwire_benches::{DT, VIEW_RADIUS, arena_world, frame_of};
use snapwire_server::game::GameHost;
use snapwire_server::room::frame::Frame;
use snapwire_shared::Tick;
use std::hint::black_box;

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick/step_and_frame");
    for n in [1_000usize, 10_000, 50_000] {
        let mut sim = arena_world(n, 1);
        let layouts = sim.layouts().clone();
        let size = sim.world.size();
        let mut recycled = Some(frame_of(&sim, Tick(1), VIEW_RADIUS, Vec::new()).recycle().0);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                sim.step(Tick(1), DT);
                let mut old = recycled.take().unwrap_or_default();
                let (entities, state) = old.tables();
                sim.world.write_tables_with(entities, state);
                let frame =
                    Frame::build(Tick(1), layouts.clone(), VIEW_RADIUS, size, Vec::new(), old);
                black_box(frame.entities.len());
                recycled = Some(frame.recycle().0);
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("tick/encode_updates");
    for n in [1_000usize, 10_000, 50_000] {
        let mut sim = arena_world(n, 1);
        let older = frame_of(&sim, Tick(1), VIEW_RADIUS, Vec::new());
        sim.step(Tick(2), DT);
        let mut frame = frame_of(&sim, Tick(2), VIEW_RADIUS, Vec::new());
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| frame.encode_updates_from(black_box(&older)));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("tick/step_only");
    for n in [1_000usize, 10_000, 50_000] {
        let mut sim = arena_world(n, 1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(&mut sim).step(Tick(1), DT));
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
