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
use snapwire_benches::VirtualRoom;

fn room_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_tick/aoi");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let mut room = VirtualRoom::new(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let frame = room.step_and_frame();
                room.encode_views(&frame)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, room_tick);
criterion_main!(benches);
