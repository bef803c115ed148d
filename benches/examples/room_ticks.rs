//! Runs a room's ticks with N virtual clients and no sockets, as the
//! `room_tick` bench does, for a fixed number of ticks: a steady program to
//! count instructions with callgrind, which, unlike a timing, does not move
//! with what else this shared machine is doing.
//!
//! ```text
//! cargo build --release -p snapwire-benches --example room_ticks
//! valgrind --tool=callgrind target/release/examples/room_ticks 2000 20
//! ```
//!
//! Prints the median time of a tick's frame and of its clients' views (after
//! two warm-up ticks) and the bytes those views encoded.

use rand::SeedableRng;
use rand::rngs::SmallRng;
use snapwire_benches::{DT, VIEW_RADIUS, arena_world, player_frames, turn_some};
use snapwire_server::room::frame::Frame;
use snapwire_server::sim::{Arena, GameRules};
use snapwire_server::view::{ClientView, ViewScratch};
use snapwire_shared::Tick;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let (Some(Ok(clients)), Some(Ok(ticks))) = (args.next(), args.next()) else {
        eprintln!("usage: room_ticks CLIENTS TICKS");
        std::process::exit(2);
    };
    let mut world = arena_world(clients, 5);
    let players = player_frames(clients);
    let mut views: Vec<ClientView> = (0..clients).map(|_| ClientView::new(VIEW_RADIUS)).collect();
    let (mut out, mut scratch) = (Vec::with_capacity(1024), ViewScratch::default());
    let mut rng = SmallRng::seed_from_u64(6);
    let mut tick = Tick::NONE;
    let mut timings: Vec<(Duration, Duration, usize)> = Vec::new();
    for t in 0..ticks {
        let started = Instant::now();
        tick = tick.next();
        turn_some(&mut world, tick.0, &mut rng);
        Arena.step(&mut world, DT);
        let frame = Arc::new(Frame::from_world(
            tick,
            &world,
            VIEW_RADIUS,
            players.clone(),
        ));
        let framed = Instant::now();
        let mut bytes = 0;
        for (i, view) in views.iter_mut().enumerate() {
            out.clear();
            view.encode_next(&frame, i, &[], &mut scratch, &mut out)
                .expect("views encode");
            bytes += out.len();
        }
        if t >= 2 {
            timings.push((framed - started, framed.elapsed(), bytes));
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    println!(
        "clients {clients}  ticks {ticks}  median frame {:?}  median views {:?}  bytes per tick {}",
        median(timings.iter().map(|t| t.0).collect()),
        median(timings.iter().map(|t| t.1).collect()),
        timings.last().map_or(0, |t| t.2),
    );
}
