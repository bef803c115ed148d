//! Byte-compatibility vectors for clients written in other languages (the
//! TypeScript SDK in `clients/ts` is the first).
//!
//! Every vector is made here with the real encoders (bincode through the
//! codec, the delta writer, the derives of two games declared below) and
//! decoded back with the reference decoder (`codec`, `mirror::Mirror`), so
//! the decoded values in the files are what the Rust client sees. The files
//! are JSON, written to `clients/ts/vectors/` (format:
//! `clients/ts/vectors/README.md`); the bench inputs go to
//! `clients/ts/vectors/bench/`.
//!
//! A normal run fails when a file on disk differs from what this test would
//! write, so a change to the wire format cannot land without its vectors;
//! `SNAPWIRE_BLESS_VECTORS=1 cargo test -p snapwire-shared --test vectors`
//! rewrites them. Nothing here is random or timed: the output is the same on
//! every run and every machine.

use glam::Vec2;
use serde_json::{Value, json};
use snapwire_shared::arena::{self, Predictor};
use snapwire_shared::codec::{
    Fields, client_to_vec, decode_server, encode_message, message_layouts, parts, schema_to_vec,
    server_to_vec,
};
use snapwire_shared::delta::{DeltaScratch, Sel, write_delta, write_state_change};
use snapwire_shared::field::SlotWriter;
use snapwire_shared::mirror::{Mirror, MirrorError};
use snapwire_shared::protocol::{GameMsg, InputMsg};
use snapwire_shared::schema::{FieldDesc, Layouts, Schema, WireType};
use snapwire_shared::table::Table;
use snapwire_shared::{
    ClientMsg, Entities, EntityId, EntitySet, InputCmd, MessageSet, Messages, NetEnum, NoMessages,
    PlayerId, Replicate, ServerEvent, ServerMsg, SessionToken, Tick, Walker, Welcome, WorldInfo,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

// ---------------------------------------------------------------------------
// The test game: every wire type, two kinds (one without a position), room
// state, and messages both ways.

#[derive(NetEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Team {
    #[default]
    Red,
    Green,
    Blue,
}

/// A kind with one field of every wire type.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
struct Unit {
    /// 32-bit fixed point (0 to 1,048,576 quanta).
    #[snap(position, scale = 16, min = 0, max = 65536)]
    pos: Vec2,
    #[snap(angle)]
    heading: f32,
    /// 16-bit fixed point, signed.
    #[snap(scale = 100, min = -10, max = 10)]
    spin: f32,
    alive: bool,
    hp: u8,
    ammo: u16,
    score: u32,
    mood: i8,
    drift: i16,
    offset: i32,
    team: Team,
    #[snap(max_len = 12)]
    tag: Arc<str>,
    target: Option<EntityId>,
}

/// A kind without a position: every client sees it.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
struct Flag {
    holder: Option<EntityId>,
    #[snap(max_len = 8)]
    label: Arc<str>,
    level: u8,
    /// A range without 0: a spawn always carries it.
    #[snap(scale = 1, min = 1, max = 9)]
    weight: f32,
}

#[derive(Entities, Clone, Debug, PartialEq)]
enum Thing {
    Unit(Unit),
    Flag(Flag),
}

/// The room state.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
struct Match {
    round: u16,
    #[snap(max_len = 20)]
    motd: Arc<str>,
    phase: Team,
    #[snap(scale = 10, min = 0, max = 3600)]
    time_left: f32,
}

/// The input.
#[derive(Replicate, Clone, Copy, Debug, Default, PartialEq)]
struct Controls {
    #[snap(scale = 1024, min = -1, max = 1)]
    move_x: f32,
    #[snap(scale = 1024, min = -1, max = 1)]
    move_y: f32,
    #[snap(angle)]
    aim: f32,
    fire: bool,
    weapon: u8,
}

/// What a client says.
#[derive(Messages, Clone, Debug, PartialEq)]
enum Say {
    Chat {
        #[snap(max_len = 64)]
        text: String,
    },
    Buy {
        item: u16,
        count: u8,
    },
    Ready,
}

/// What the game tells clients.
#[derive(Messages, Clone, Debug, PartialEq)]
enum Told {
    Notice {
        #[snap(max_len = 40)]
        text: String,
        level: u8,
    },
    Hit {
        target: EntityId,
        damage: i16,
    },
}

fn game_schema() -> Schema {
    Schema {
        game: "vectors".into(),
        kinds: Thing::kinds(),
        state: Match::fields(),
        input: Controls::fields(),
        client_messages: Say::types(),
        server_messages: Told::types(),
    }
}

fn arena_schema() -> Schema {
    Schema {
        game: "arena".into(),
        kinds: Walker::kinds(),
        state: Vec::new(),
        input: InputCmd::fields(),
        client_messages: NoMessages::types(),
        server_messages: NoMessages::types(),
    }
}

// ---------------------------------------------------------------------------
// JSON helpers.

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One field's value as the vectors write it (see the README).
fn field_json(desc: &FieldDesc, raw: u32, strings: &dyn Fn(u32) -> String) -> Value {
    match &desc.ty {
        WireType::Bool => json!(raw != 0),
        WireType::U8 | WireType::U16 | WireType::U32 | WireType::Ref => json!(raw),
        WireType::I8 | WireType::I16 | WireType::I32 => json!(raw as i32),
        WireType::Fixed { scale, .. } => {
            let q = raw as i32;
            json!({ "q": q, "value": f64::from(q) / f64::from(*scale) })
        }
        WireType::Angle => {
            json!({ "q": raw, "value": f64::from(raw) / 65536.0 * std::f64::consts::TAU })
        }
        WireType::Enum { variants } => json!({ "index": raw, "name": variants[raw as usize] }),
        WireType::Str { .. } => json!(strings(raw)),
    }
}

fn fields_json(descs: &[FieldDesc], values: &[u32], strings: &dyn Fn(u32) -> String) -> Value {
    let mut map = serde_json::Map::new();
    for (d, &v) in descs.iter().zip(values) {
        map.insert(d.name.clone(), field_json(d, v, strings));
    }
    Value::Object(map)
}

fn decoded_fields_json(descs: &[FieldDesc], f: &Fields) -> Value {
    fields_json(descs, &f.values, &|i| f.strings[i as usize].to_string())
}

fn event_json(e: &ServerEvent) -> Value {
    match e {
        ServerEvent::PlayerJoined {
            player,
            entity,
            name,
        } => {
            json!({ "type": "PlayerJoined", "player": player.0, "entity": entity.0, "name": name })
        }
        ServerEvent::PlayerLeft { player } => json!({ "type": "PlayerLeft", "player": player.0 }),
        ServerEvent::PlayerDropped { player } => {
            json!({ "type": "PlayerDropped", "player": player.0 })
        }
        ServerEvent::PlayerResumed { player } => {
            json!({ "type": "PlayerResumed", "player": player.0 })
        }
        ServerEvent::ServerDraining { closes_in_ms } => {
            json!({ "type": "ServerDraining", "closes_in_ms": closes_in_ms })
        }
    }
}

/// The mirror's whole view: room state and entities by ascending id.
fn view_json(schema: &Schema, m: &Mirror) -> Value {
    let entities: Vec<Value> = m
        .rows()
        .iter()
        .map(|r| {
            let kind = &schema.kinds[usize::from(r.kind)];
            json!({
                "id": r.id.0,
                "kind": kind.name,
                "owner": r.owner,
                "fields": fields_json(&kind.fields, m.values(r), &|v| m.string(v).to_owned()),
            })
        })
        .collect();
    // The mirror keeps no strings of the room state apart from its values;
    // decode them through the game's type.
    json!({ "tick": m.tick().0, "entities": entities })
}

fn state_json(m: &Mirror) -> Value {
    let s: Match = m.state();
    let mut values = Vec::new();
    let mut strings = Vec::new();
    s.write(&mut SlotWriter::new(&mut values, &mut strings));
    fields_json(&Match::fields(), &values, &|i| {
        strings[i as usize].to_string()
    })
}

fn error_code(e: &MirrorError) -> Value {
    use snapwire_shared::codec::DecodeError as D;
    use snapwire_shared::delta::ApplyError as A;
    let decode = |d: &D| match d {
        D::TooLarge { .. } => json!({ "code": "TooLarge" }),
        D::Truncated => json!({ "code": "Truncated" }),
        D::TrailingBytes => json!({ "code": "TrailingBytes" }),
        D::UnknownVariant => json!({ "code": "UnknownVariant" }),
        D::InvalidUtf8 => json!({ "code": "InvalidUtf8" }),
        D::LimitExceeded => json!({ "code": "LimitExceeded" }),
        D::Malformed => json!({ "code": "Malformed" }),
        D::OutOfRange { field } => json!({ "code": "OutOfRange", "field": field }),
        D::UnknownMessage => json!({ "code": "UnknownMessage" }),
    };
    match e {
        MirrorError::BaseMismatch { .. } => json!({ "code": "BaseMismatch" }),
        MirrorError::Stale { .. } => json!({ "code": "Stale" }),
        MirrorError::Delta(A::Read(d)) | MirrorError::Decode(d) => decode(d),
        MirrorError::Delta(A::Missing(id)) => json!({ "code": "Missing", "entity": id.0 }),
        MirrorError::Delta(A::AlreadyPresent(id)) => {
            json!({ "code": "AlreadyPresent", "entity": id.0 })
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding snapshots with the server's writers.

/// One tick of a world: entities (by ascending id, with their owner) and
/// the room state.
struct Frame {
    tick: u32,
    entities: Vec<(u32, u32, Thing)>,
    state: Match,
    events: Vec<ServerEvent>,
    messages: Vec<Told>,
    ack: u32,
}

fn thing_table(l: &Layouts, things: &[(u32, u32, Thing)]) -> Table {
    let mut t = Table::default();
    for (id, owner, thing) in things {
        let kind = thing.kind_index();
        t.push_with(
            EntityId(*id),
            kind,
            *owner,
            &l.kinds[usize::from(kind)],
            |w| thing.write_kind(w),
        );
    }
    t
}

fn replicate_table<R: Replicate>(value: &R) -> Table {
    let mut t = Table::default();
    value.write(&mut SlotWriter::new(&mut t.values, &mut t.strings));
    t
}

/// The bytes of a snapshot from `base` (`None`: complete) to `cur`, every
/// entity in view, as the server writes them.
#[allow(clippy::too_many_arguments)]
fn snapshot_bytes(
    l: &Layouts,
    tick: u32,
    base: Option<(u32, &Table, &Table)>,
    cur: &Table,
    cur_state: Option<&Table>,
    ack: u32,
    events: &[ServerEvent],
    messages: Option<&[&[u8]]>,
) -> Vec<u8> {
    let empty = Table::default();
    let (base_tick, base_table, base_state) =
        base.map_or((0, &empty, None), |b| (b.0, b.1, Some(b.2)));
    let mut out = Vec::new();
    parts::snapshot_head(Tick(tick), Tick(base_tick), ack, &mut out);
    if let Some(state) = cur_state {
        write_state_change(&l.state, base_state, state, &mut out);
    }
    write_delta(
        l,
        base_table,
        Sel::All,
        cur,
        Sel::All,
        None,
        None,
        &mut DeltaScratch::default(),
        &mut out,
    );
    parts::snapshot_tail(events, messages, &mut out).expect("the tail encodes");
    out
}

/// A mirror that applied every snapshot of `chain`.
fn mirror_after(schema: &Schema, chain: &[Vec<u8>]) -> Mirror {
    let mut m = Mirror::new(schema).expect("the schema compiles");
    for bytes in chain {
        apply(&mut m, bytes).expect("the chain applies");
    }
    m
}

fn apply(m: &mut Mirror, bytes: &[u8]) -> Result<snapwire_shared::mirror::Applied, MirrorError> {
    match decode_server(bytes).map_err(MirrorError::Decode)? {
        ServerMsg::Snapshot(s) => m.apply(&s),
        other => panic!("not a snapshot: {other:?}"),
    }
}

/// A damaged (or cut) server message, with the error the reference
/// decoder gives after the first `base` snapshots of `chain`; the mirror
/// must be unchanged by it.
fn damaged(
    schema: &Schema,
    chain: &[Vec<u8>],
    base: usize,
    name: &str,
    bytes: &[u8],
    state: bool,
) -> Value {
    let mut m = mirror_after(schema, &chain[..base]);
    let before = view_json(schema, &m);
    let before_state = state.then(|| state_json(&m));
    let err = match decode_server(bytes) {
        Err(e) => MirrorError::Decode(e),
        Ok(ServerMsg::Snapshot(s)) => match m.apply(&s) {
            Err(e) => e,
            Ok(_) => panic!("{name}: the damaged snapshot applied"),
        },
        Ok(other) => panic!("{name}: decoded as {other:?}"),
    };
    assert_eq!(view_json(schema, &m), before, "{name}: the view changed");
    assert_eq!(state.then(|| state_json(&m)), before_state, "{name}");
    json!({ "name": name, "base": base, "hex": hex(bytes), "error": error_code(&err) })
}

fn snapshot_step(
    schema: &Schema,
    m: &mut Mirror,
    name: &str,
    bytes: &[u8],
    delta: (Vec<u32>, Vec<u32>, Vec<u32>),
    state: bool,
) -> Value {
    let applied = apply(m, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (head, _) = snapwire_shared::codec::split_snapshot(bytes)
        .expect("a snapshot")
        .expect("a snapshot");
    let messages: Vec<Value> = applied
        .messages
        .iter()
        .map(|(ty, f)| {
            let desc = &schema.server_messages[usize::from(*ty)];
            json!({ "type": desc.name, "fields": decoded_fields_json(&desc.fields, f) })
        })
        .collect();
    let mut message = json!({
        "type": "Snapshot",
        "tick": head.tick.0,
        "base_tick": head.base_tick.0,
        "ack_gap": head.ack_gap,
        "ack_input_seq": m.ack(),
        "delta": { "removed": delta.0, "updated": delta.1, "spawned": delta.2 },
        "view": view_json(schema, m),
        "events": applied.events.iter().map(event_json).collect::<Vec<_>>(),
        "messages": messages,
    });
    if state {
        message["state"] = state_json(m);
    }
    json!({ "name": name, "hex": hex(bytes), "message": message })
}

/// Which ids a delta from `old` to `new` removes, updates and spawns.
fn delta_lists(l: &Layouts, old: Option<&Table>, new: &Table) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let empty = Table::default();
    let old = old.unwrap_or(&empty);
    let ids = |t: &Table| t.rows.iter().map(|r| r.id.0).collect::<Vec<_>>();
    let (o, n) = (ids(old), ids(new));
    let removed = o.iter().copied().filter(|id| !n.contains(id)).collect();
    let spawned = n.iter().copied().filter(|id| !o.contains(id)).collect();
    let updated = new
        .rows
        .iter()
        .filter_map(|r| {
            let b = old.rows.iter().find(|b| b.id == r.id)?;
            let len = l.kinds[usize::from(r.kind)].layout.len();
            let changed = old
                .slots(b, len)
                .iter()
                .zip(new.slots(r, len))
                .enumerate()
                .any(|(i, (a, c))| {
                    if l.kinds[usize::from(r.kind)].layout.slots[i].is_str() {
                        old.strings[*a as usize] != new.strings[*c as usize]
                    } else {
                        a != c
                    }
                });
            changed.then_some(r.id.0)
        })
        .collect();
    (removed, updated, spawned)
}

fn welcome(player: u32, entity: u32, size: f32, radius: f32, schema: &Schema) -> ServerMsg {
    let mut token = [0u8; 16];
    for (i, b) in token.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(17).wrapping_add(3);
    }
    ServerMsg::Welcome(Welcome {
        player: PlayerId(player),
        entity: EntityId(entity),
        room: snapwire_shared::RoomId(4),
        tick_rate: 30,
        tick: Tick(99),
        session_token: SessionToken(token),
        world: WorldInfo {
            size,
            view_radius: radius,
        },
        schema_hash: schema.hash(),
    })
}

fn welcome_json(msg: &ServerMsg) -> Value {
    let ServerMsg::Welcome(w) = msg else {
        unreachable!()
    };
    json!({
        "type": "Welcome",
        "player": w.player.0,
        "entity": w.entity.0,
        "room": w.room.0,
        "tick_rate": w.tick_rate,
        "tick": w.tick.0,
        "session_token": hex(&w.session_token.0),
        "world": { "size": f64::from(w.world.size), "view_radius": f64::from(w.world.view_radius) },
        "schema_hash": format!("{:016x}", w.schema_hash),
    })
}

fn server_vector(name: &str, msg: &ServerMsg, decoded: Value) -> Value {
    let bytes = server_to_vec(msg).expect("the message encodes");
    // Every vector round-trips through the reference decoder.
    let back = decode_server(&bytes).expect("the message decodes");
    assert_eq!(&back, msg, "{name}");
    json!({ "name": name, "hex": hex(&bytes), "message": decoded })
}

fn client_vector(name: &str, msg: &ClientMsg, decoded: Value) -> Value {
    let bytes = client_to_vec(msg).expect("the message encodes");
    let back = snapwire_shared::codec::decode_client(&bytes).expect("the message decodes");
    assert_eq!(&back, msg, "{name}");
    json!({ "name": name, "hex": hex(&bytes), "message": decoded })
}

fn hello(name: &str, resume: Option<[u8; 16]>, auth: Option<&str>) -> (ClientMsg, Value) {
    (
        ClientMsg::Hello {
            protocol_version: 2,
            name: name.into(),
            resume_token: resume.map(SessionToken),
            auth_token: auth.map(str::to_owned),
        },
        json!({
            "type": "Hello",
            "protocol_version": 2,
            "name": name,
            "resume_token": resume.map(|t| hex(&t)),
            "auth_token": auth,
        }),
    )
}

fn schema_vector(schema: &Schema) -> Value {
    let bytes = server_to_vec(&ServerMsg::Schema(schema.clone())).expect("a schema encodes");
    assert_eq!(bytes[1..], schema_to_vec(schema)[..]);
    json!({
        "hex": hex(&bytes),
        "hash": format!("{:016x}", schema.hash()),
        "descriptor": serde_json::to_value(schema).expect("a schema is JSON"),
    })
}

// ---------------------------------------------------------------------------
// The vectors.

fn unit(x: f32, y: f32) -> Unit {
    Unit {
        pos: Vec2::new(x, y),
        ..Unit::default()
    }
}

fn game_vectors() -> Value {
    let schema = game_schema();
    let l = schema.compile().expect("the game compiles");
    let told = message_layouts::<Told>();
    let say = message_layouts::<Say>();

    let ada = Unit {
        pos: Vec2::new(100.0, 200.0),
        heading: std::f32::consts::TAU * (65535.0 / 65536.0),
        spin: -2.5,
        alive: true,
        hp: 100,
        ammo: 300,
        score: 70_000,
        mood: -128,
        drift: 32767,
        offset: -70_000,
        team: Team::Blue,
        tag: "abc".into(),
        target: Some(EntityId(5)),
    };
    let bob = unit(0.0, 4095.9375);
    let flag = Flag {
        holder: None,
        label: "base".into(),
        level: 255,
        weight: 2.0,
    };
    let frames = vec![
        Frame {
            tick: 100,
            entities: vec![
                (3, 7, Thing::Unit(ada.clone())),
                (5, 8, Thing::Unit(bob.clone())),
                (9, 0, Thing::Flag(flag.clone())),
            ],
            state: Match {
                round: 1,
                motd: "hello".into(),
                phase: Team::Green,
                time_left: 120.0,
            },
            events: vec![
                ServerEvent::PlayerJoined {
                    player: PlayerId(8),
                    entity: EntityId(5),
                    name: "bob".into(),
                },
                ServerEvent::PlayerJoined {
                    player: PlayerId(7),
                    entity: EntityId(3),
                    name: "ada ✓".into(),
                },
            ],
            messages: vec![Told::Notice {
                text: "welcome".into(),
                level: 1,
            }],
            ack: 0,
        },
        Frame {
            tick: 101,
            entities: vec![
                (
                    3,
                    7,
                    Thing::Unit(Unit {
                        pos: Vec2::new(100.0 + 107.0 / 16.0, 200.0 - 3.0 / 16.0),
                        // Across zero: one quantum up, wrapping.
                        heading: 0.0,
                        spin: 10.0,
                        hp: 75,
                        tag: "".into(),
                        target: None,
                        mood: 127,
                        ..ada.clone()
                    }),
                ),
                (
                    5,
                    8,
                    Thing::Unit(Unit {
                        score: u32::MAX,
                        offset: i32::MIN,
                        drift: -32768,
                        ammo: 65535,
                        ..bob.clone()
                    }),
                ),
                (9, 0, Thing::Flag(flag.clone())),
            ],
            state: Match {
                round: 1,
                motd: "hello".into(),
                phase: Team::Green,
                time_left: 119.9,
            },
            events: vec![],
            messages: vec![Told::Hit {
                target: EntityId(5),
                damage: -20,
            }],
            ack: 1,
        },
        Frame {
            tick: 104,
            entities: vec![
                (
                    3,
                    7,
                    Thing::Unit(Unit {
                        pos: Vec2::new(120.0, 190.0),
                        heading: std::f32::consts::FRAC_PI_2,
                        spin: 10.0,
                        hp: 75,
                        tag: "héllo wörld".into(),
                        target: Some(EntityId(12)),
                        mood: 127,
                        ..ada.clone()
                    }),
                ),
                (
                    9,
                    0,
                    Thing::Flag(Flag {
                        holder: Some(EntityId(12)),
                        ..flag.clone()
                    }),
                ),
                (
                    12,
                    8,
                    Thing::Unit(Unit {
                        alive: true,
                        team: Team::Red,
                        hp: 50,
                        tag: "new".into(),
                        ..unit(65536.0, 0.0)
                    }),
                ),
                (300, 0, Thing::Flag(Flag::default())),
            ],
            state: Match {
                round: 2,
                motd: "round two".into(),
                phase: Team::Blue,
                time_left: 0.0,
            },
            events: vec![
                ServerEvent::PlayerLeft {
                    player: PlayerId(8),
                },
                ServerEvent::PlayerDropped {
                    player: PlayerId(7),
                },
                ServerEvent::PlayerResumed {
                    player: PlayerId(7),
                },
                ServerEvent::ServerDraining { closes_in_ms: 5000 },
            ],
            messages: vec![
                Told::Notice {
                    text: "".into(),
                    level: 0,
                },
                Told::Hit {
                    target: EntityId(300),
                    damage: i16::MIN,
                },
            ],
            ack: 4,
        },
        // Nothing changed: an empty delta (filled in below).
        Frame {
            tick: 105,
            entities: vec![],
            state: Match::default(),
            events: vec![],
            messages: vec![],
            ack: 4,
        },
        Frame {
            tick: 70_000,
            entities: vec![
                (3, 7, Thing::Unit(unit(1.0, 2.0))),
                (77, 0, Thing::Flag(flag.clone())),
            ],
            state: Match {
                round: 3,
                ..Match::default()
            },
            events: vec![],
            messages: vec![],
            ack: 65_536,
        },
    ];
    let mut frames = frames;
    frames[3].entities = frames[2].entities.clone();
    frames[3].state = frames[2].state.clone();

    let mut session = vec![
        server_vector(
            "welcome",
            &welcome(7, 3, 4096.0, 300.0, &schema),
            welcome_json(&welcome(7, 3, 4096.0, 300.0, &schema)),
        ),
        json!({ "name": "schema", "hex": schema_vector(&schema)["hex"], "message": { "type": "Schema" } }),
    ];
    let mut chain = Vec::new();
    let mut m = Mirror::new(&schema).expect("the game compiles");
    let mut prev: Option<(u32, Table, Table)> = None;
    for (i, f) in frames.iter().enumerate() {
        let table = thing_table(&l, &f.entities);
        let state = replicate_table(&f.state);
        let msgs: Vec<GameMsg> = f
            .messages
            .iter()
            .map(|msg| encode_message(&told, msg))
            .collect();
        let msg_bytes: Vec<&[u8]> = msgs.iter().map(|g| &g.0[..]).collect();
        // The last frame is complete again: a client must take one at any time.
        let base = if i == 0 || i == frames.len() - 1 {
            None
        } else {
            prev.as_ref().map(|(t, e, s)| (*t, e, s))
        };
        let bytes = snapshot_bytes(
            &l,
            f.tick,
            base,
            &table,
            Some(&state),
            f.ack,
            &f.events,
            Some(&msg_bytes),
        );
        let lists = delta_lists(&l, base.map(|b| b.1), &table);
        let step = snapshot_step(
            &schema,
            &mut m,
            &format!("snapshot-{i}"),
            &bytes,
            lists,
            true,
        );
        // The mirror holds what the server's table holds.
        let read = |t: &Table, id: EntityId| {
            let r = &t.rows[t.find(id).expect("present")];
            Thing::read_kind(r.kind, &mut t.reader(r)).expect("a known kind")
        };
        for r in m.rows() {
            assert_eq!(m.get::<Thing>(r.id), Some(read(&table, r.id)), "frame {i}");
        }
        assert_eq!(m.len(), table.len(), "frame {i}");
        assert_eq!(m.state::<Match>(), {
            let s = &state;
            Match::read(&mut snapwire_shared::field::SlotReader::new(
                &s.values, &s.strings,
            ))
        });
        session.push(step);
        chain.push(bytes);
        prev = Some((f.tick, table, state));
        if i == 1 {
            session.push(server_vector(
                "pong",
                &ServerMsg::Pong {
                    client_time: 1_234_567,
                    server_tick: Tick(102),
                },
                json!({ "type": "Pong", "client_time": "1234567", "server_tick": 102 }),
            ));
            let notice = Told::Notice {
                text: "now".into(),
                level: 9,
            };
            let g = encode_message(&told, &notice);
            session.push(server_vector(
                "message",
                &ServerMsg::Message(g),
                json!({ "type": "Message", "message": {
                    "type": "Notice",
                    "fields": { "text": "now", "level": 9 },
                } }),
            ));
        }
    }
    session.push(server_vector(
        "kicked",
        &ServerMsg::Kicked {
            reason: "too far behind".into(),
        },
        json!({ "type": "Kicked", "reason": "too far behind" }),
    ));

    // Client messages.
    let token: [u8; 16] = std::array::from_fn(|i| 0xf0 ^ i as u8);
    let mut client = Vec::new();
    for (name, (msg, decoded)) in [
        ("hello", hello("ada", None, None)),
        ("hello-resume", hello("", Some(token), None)),
        (
            "hello-auth",
            hello("żółw", None, Some("eyJhbGciOiJIUzI1NiJ9.e30.sig")),
        ),
    ] {
        client.push(client_vector(name, &msg, decoded));
    }
    let input_layout = &l.input;
    for (seq, c) in [
        (
            1u32,
            Controls {
                move_x: 1.0,
                move_y: -1.0,
                aim: std::f32::consts::PI,
                fire: true,
                weapon: 200,
            },
        ),
        (
            65_536,
            Controls {
                move_x: -0.5,
                move_y: 0.25,
                aim: 0.0,
                fire: false,
                weapon: 0,
            },
        ),
    ] {
        let (mut values, mut strings) = (Vec::new(), Vec::new());
        c.write(&mut SlotWriter::new(&mut values, &mut strings));
        let mut fields = Vec::new();
        snapwire_shared::codec::encode_fields(input_layout, &values, &strings, &mut fields);
        let msg = ClientMsg::Input(InputMsg { seq, fields });
        let decoded = json!({
            "type": "Input",
            "seq": seq,
            "fields": fields_json(&schema.input, &values, &|_| String::new()),
        });
        client.push(client_vector(&format!("input-{seq}"), &msg, decoded));
    }
    for t in [0u64, 250, 251, u64::MAX] {
        client.push(client_vector(
            &format!("ping-{t}"),
            &ClientMsg::Ping { client_time: t },
            json!({ "type": "Ping", "client_time": t.to_string() }),
        ));
    }
    client.push(client_vector(
        "leave",
        &ClientMsg::Leave,
        json!({ "type": "Leave" }),
    ));
    for (name, msg, fields) in [
        (
            "chat",
            Say::Chat {
                text: "hi ✓".into(),
            },
            json!({ "text": "hi ✓" }),
        ),
        (
            "buy",
            Say::Buy {
                item: 65535,
                count: 3,
            },
            json!({ "item": 65535, "count": 3 }),
        ),
        ("ready", Say::Ready, json!({})),
    ] {
        let g = encode_message(&say, &msg);
        let ty = schema.client_messages[usize::from({
            let mut f = Fields::default();
            snapwire_shared::codec::decode_message(&say, &g.0, &mut f).expect("it decodes")
        })]
        .name
        .clone();
        client.push(client_vector(
            &format!("message-{name}"),
            &ClientMsg::Message(g),
            json!({ "type": "Message", "message": { "type": ty, "fields": fields } }),
        ));
    }

    json!({
        "game": "vectors",
        "schema": schema_vector(&schema),
        "session": session,
        "client": client,
        "damaged": game_damaged(&schema, &chain),
    })
}

/// Bytes from hex written with spaces.
fn bytes(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect()
}

fn game_damaged(schema: &Schema, chain: &[Vec<u8>]) -> Vec<Value> {
    let d = |base: usize, name: &str, hexed: &str| {
        damaged(schema, chain, base, name, &bytes(hexed), true)
    };
    let mut out = vec![
        // After snapshot-0 (tick 100): units 3 and 5, flag 9.
        // Header: tag 01, tick 101 (65), gap 1, ack 0; state mask 0.
        d(
            1,
            "state-mask-beyond-fields",
            "01 65 01 00 10 00 00 00 00 00",
        ),
        d(
            1,
            "state-string-equal-to-baseline",
            "01 65 01 00 02 05 68 65 6c 6c 6f 00 00 00 00 00",
        ),
        d(
            1,
            "state-enum-out-of-range",
            "01 65 01 00 04 04 00 00 00 00 00",
        ),
        d(
            1,
            "update-missing-entity",
            "01 65 01 00 00 00 01 04 fb 00 08 02 00 00 00",
        ),
        d(
            1,
            "remove-missing-entity",
            "01 65 01 00 00 01 04 00 00 00 00",
        ),
        d(1, "remove-id-gap-zero", "01 65 01 00 00 01 00 00 00 00 00"),
        d(
            1,
            "update-empty-mask",
            "01 65 01 00 00 00 01 03 00 00 00 00",
        ),
        d(
            1,
            "update-zero-change",
            "01 65 01 00 00 00 01 03 08 00 00 00 00",
        ),
        d(
            1,
            "update-bool-out-of-range",
            "01 65 01 00 00 00 01 03 10 02 00 00 00",
        ),
        d(
            1,
            "update-u8-too-wide",
            "01 65 01 00 00 00 01 03 20 fb 00 01 00 00 00",
        ),
        d(
            1,
            "update-fixed-out-of-range",
            "01 65 01 00 00 00 01 03 08 fb 28 0a 00 00 00",
        ),
        d(
            1,
            "update-string-too-long",
            "01 65 01 00 00 00 01 03 fb 00 10 0d 61 61 61 61 61 61 61 61 61 61 61 61 61 00 00 00",
        ),
        d(
            1,
            "update-string-bad-utf8",
            "01 65 01 00 00 00 01 03 fb 00 10 02 c3 28 00 00 00",
        ),
        d(
            1,
            "update-removed-entity",
            "01 65 01 00 00 01 03 01 03 08 01 00 00 00",
        ),
        d(
            1,
            "update-mask-beyond-kind",
            "01 65 01 00 00 00 01 03 fd 00 00 00 00 00 80 00 00 00 00 00",
        ),
        d(
            1,
            "spawn-present-entity",
            "01 65 01 00 00 00 00 01 03 00 07 00 00 00",
        ),
        d(
            1,
            "spawn-unknown-kind",
            "01 65 01 00 00 00 00 01 0a 02 00 00 00 00",
        ),
        d(
            1,
            "spawn-out-of-range-zero",
            "01 65 01 00 00 00 00 01 0a 01 00 00 00 00",
        ),
        d(
            1,
            "update-and-spawn-same-id",
            "01 65 01 00 00 00 01 03 08 01 01 03 00 00 00 00 00",
        ),
        d(1, "unknown-event", "01 65 01 00 00 00 00 00 01 09 00"),
        d(
            1,
            "event-bad-utf8",
            "01 65 01 00 00 00 00 00 01 00 01 02 02 ff fe 00",
        ),
        d(
            1,
            "unknown-message-type",
            "01 65 01 00 00 00 00 00 00 01 02",
        ),
        d(
            1,
            "message-field-out-of-range",
            "01 65 01 00 00 00 00 00 00 01 01 02 fc 00 00 01 00",
        ),
        d(
            1,
            "message-string-too-long",
            "01 65 01 00 00 00 00 00 00 01 00 29 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 00",
        ),
        d(1, "trailing-bytes", "01 65 01 00 00 00 00 00 00 00 00"),
        d(1, "base-mismatch", "01 66 01 00 00 00 00 00 00 00"),
        d(1, "stale-tick", "01 64 00 00 00 00 00 00 00 00"),
        d(1, "gap-names-tick-zero", "01 65 65 00 00 00 00 00 00 00"),
        d(1, "gap-not-older", "01 65 fc 00 00 00 80 00 00 00 00 00 00"),
        d(1, "varint-marker-ff", "01 65 01 ff 00 00 00 00 00 00"),
        d(
            1,
            "u32-with-u64-marker",
            "01 65 01 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        ),
        d(1, "unknown-server-tag", "09 00"),
        d(1, "empty-message", ""),
        d(1, "welcome-truncated", "00 07 03 04 1e"),
        d(
            1,
            "schema-bad-option",
            "04 01 61 01 01 6b 00 02 00 00 00 00",
        ),
        d(1, "schema-trailing-bytes", "04 01 61 00 00 00 00 00 00"),
        d(
            1,
            "schema-bad-wire-type",
            "04 01 61 01 01 6b 01 01 66 0c 00 00 00 00 00 00",
        ),
    ];
    // Every cut of a delta with every part in it (snapshot-2).
    let full = &chain[2];
    for n in 1..full.len() {
        out.push(damaged(
            schema,
            chain,
            2,
            &format!("snapshot-2-cut-{n}"),
            &full[..n],
            true,
        ));
    }
    out
}

fn walker(i: u32, world: f32) -> Walker {
    // A fixed pseudo-random scatter (an LCG): the same on every run.
    let mut s = i.wrapping_mul(2_654_435_761).wrapping_add(12345);
    let mut next = || {
        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (s >> 8) as f32 / 16_777_216.0
    };
    let (x, y, a) = (
        next() * world,
        next() * world,
        next() * std::f32::consts::TAU,
    );
    Walker {
        pos: Vec2::new(x, y),
        vel: Vec2::new(a.cos(), a.sin()) * arena::MOVE_SPEED,
        yaw: a,
    }
}

fn walker_table(l: &Layouts, walkers: &[(u32, Walker)]) -> Table {
    let mut t = Table::default();
    for (id, w) in walkers {
        t.push_with(EntityId(*id), 0, *id, &l.kinds[0], |s| w.write(s));
    }
    t
}

/// `n` walkers at tick 10, then `steps` ticks in which each takes one arena
/// step under an input along its facing (turning a little each tick): the
/// complete snapshot of tick 10 and the deltas to ticks 11, 12, ..., as a
/// client that keeps up is sent them.
fn walker_world(n: u32, world: f32, steps: u32) -> (Vec<u8>, Vec<Vec<u8>>) {
    let schema = arena_schema();
    let l = schema.compile().expect("the arena compiles");
    let mut walkers: Vec<(u32, Walker)> = (1..=n).map(|i| (i, walker(i, world))).collect();
    let mut prev = walker_table(&l, &walkers);
    let complete = snapshot_bytes(&l, 10, None, &prev, None, 0, &[], None);
    let empty = Table::default();
    let mut deltas = Vec::new();
    for tick in 11..11 + steps {
        for (_, w) in &mut walkers {
            let input = InputCmd {
                seq: 0,
                move_x: w.yaw.cos(),
                move_y: w.yaw.sin(),
                yaw: w.yaw + 0.01,
                buttons: 0,
            };
            arena::step(w, &input.quantised(), 1.0 / 30.0, world);
        }
        let next = walker_table(&l, &walkers);
        deltas.push(snapshot_bytes(
            &l,
            tick,
            Some((tick - 1, &prev, &empty)),
            &next,
            None,
            0,
            &[],
            None,
        ));
        prev = next;
    }
    let chain: Vec<Vec<u8>> = std::iter::once(complete.clone())
        .chain(deltas.iter().cloned())
        .collect();
    let mut m = mirror_after(&schema, &chain);
    assert_eq!(m.len(), n as usize);
    let last = deltas.last().expect("at least one step");
    assert!(apply(&mut m, last).is_err(), "a delta applies once");
    (complete, deltas)
}

fn bench_vector(n: u32, world: f32, steps: u32, what: &str) -> Value {
    let schema = arena_schema();
    let (complete, deltas) = walker_world(n, world, steps);
    json!({
        "what": what,
        "entities": n,
        "welcome": hex(&server_to_vec(&welcome(1, 1, world, 300.0, &schema)).unwrap()),
        "schema": schema_vector(&schema)["hex"],
        "complete": hex(&complete),
        "deltas": deltas.iter().map(|d| hex(d)).collect::<Vec<_>>(),
    })
}

fn arena_vectors() -> Value {
    let schema = arena_schema();
    let l = schema.compile().expect("the arena compiles");
    let world = 1000.0;
    let w = |x: f32, y: f32, vx: f32, yaw: f32| Walker {
        pos: Vec2::new(x, y),
        vel: Vec2::new(vx, 0.0),
        yaw,
    };
    let frames: Vec<(u32, Vec<(u32, Walker)>)> = vec![
        (
            999,
            vec![
                (7, w(10.0, 10.0, 0.0, 0.0)),
                (9, w(500.0, 500.0, 200.0, 0.0)),
            ],
        ),
        (
            1000,
            vec![
                (9, w(500.0 + 107.0 / 16.0, 500.0 - 3.0 / 16.0, 200.0, 0.0)),
                (12, w(100.0, 200.0, 200.0, std::f32::consts::FRAC_PI_2)),
            ],
        ),
        (
            1001,
            vec![
                (9, w(1000.0, 0.0, -4096.0, std::f32::consts::PI)),
                (12, w(100.0, 200.0, 4095.875, 6.0)),
            ],
        ),
    ];
    let mut session = vec![
        server_vector(
            "welcome",
            &welcome(1, 9, world, 0.0, &schema),
            welcome_json(&welcome(1, 9, world, 0.0, &schema)),
        ),
        json!({ "name": "schema", "hex": schema_vector(&schema)["hex"], "message": { "type": "Schema" } }),
    ];
    let mut chain = Vec::new();
    let mut m = Mirror::new(&schema).expect("the arena compiles");
    let mut prev: Option<(u32, Table)> = None;
    let empty = Table::default();
    for (i, (tick, walkers)) in frames.iter().enumerate() {
        let t = walker_table(&l, walkers);
        let base = prev.as_ref().map(|(pt, pt_t)| (*pt, pt_t, &empty));
        let events = if i == 0 {
            vec![ServerEvent::PlayerJoined {
                player: PlayerId(1),
                entity: EntityId(9),
                name: "ann".into(),
            }]
        } else {
            vec![]
        };
        let bytes = snapshot_bytes(&l, *tick, base, &t, None, 40 + i as u32, &events, None);
        let lists = delta_lists(&l, base.map(|b| b.1), &t);
        session.push(snapshot_step(
            &schema,
            &mut m,
            &format!("snapshot-{i}"),
            &bytes,
            lists,
            false,
        ));
        chain.push(bytes);
        prev = Some((*tick, t));
    }
    let mut client = Vec::new();
    let (msg, decoded) = hello("ann", None, None);
    client.push(client_vector("hello", &msg, decoded));
    for (seq, input) in [
        (
            300u32,
            InputCmd {
                seq: 300,
                move_x: 1.0,
                move_y: 0.0,
                yaw: 0.0,
                buttons: 0,
            },
        ),
        (
            301,
            InputCmd {
                seq: 301,
                move_x: -0.70703125,
                move_y: 0.70703125,
                yaw: std::f32::consts::FRAC_PI_2 * 3.0,
                buttons: 255,
            },
        ),
    ] {
        let q = input.quantised();
        let (mut values, mut strings) = (Vec::new(), Vec::new());
        q.write(&mut SlotWriter::new(&mut values, &mut strings));
        client.push(client_vector(
            &format!("input-{seq}"),
            &input.msg(),
            json!({
                "type": "Input",
                "seq": seq,
                "fields": fields_json(&schema.input, &values, &|_| String::new()),
            }),
        ));
    }
    client.push(client_vector(
        "ping",
        &ClientMsg::Ping {
            client_time: 1_700_000_000_000,
        },
        json!({ "type": "Ping", "client_time": "1700000000000" }),
    ));
    client.push(client_vector(
        "leave",
        &ClientMsg::Leave,
        json!({ "type": "Leave" }),
    ));

    let d = |base: usize, name: &str, hexed: &str| {
        damaged(&schema, &chain, base, name, &bytes(hexed), false)
    };
    // After snapshot-0 (tick 999 = fb e7 03): walkers 7 and 9.
    let damaged_list = vec![
        d(
            1,
            "update-yaw-too-wide",
            "01 fb e8 03 01 00 00 01 09 10 fc 00 00 01 00 00 00 00",
        ),
        d(
            1,
            "update-pos-below-min",
            "01 fb e8 03 01 00 00 01 07 01 fb 41 01 00 00",
        ),
        d(1, "spawn-present", "01 fb e8 03 01 00 00 00 01 07 00 00 00"),
        d(
            1,
            "trailing-message-list",
            "01 fb e8 03 01 00 00 00 00 00 00",
        ),
        d(1, "cut-header", "01 fb e8"),
    ];
    // Prediction: the arena's rule and the reference predictor.
    let mut p = Predictor::new(w(500.0, 500.0, 0.0, 0.0), 30, world);
    let mut steps = Vec::new();
    let body_json = |b: &Walker| {
        json!({ "pos.x": f64::from(b.pos.x), "pos.y": f64::from(b.pos.y),
                "vel.x": f64::from(b.vel.x), "vel.y": f64::from(b.vel.y), "yaw": f64::from(b.yaw) })
    };
    let inputs = [
        (1u32, 1.0f32, 0.0f32, 0.5f32),
        (2, 1.0, 1.0, 1.0),
        (3, -0.3, 0.9, -1.0),
        (4, 0.0, -1.0, 7.0),
        (5, 1.0, 1.0, 0.0),
    ];
    for &(seq, mx, my, yaw) in &inputs {
        let input = InputCmd {
            seq,
            move_x: mx,
            move_y: my,
            yaw,
            buttons: 0,
        };
        p.predict(input);
        let q = input.quantised();
        let (mut values, mut strings) = (Vec::new(), Vec::new());
        q.write(&mut SlotWriter::new(&mut values, &mut strings));
        steps.push(json!({
            "predict": { "seq": seq, "input": fields_json(&schema.input, &values, &|_| String::new()) },
            "body": body_json(p.body()),
        }));
    }
    // The server applied input 2 and saw the walker at its own position.
    let server = w(507.0, 501.5, 141.5, 1.0);
    let err = p.reconcile(&server, 2);
    steps.push(json!({
        "reconcile": { "ack": 2, "server": body_json(&server) },
        "error": err.map(f64::from),
        "pending": p.pending(),
        "body": body_json(p.body()),
    }));
    // Near the wall: the clamp.
    let server = w(999.0, 0.5, 0.0, 0.0);
    let err = p.reconcile(&server, 4);
    steps.push(json!({
        "reconcile": { "ack": 4, "server": body_json(&server) },
        "error": err.map(f64::from),
        "pending": p.pending(),
        "body": body_json(p.body()),
    }));

    json!({
        "game": "arena",
        "schema": schema_vector(&schema),
        "session": session,
        "client": client,
        "damaged": damaged_list,
        "prediction": { "tick_rate": 30, "world_size": f64::from(world), "start": body_json(&w(500.0, 500.0, 0.0, 0.0)), "steps": steps },
    })
}

fn varint_vectors() -> Value {
    let enc = |v: &dyn erased::Enc| hex(&v.bytes());
    let mut values = Vec::new();
    for v in [0u16, 1, 250, 251, 255, 256, 65535] {
        values.push(json!({ "type": "u16", "value": v, "hex": enc(&v) }));
    }
    for v in [0u32, 250, 251, 65535, 65536, 16_777_216, u32::MAX] {
        values.push(json!({ "type": "u32", "value": v, "hex": enc(&v) }));
    }
    for v in [
        0u64,
        250,
        251,
        65535,
        65536,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        1 << 53,
        u64::MAX,
    ] {
        values.push(json!({ "type": "u64", "value": v.to_string(), "hex": enc(&v) }));
    }
    for v in [0i16, -1, 1, 125, -125, 126, -126, i16::MAX, i16::MIN] {
        let z = ((v << 1) ^ (v >> 15)) as u16;
        values.push(json!({ "type": "i16", "value": v, "zigzag": z, "hex": enc(&v) }));
    }
    for v in [
        0i32,
        -1,
        1,
        125,
        -126,
        32767,
        -32768,
        32768,
        -32769,
        i32::MAX,
        i32::MIN,
    ] {
        let z = ((v << 1) ^ (v >> 31)) as u32;
        values.push(json!({ "type": "i32", "value": v, "zigzag": z, "hex": enc(&v) }));
    }
    // What decoders accept and refuse (bincode's rules: non-shortest forms
    // are accepted, a form wider than the type is not).
    let mut decode = Vec::new();
    for (ty, hexed) in [
        ("u16", "fb 05 00"),
        ("u32", "fc 05 00 00 00"),
        ("u64", "fd 05 00 00 00 00 00 00 00"),
        ("u16", "fc 00 00 01 00"),
        ("u32", "fd 00 00 00 00 01 00 00 00"),
        ("u64", "fe 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
        ("u64", "ff"),
        ("u32", "ff"),
        ("u16", "fb 01"),
        ("u32", "fc 01 02 03"),
        ("u64", "fd 01"),
        ("u32", ""),
        ("i16", "fb ff ff"),
        ("i32", "fc ff ff ff ff"),
    ] {
        let b = bytes(hexed);
        let r = match ty {
            "u16" => erased::dec::<u16>(&b, |v| json!(v)),
            "u32" => erased::dec::<u32>(&b, |v| json!(v)),
            "u64" => erased::dec::<u64>(&b, |v| json!(v.to_string())),
            "i16" => erased::dec::<i16>(&b, |v| json!(v)),
            _ => erased::dec::<i32>(&b, |v| json!(v)),
        };
        let mut v = json!({ "type": ty, "hex": hex(&b) });
        match r {
            Ok((value, used)) => {
                v["value"] = value;
                v["used"] = json!(used);
            }
            Err(code) => v["error"] = json!({ "code": code }),
        }
        decode.push(v);
    }
    json!({ "values": values, "decode": decode })
}

/// bincode's integer encoding, through serde (what every message uses).
mod erased {
    use serde_json::Value;

    pub trait Enc {
        fn bytes(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Enc for T {
        fn bytes(&self) -> Vec<u8> {
            bincode::serde::encode_to_vec(self, bincode::config::standard()).expect("encodes")
        }
    }

    pub fn dec<T: serde::de::DeserializeOwned>(
        b: &[u8],
        show: impl Fn(T) -> Value,
    ) -> Result<(Value, usize), &'static str> {
        match bincode::serde::decode_from_slice::<T, _>(b, bincode::config::standard()) {
            Ok((v, used)) => Ok((show(v), used)),
            Err(bincode::error::DecodeError::UnexpectedEnd { .. }) => Err("Truncated"),
            Err(_) => Err("Malformed"),
        }
    }
}

// ---------------------------------------------------------------------------
// Writing and checking the files.

fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/ts/vectors")
}

fn vector_files() -> Vec<(PathBuf, String)> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("JSON") + "\n";
    let dir = out_dir();
    vec![
        (dir.join("varint.json"), pretty(&varint_vectors())),
        (dir.join("arena.json"), pretty(&arena_vectors())),
        (dir.join("game.json"), pretty(&game_vectors())),
        // One client's area of interest (~28 walkers) and a full view of 1,000.
        (
            dir.join("bench/aoi.json"),
            pretty(&bench_vector(28, 1000.0, 30, "aoi: 28 walkers, all moving")),
        ),
        (
            dir.join("bench/full.json"),
            pretty(&bench_vector(
                1000,
                3162.0,
                6,
                "full view: 1,000 walkers, all moving",
            )),
        ),
    ]
}

#[test]
fn vectors_on_disk_match_the_encoders() {
    let bless = std::env::var_os("SNAPWIRE_BLESS_VECTORS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (path, text) in vector_files() {
        let on_disk = std::fs::read_to_string(&path).ok();
        if on_disk.as_deref() == Some(text.as_str()) {
            continue;
        }
        if bless {
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        } else {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "these vector files differ from what the encoders write: {stale:?}; \
         run `SNAPWIRE_BLESS_VECTORS=1 cargo test -p snapwire-shared --test vectors` \
         and commit them (and update the clients that read them)"
    );
}

#[test]
fn vectors_are_deterministic() {
    let a = vector_files();
    let b = vector_files();
    assert_eq!(a, b);
}
