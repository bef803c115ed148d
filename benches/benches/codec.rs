//! Encoding and decoding of the common messages.
//!
//! Expected: Hello and Input in tens of nanoseconds; a snapshot linear in
//! its entries (28 moving entities: a few hundred nanoseconds).

use criterion::{Criterion, criterion_group, criterion_main};
use snapwire_benches::{Updates, VIEW_RADIUS, two_frames};
use snapwire_server::view::{ClientView, ViewScratch};
use snapwire_shared::codec::{client_to_vec, decode_client, decode_server, encode_client};
use snapwire_shared::protocol::PROTOCOL_VERSION;
use snapwire_shared::{ClientMsg, InputCmd};
use std::hint::black_box;

fn codec(c: &mut Criterion) {
    let hello = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "player-1234".into(),
        resume_token: None,
        auth_token: None,
    };
    let input = InputCmd {
        seq: 123_456,
        move_x: 0.6,
        move_y: -0.8,
        yaw: 2.2,
        buttons: 1,
    }
    .msg();
    let mut out = Vec::with_capacity(256);
    let mut group = c.benchmark_group("codec");
    for (name, msg) in [("hello", &hello), ("input", &input)] {
        let bytes = client_to_vec(msg).expect("encodes");
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| {
                out.clear();
                encode_client(black_box(msg), &mut out).expect("encodes");
            })
        });
        group.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| decode_client(black_box(&bytes)).expect("decodes"))
        });
    }
    // A typical aoi snapshot: ~28 visible, all moving.
    let (f1, f2) = two_frames(2_500, VIEW_RADIUS, 4, Updates::Encoded);
    let mut view = ClientView::new(VIEW_RADIUS);
    let mut scratch = ViewScratch::default();
    view.encode_next(&f1, 0, &mut scratch, &mut out);
    out.clear();
    view.encode_next(&f2, 0, &mut scratch, &mut out);
    snapwire_shared::codec::parts::snapshot_tail(&[], None, &mut out).expect("encodes");
    let snapshot = out.clone();
    group.bench_function("decode/aoi_snapshot", |b| {
        b.iter(|| decode_server(black_box(&snapshot)).expect("decodes"))
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
