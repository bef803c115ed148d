//! A whole room tick with N virtual clients, no sockets: step the world,
//! build the frame, then every client's view, delta and encoding. This is
//! the CPU a room needs per tick before any I/O; divided into the 33 ms
//! budget it bounds players per core from above.
//!
//! Expected: linear in clients (each client's view is constant work at the
//! reference density), so time per client is flat across the sweep, at
//! roughly the `view/aoi` figure plus the per-entity share of `tick`, plus
//! cache misses `view/aoi` does not have: each client's baseline and
//! neighbourhood are cold when its turn comes. Entities random-walk as in
//! the workload, so the density stays the reference one however many
//! ticks criterion runs.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use snapwire_benches::{DT, VIEW_RADIUS, arena_world, player_frames, turn_some};
use snapwire_server::room::frame::Frame;
use snapwire_server::sim::{Arena, GameRules};
use snapwire_server::view::{ClientView, ViewScratch};
use snapwire_shared::Tick;
use std::sync::Arc;

fn room_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_tick/aoi");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let mut world = arena_world(n, 5);
        let players = player_frames(n);
        let mut views: Vec<ClientView> = (0..n).map(|_| ClientView::new(VIEW_RADIUS)).collect();
        let mut out = Vec::with_capacity(1024);
        let mut scratch = ViewScratch::default();
        let mut tick = Tick::NONE;
        let mut rng = SmallRng::seed_from_u64(6);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                tick = tick.next();
                turn_some(&mut world, tick.0, &mut rng);
                Arena.step(&mut world, DT);
                let frame = Arc::new(Frame::from_world(
                    tick,
                    &world,
                    VIEW_RADIUS,
                    players.clone(),
                ));
                let mut bytes = 0;
                for (i, view) in views.iter_mut().enumerate() {
                    out.clear();
                    view.encode_next(&frame, i, &[], &mut scratch, &mut out)
                        .expect("encodes");
                    bytes += out.len();
                }
                bytes
            });
        });
    }
    group.finish();
}

criterion_group!(benches, room_tick);
criterion_main!(benches);
