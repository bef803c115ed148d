//! Runs a room's ticks with N virtual clients and no sockets, as the
//! `room_tick` bench does, for a fixed number of ticks: a steady program to
//! count instructions with callgrind, which, unlike a timing, does not move
//! with what else this shared machine is doing.
//!
//! ```text
//! cargo build --release -p snapwire-benches --example room_ticks
//! valgrind --tool=callgrind target/release/examples/room_ticks 2000 20
//! valgrind --tool=callgrind target/release/examples/room_ticks 2000 20 no-metrics
//! ```
//!
//! The per-client loop records the shard's per-snapshot metrics as a shard
//! does; `no-metrics` leaves them out, for the count without them.
//!
//! Prints the median time of a tick's frame and of its clients' views (after
//! two warm-up ticks) and the bytes those views encoded.

use snapwire_benches::VirtualRoom;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    let metrics = match args.get(2).map(String::as_str) {
        None => true,
        Some("no-metrics") => false,
        Some(_) => usage(),
    };
    let (Some(clients), Some(ticks)) = (number(0), number(1)) else {
        usage()
    };
    let mut room = VirtualRoom::with_metrics(clients, metrics);
    let mut timings: Vec<(Duration, Duration, usize)> = Vec::new();
    for t in 0..ticks {
        let started = Instant::now();
        let frame = room.step_and_frame();
        let framed = Instant::now();
        let bytes = room.encode_views(&frame);
        if t >= 2 {
            timings.push((framed - started, framed.elapsed(), bytes));
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    println!(
        "clients {clients}  ticks {ticks}  metrics {metrics}  median frame {:?}  median views {:?}  bytes per tick {}",
        median(timings.iter().map(|t| t.0).collect()),
        median(timings.iter().map(|t| t.1).collect()),
        timings.last().map_or(0, |t| t.2),
    );
}

fn usage() -> ! {
    eprintln!("usage: room_ticks CLIENTS TICKS [no-metrics]");
    std::process::exit(2);
}
