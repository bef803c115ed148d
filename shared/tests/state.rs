//! Replicated state end to end, without a server: game types declared with
//! the derives, written into tables, delta-encoded, and applied to a
//! client mirror built from the schema alone. Random worlds (proptest)
//! check that a mirror always ends up equal to the server's table, that
//! the once-per-tick encoded updates give the same bytes as each client's
//! own diff, and that damaged or cut snapshots are refused without
//! changing the mirror or panicking.

use glam::Vec2;
use proptest::prelude::*;
use snapwire_shared::codec::parts;
use snapwire_shared::delta::{DeltaScratch, EncodedUpdates, Sel, write_delta, write_state_change};
use snapwire_shared::mirror::{Mirror, MirrorError};
use snapwire_shared::schema::{Layouts, Schema};
use snapwire_shared::table::Table;
use snapwire_shared::{
    Entities, EntityId, EntitySet, MessageSet, NetEnum, NoMessages, Replicate, Snapshot, Tick,
};
use std::sync::Arc;

#[derive(NetEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Colour {
    #[default]
    Red,
    Green,
    Blue,
}

/// A kind with many fields (40): most of them change rarely.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
struct Wide {
    #[snap(position, scale = 16, min = 0, max = 65536)]
    pos: Vec2,
    #[snap(angle)]
    heading: f32,
    hp: u8,
    armour: u8,
    ammo: u16,
    kills: u32,
    delta_t: i8,
    drift: i16,
    offset: i32,
    #[snap(scale = 100, min = -10, max = 10)]
    spin: f32,
    alive: bool,
    colour: Colour,
    target: Option<EntityId>,
    #[snap(max_len = 12)]
    tag: Arc<str>,
    a0: u8,
    a1: u8,
    a2: u8,
    a3: u8,
    a4: u8,
    a5: u8,
    a6: u8,
    a7: u8,
    a8: u8,
    a9: u8,
    b0: i16,
    b1: i16,
    b2: i16,
    b3: i16,
    b4: i16,
    b5: i16,
    b6: i16,
    b7: i16,
    c0: bool,
    c1: bool,
    c2: bool,
    c3: bool,
    c4: bool,
    c5: bool,
    c6: bool,
}

/// A kind without a position: every client sees it.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
struct Flag {
    holder: Option<EntityId>,
    #[snap(max_len = 8)]
    label: Arc<str>,
}

#[derive(Entities, Clone, Debug, PartialEq)]
enum Thing {
    Wide(Wide),
    Flag(Flag),
}

/// Room state with a string in it.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
struct Room {
    round: u16,
    #[snap(max_len = 20)]
    motd: Arc<str>,
}

fn layouts() -> Arc<Layouts> {
    let schema = Schema {
        game: "test".into(),
        kinds: Thing::kinds(),
        state: Room::fields(),
        input: Vec::new(),
        client_messages: NoMessages::types(),
        server_messages: NoMessages::types(),
    };
    Arc::new(schema.compile().expect("the test schema compiles"))
}

fn table(l: &Layouts, things: &[(u32, Thing)]) -> Table {
    let mut t = Table::default();
    for (id, thing) in things {
        let kind = thing.kind_index();
        t.push_with(
            EntityId(*id),
            kind,
            *id % 3,
            &l.kinds[usize::from(kind)],
            |w| thing.write_kind(w),
        );
    }
    t
}

fn state(room: &Room) -> Table {
    let mut t = Table::default();
    room.write(&mut snapwire_shared::field::SlotWriter::new(
        &mut t.values,
        &mut t.strings,
    ));
    t
}

/// The snapshot from `base` (`None`: complete) to `cur`, every entity in view.
fn snapshot(
    l: &Layouts,
    tick: u32,
    base: Option<(u32, &Table, &Table)>,
    cur: (&Table, &Table),
    updates: Option<&EncodedUpdates>,
) -> Snapshot {
    let empty = Table::default();
    let mut body = Vec::new();
    write_state_change(&l.state, base.map(|b| b.2), cur.1, &mut body);
    let (base_tick, base_table) = base.map_or((0, &empty), |b| (b.0, b.1));
    write_delta(
        l,
        base_table,
        Sel::All,
        cur.0,
        Sel::All,
        updates,
        None,
        &mut DeltaScratch::default(),
        &mut body,
    );
    parts::snapshot_tail(&[], None, &mut body).expect("an empty tail encodes");
    Snapshot {
        tick: Tick(tick),
        base_tick: Tick(base_tick),
        ack_gap: 0,
        body,
    }
}

fn mirrored(m: &Mirror) -> Vec<(u32, Thing)> {
    m.rows()
        .iter()
        .map(|r| (r.id.0, m.get::<Thing>(r.id).expect("a known kind")))
        .collect()
}

/// What the table holds, as the mirror would read it back.
fn quantised(l: &Layouts, things: &[(u32, Thing)]) -> Vec<(u32, Thing)> {
    let t = table(l, things);
    t.rows
        .iter()
        .map(|r| (r.id.0, Thing::read_kind(r.kind, &mut t.reader(r)).unwrap()))
        .collect()
}

fn arb_thing() -> impl Strategy<Value = Thing> {
    let wide = (
        (0.0f32..4000.0, 0.0f32..4000.0),
        any::<u8>(),
        any::<i16>(),
        any::<u32>(),
        -10.0f32..10.0,
        any::<bool>(),
        0u16..3,
        proptest::option::of(1u32..500),
        "[a-z]{0,14}",
        any::<[u8; 10]>(),
    )
        .prop_map(
            |((x, y), hp, drift, kills, spin, alive, c, target, tag, a)| {
                Thing::Wide(Wide {
                    pos: Vec2::new(x, y),
                    hp,
                    drift,
                    kills,
                    spin,
                    alive,
                    colour: Colour::from_index(c),
                    target: target.map(EntityId),
                    tag: tag.into(),
                    a0: a[0],
                    a5: a[5],
                    a9: a[9],
                    b3: i16::from(a[3]) - 128,
                    c2: a[2] & 1 == 1,
                    ..Wide::default()
                })
            },
        );
    let flag = (proptest::option::of(1u32..500), "[a-z]{0,10}").prop_map(|(h, label)| {
        Thing::Flag(Flag {
            holder: h.map(EntityId),
            label: label.into(),
        })
    });
    prop_oneof![4 => wide, 1 => flag]
}

/// Entities by id.
type World = Vec<(u32, Thing)>;

fn arb_world() -> impl Strategy<Value = World> {
    proptest::collection::btree_map(1u32..300, arb_thing(), 0..24)
        .prop_map(|m| m.into_iter().collect())
}

/// Two worlds where some entities stay (with some fields changed), some
/// leave and some arrive.
fn arb_transition() -> impl Strategy<Value = (World, World)> {
    (
        arb_world(),
        arb_world(),
        proptest::collection::vec(any::<bool>(), 24),
    )
        .prop_map(|(a, b, keep)| {
            // Entities of `a` kept (same kind) take `b`'s values if it has the id.
            let mut cur: Vec<(u32, Thing)> = b;
            for (i, (id, t)) in a.iter().enumerate() {
                if keep[i % keep.len()] && !cur.iter().any(|(c, _)| c == id) {
                    cur.push((*id, t.clone()));
                }
            }
            cur.sort_by_key(|(id, _)| *id);
            (a, cur)
        })
}

#[test]
fn a_kind_may_have_forty_fields() {
    let l = layouts();
    assert_eq!(Wide::fields().len(), 40);
    assert_eq!(l.kinds[0].layout.len(), 40);
    assert_eq!(l.kinds[0].position, Some(0));
    assert_eq!(l.kinds[1].position, None, "a flag has no position");
}

#[test]
fn a_complete_snapshot_then_deltas_rebuild_each_world() {
    let l = layouts();
    let worlds = [
        vec![(
            3,
            Thing::Flag(Flag {
                holder: None,
                label: "x".into(),
            }),
        )],
        vec![
            (
                3,
                Thing::Flag(Flag {
                    holder: Some(EntityId(5)),
                    label: "x".into(),
                }),
            ),
            (
                5,
                Thing::Wide(Wide {
                    hp: 9,
                    tag: "hi".into(),
                    ..Wide::default()
                }),
            ),
        ],
        vec![(
            5,
            Thing::Wide(Wide {
                hp: 8,
                tag: "hey".into(),
                ..Wide::default()
            }),
        )],
    ];
    let rooms = [
        Room {
            round: 1,
            motd: "".into(),
        },
        Room {
            round: 1,
            motd: "welcome".into(),
        },
        Room {
            round: 2,
            motd: "welcome".into(),
        },
    ];
    let mut m = Mirror::with_layouts(l.clone());
    let mut prev: Option<(Table, Table)> = None;
    for (t, (w, r)) in worlds.iter().zip(&rooms).enumerate() {
        let (cur, st) = (table(&l, w), state(r));
        let base = prev.as_ref().map(|(e, s)| (t as u32, e, s));
        m.apply(&snapshot(&l, t as u32 + 1, base, (&cur, &st), None))
            .expect("applies");
        assert_eq!(mirrored(&m), quantised(&l, w), "tick {t}");
        assert_eq!(m.state::<Room>(), *r);
        prev = Some((cur, st));
    }
    assert_eq!(m.position(EntityId(5)), Some(Vec2::ZERO));
    assert_eq!(m.position(EntityId(3)), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_mirror_always_ends_equal_to_the_servers_table(
        (a, b) in arb_transition(),
        (ra, rb) in (any::<u16>(), any::<u16>()),
    ) {
        let l = layouts();
        let (ta, tb) = (table(&l, &a), table(&l, &b));
        let (sa, sb) = (state(&Room { round: ra, motd: "a".into() }), state(&Room { round: rb, motd: "b".into() }));
        let mut m = Mirror::with_layouts(l.clone());
        m.apply(&snapshot(&l, 1, None, (&ta, &sa), None)).expect("a complete snapshot applies");
        prop_assert_eq!(mirrored(&m), quantised(&l, &a));
        m.apply(&snapshot(&l, 2, Some((1, &ta, &sa)), (&tb, &sb), None)).expect("a delta applies to its base");
        prop_assert_eq!(mirrored(&m), quantised(&l, &b));
        prop_assert_eq!(m.state::<Room>().round, rb);
    }

    #[test]
    fn encoded_updates_give_the_bytes_of_each_clients_own_diff((a, b) in arb_transition()) {
        let l = layouts();
        let (ta, tb) = (table(&l, &a), table(&l, &b));
        let mut updates = EncodedUpdates::default();
        updates.build(&l, &ta, &tb);
        let (mut copied, mut diffed) = (Vec::new(), Vec::new());
        let mut s = DeltaScratch::default();
        write_delta(&l, &ta, Sel::All, &tb, Sel::All, Some(&updates), None, &mut s, &mut copied);
        write_delta(&l, &ta, Sel::All, &tb, Sel::All, None, None, &mut s, &mut diffed);
        prop_assert_eq!(copied, diffed);
    }

    #[test]
    fn damaged_or_cut_snapshots_are_refused_and_change_nothing(
        (a, b) in arb_transition(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let l = layouts();
        let (ta, tb) = (table(&l, &a), table(&l, &b));
        let st = state(&Room::default());
        let mut m = Mirror::with_layouts(l.clone());
        m.apply(&snapshot(&l, 1, None, (&ta, &st), None)).unwrap();
        let before = mirrored(&m);
        let good = snapshot(&l, 2, Some((1, &ta, &st)), (&tb, &st), None);
        let mut cut_snap = good.clone();
        let n = cut.index(cut_snap.body.len());
        cut_snap.body.truncate(n);
        let refused = m.apply(&cut_snap);
        prop_assert!(matches!(refused, Err(MirrorError::Delta(_) | MirrorError::Decode(_))), "{refused:?}");
        prop_assert_eq!(&mirrored(&m), &before, "a refused snapshot changes nothing");
        let mut damaged = good.clone();
        for (at, xor) in &flips {
            let i = at.index(damaged.body.len());
            damaged.body[i] ^= xor;
        }
        // Never a panic; a refusal leaves the mirror as it was.
        if m.apply(&damaged).is_err() {
            prop_assert_eq!(&mirrored(&m), &before);
        }
    }
}
