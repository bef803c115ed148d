//! Games on the game API, beyond the arena.
//!
//! - `game/wide_updates`: a kind of 16 fields of which 3 change per tick
//!   (position and a counter; health, ammo, team and the rest hold still):
//!   the room's per-tick encoding of every entity's change
//!   (`EncodedUpdates::build`). Expected: linear in entities, a little
//!   above the arena's `tick/encode_updates` (the mask covers 16 fields,
//!   three of them are written).
//! - `game/wide_view`: one full-view client's delta of that world
//!   (every entity kept, three fields changed each). Expected: linear.
//! - `game/wide_apply`: a client mirror applying that delta from the
//!   schema alone. Expected: linear.
//! - `game/shooter_tick`: the shooter example's whole tick for N players,
//!   every one of them firing (soldiers move, bolts spawn, fly, hit and
//!   despawn; score and clock), then its tables and frame. Expected:
//!   linear in players plus bolts times soldiers for the hit test (the
//!   example's rule is the naive one).

#[path = "../../server/examples/shooter/game.rs"]
#[allow(dead_code)]
mod shooter;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glam::Vec2;
use snapwire_server::game::{GameHost, Simulation};
use snapwire_server::room::frame::Frame;
use snapwire_shared::codec::parts;
use snapwire_shared::delta::{DeltaScratch, EncodedUpdates, Sel, write_delta, write_state_change};
use snapwire_shared::mirror::Mirror;
use snapwire_shared::schema::{Layouts, Schema};
use snapwire_shared::table::Table;
use snapwire_shared::{EntityId, EntitySet, NetEnum, PlayerId, Replicate, Snapshot, Tick};
use std::hint::black_box;
use std::sync::Arc;

#[derive(NetEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Side {
    #[default]
    North,
    South,
}

/// Sixteen fields: a position and a counter change every tick.
#[derive(Replicate, Clone, Debug, Default)]
struct Unit {
    #[snap(position, scale = 16, min = 0, max = 65536)]
    pos: Vec2,
    frame: u16,
    #[snap(angle)]
    facing: f32,
    health: u8,
    shield: u8,
    ammo: u16,
    side: Side,
    level: u8,
    xp: u32,
    stunned: bool,
    target: Option<EntityId>,
    #[snap(scale = 100, min = -10, max = 10)]
    drift: f32,
    kills: u16,
    deaths: u16,
    assists: u16,
}

fn layouts() -> Arc<Layouts> {
    let schema = Schema {
        game: "wide".into(),
        kinds: Unit::kinds(),
        state: Vec::new(),
        input: Vec::new(),
        client_messages: Vec::new(),
        server_messages: Vec::new(),
    };
    assert_eq!(schema.kinds[0].fields.len(), 16);
    Arc::new(schema.compile().expect("compiles"))
}

fn units(n: usize, tick: u16) -> Table {
    let l = layouts();
    let mut t = Table::default();
    for i in 0..n {
        let u = Unit {
            pos: Vec2::new(
                (i % 100) as f32 * 10.0 + f32::from(tick) * 6.0,
                (i / 100) as f32 * 10.0,
            ),
            frame: tick,
            health: 100,
            ammo: 30,
            side: if i % 2 == 0 { Side::North } else { Side::South },
            level: 3,
            xp: 1234,
            ..Unit::default()
        };
        t.push_with(EntityId(i as u32 + 1), 0, 0, &l.kinds[0], |w| u.write(w));
    }
    t
}

fn wide(c: &mut Criterion) {
    let l = layouts();
    let mut group = c.benchmark_group("game/wide_updates");
    for n in [1_000usize, 10_000] {
        let (a, b) = (units(n, 1), units(n, 2));
        let mut updates = EncodedUpdates::default();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| updates.build(&l, black_box(&a), black_box(&b)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("game/wide_view");
    for n in [1_000usize, 10_000] {
        let (a, b) = (units(n, 1), units(n, 2));
        let (mut out, mut scratch) = (Vec::new(), DeltaScratch::default());
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| {
                out.clear();
                write_delta(
                    &l,
                    &a,
                    Sel::All,
                    &b,
                    Sel::All,
                    None,
                    None,
                    &mut scratch,
                    &mut out,
                );
                black_box(out.len())
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("game/wide_apply");
    for n in [1_000usize, 10_000] {
        let (a, b) = (units(n, 1), units(n, 2));
        let snap = |tick: u32, base: Option<&Table>, cur: &Table| {
            let mut body = Vec::new();
            write_state_change(&l.state, None, &Table::default(), &mut body);
            let empty = Table::default();
            let (base_tick, from) = base.map_or((0, &empty), |t| (tick - 1, t));
            write_delta(
                &l,
                from,
                Sel::All,
                cur,
                Sel::All,
                None,
                None,
                &mut DeltaScratch::default(),
                &mut body,
            );
            parts::snapshot_tail(&[], None, &mut body).expect("encodes");
            Snapshot {
                tick: Tick(tick),
                base_tick: Tick(base_tick),
                ack_gap: 0,
                body,
            }
        };
        let full = snap(1, None, &a);
        let delta = snap(2, Some(&a), &b);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter_batched(
                || {
                    let mut m = Mirror::with_layouts(l.clone());
                    m.apply(&full).expect("applies");
                    m
                },
                |mut m| {
                    m.apply(black_box(&delta)).expect("applies");
                    m
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn shooter_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("game/shooter_tick");
    for n in [100usize, 1_000] {
        let mut sim = Simulation::new(shooter::Shooter::default(), 4000.0, 7).expect("schema");
        for key in 0..n {
            sim.join(key, PlayerId(key as u32 + 1), "p");
            let aim = key as f32 * 0.37;
            sim.input(
                key,
                shooter::Controls {
                    move_x: aim.cos(),
                    move_y: aim.sin(),
                    aim,
                    fire: true,
                },
            );
        }
        let layouts = sim.layouts().clone();
        let mut tick = Tick::NONE;
        // Warm up until bolts are in flight everywhere.
        for _ in 0..60 {
            tick = tick.next();
            sim.step(tick, 1.0 / 30.0);
        }
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| {
                tick = tick.next();
                sim.step(tick, 1.0 / 30.0);
                let (mut entities, mut state) = (Table::default(), Table::default());
                sim.write_tables(&mut entities, &mut state);
                let frame = Frame::new(
                    tick,
                    layouts.clone(),
                    entities,
                    state,
                    300.0,
                    4000.0,
                    Vec::new(),
                );
                black_box(frame.entities.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, wide, shooter_tick);
criterion_main!(benches);
