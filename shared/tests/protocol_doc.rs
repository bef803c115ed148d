//! Keeps the worked examples of `docs/PROTOCOL.md` honest.
//!
//! Every example in the document is a fenced block with the info string
//! `hex NAME`, holding the bytes as two-digit lowercase hex, followed by a
//! breakdown table whose first column lists the same bytes, row by row, in
//! backticks. This test checks, for each example, that the block is exactly
//! what the codec produces for the message the document describes, that the
//! bytes decode back to that message, and that the breakdown table accounts
//! for every byte in order. It also refuses `hex` blocks it does not check.

use glam::Vec2;
use snapwire_shared::codec::{
    Fields, client_to_vec, decode_client, decode_message, decode_server, server_to_vec,
};
use snapwire_shared::delta::{DeltaScratch, Sel, write_delta, write_state_change};
use snapwire_shared::protocol::GameMsg;
use snapwire_shared::schema::{FieldDesc, Layout, Layouts, Schema, WireType};
use snapwire_shared::table::Table;
use snapwire_shared::{
    ClientMsg, EntityId, EntitySet, InputCmd, ServerMsg, Snapshot, Tick, Walker,
};

const PROTOCOL_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROTOCOL.md");

/// The example names this test knows how to check.
const CHECKED_EXAMPLES: [&str; 5] = ["hello", "input", "snapshot", "schema", "message"];

fn read_protocol_doc() -> String {
    std::fs::read_to_string(PROTOCOL_DOC)
        .unwrap_or_else(|e| panic!("{PROTOCOL_DOC} should be readable: {e}"))
}

/// Parses whitespace-separated bytes written as two lowercase hex digits.
fn parse_hex_bytes(text: &str, context: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|token| {
            let well_formed = token.len() == 2
                && token
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
            assert!(
                well_formed,
                "{context}: {token:?} should be a byte as two lowercase hex digits"
            );
            u8::from_str_radix(token, 16).expect("two hex digits should parse as a byte")
        })
        .collect()
}

/// Formats bytes the way the document writes them, for failure messages.
fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The names of every fenced block whose info string is `hex NAME`.
fn hex_block_names(doc: &str) -> Vec<String> {
    doc.lines()
        .filter_map(|line| line.trim().strip_prefix("```hex "))
        .map(|name| name.trim().to_owned())
        .collect()
}

/// One worked example: the bytes of its hex block and of its breakdown table.
struct Example {
    block: Vec<u8>,
    breakdown: Vec<u8>,
}

/// Finds the example `name`: exactly one ```` ```hex name ```` block, then the
/// first table after it.
fn example(doc: &str, name: &str) -> Example {
    let lines: Vec<&str> = doc.lines().collect();
    let fence = format!("```hex {name}");
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim() == fence)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        starts.len(),
        1,
        "PROTOCOL.md should hold exactly one {fence:?} block"
    );
    let body_start = starts[0] + 1;
    let body_len = lines[body_start..]
        .iter()
        .position(|line| line.trim().starts_with("```"))
        .unwrap_or_else(|| panic!("the {fence:?} block should be closed by a fence"));
    let block = parse_hex_bytes(
        &lines[body_start..body_start + body_len].join("\n"),
        &format!("hex block {name:?}"),
    );
    assert!(!block.is_empty(), "the {fence:?} block should not be empty");

    let after_block = &lines[body_start + body_len + 1..];
    let table_start = after_block
        .iter()
        .position(|line| line.trim().starts_with('|'))
        .unwrap_or_else(|| panic!("the {fence:?} block should be followed by a breakdown table"));
    let rows: Vec<&str> = after_block[table_start..]
        .iter()
        .take_while(|line| line.trim().starts_with('|'))
        .copied()
        .collect();
    assert!(
        rows.len() > 2,
        "the breakdown of {name:?} should have a header, a separator and rows"
    );
    let mut breakdown = Vec::new();
    // Skip the header row and the `| --- |` separator.
    for row in &rows[2..] {
        let first_cell = row.trim().trim_start_matches('|').split('|').next();
        let first_cell = first_cell.unwrap_or_default().trim().trim_matches('`');
        breakdown.extend(parse_hex_bytes(
            first_cell,
            &format!("breakdown of {name:?}, row {row:?}"),
        ));
    }
    Example { block, breakdown }
}

/// Checks that the breakdown table of example `name` lists its block's bytes.
fn check_breakdown(name: &str, example: &Example) {
    assert_eq!(
        to_hex(&example.breakdown),
        to_hex(&example.block),
        "the breakdown table of {name:?} should list the bytes of its hex block, in order \
         (left: table, right: block)"
    );
}

fn hello_example() -> ClientMsg {
    ClientMsg::Hello {
        protocol_version: 2,
        name: "ann".to_owned(),
        resume_token: None,
        auth_token: None,
    }
}

fn input_example() -> ClientMsg {
    InputCmd {
        seq: 300,
        move_x: 1.0,
        move_y: 0.0,
        yaw: 0.0,
        buttons: 0,
    }
    .msg()
}

/// The arena's schema: one kind (`Walker`), no state, no messages; what
/// the server builds from the arena's types (`schema_of::<Arena>()`).
fn arena_schema() -> Schema {
    Schema {
        game: "arena".into(),
        kinds: Walker::kinds(),
        state: Vec::new(),
        input: <InputCmd as snapwire_shared::Replicate>::fields(),
        client_messages: Vec::new(),
        server_messages: Vec::new(),
    }
}

fn arena_layouts() -> Layouts {
    arena_schema()
        .compile()
        .expect("the arena's schema compiles")
}

/// The descriptor message the server sends right after `Welcome`.
fn schema_example() -> ServerMsg {
    ServerMsg::Schema(arena_schema())
}

/// The made-up chat message of the document: type 0, one field
/// `text: Str { max_len: 64 }`.
fn chat_layouts() -> Vec<Layout> {
    vec![
        Layout::new(
            "Chat",
            &[FieldDesc {
                name: "text".into(),
                ty: WireType::Str { max_len: 64 },
            }],
        )
        .expect("the chat layout compiles"),
    ]
}

/// `Chat { text: "hi" }` from a client, its bytes made by hand: type index
/// 0, then the string's length and bytes.
fn message_example() -> ClientMsg {
    ClientMsg::Message(GameMsg(vec![0x00, 0x02, b'h', b'i']))
}

fn table(layouts: &Layouts, walkers: &[(u32, Walker)]) -> Table {
    let mut t = Table::default();
    for (id, w) in walkers {
        t.push_with(EntityId(*id), 0, 0, &layouts.kinds[0], |s| w.write_kind(s));
    }
    t
}

fn snapshot_example() -> ServerMsg {
    let layouts = arena_layouts();
    let at = |x: f32, y: f32| Walker {
        pos: Vec2::new(x, y),
        ..Walker::default()
    };
    // Entity 7 leaves the view, 9 moves by (+6.6875, -0.1875), 12 arrives
    // at (100, 200) walking along x at 200 units/s, facing a quarter turn.
    let base = table(&layouts, &[(7, at(10.0, 10.0)), (9, at(50.0, 50.0))]);
    let arrives = Walker {
        pos: Vec2::new(100.0, 200.0),
        vel: Vec2::new(200.0, 0.0),
        yaw: std::f32::consts::FRAC_PI_2,
    };
    let cur = table(&layouts, &[(9, at(56.6875, 49.8125)), (12, arrives)]);
    let mut body = Vec::new();
    write_state_change(
        &layouts.state,
        Some(&Table::default()),
        &Table::default(),
        &mut body,
    );
    write_delta(
        &layouts,
        &base,
        Sel::All,
        &cur,
        Sel::All,
        None,
        None,
        &mut DeltaScratch::default(),
        &mut body,
    );
    snapwire_shared::codec::parts::snapshot_tail(&[], None, &mut body).expect("encodes");
    ServerMsg::Snapshot(Snapshot {
        tick: Tick(1000),
        base_tick: Tick(999),
        ack_gap: 1,
        body,
    })
}

fn check_client_example(name: &str, msg: &ClientMsg) {
    let example = example(&read_protocol_doc(), name);
    let documented = &example.block;
    let encoded = client_to_vec(msg).expect("the example message should encode");
    assert_eq!(
        to_hex(documented),
        to_hex(&encoded),
        "PROTOCOL.md's {name:?} example should match the encoder (left: document, right: encoder)"
    );
    let decoded = decode_client(documented).expect("the documented bytes should decode");
    assert_eq!(
        &decoded, msg,
        "the documented bytes should decode to the example message"
    );
    check_breakdown(name, &example);
}

fn check_server_example(name: &str, msg: &ServerMsg) {
    let example = example(&read_protocol_doc(), name);
    let documented = &example.block;
    let encoded = server_to_vec(msg).expect("the example message should encode");
    assert_eq!(
        to_hex(documented),
        to_hex(&encoded),
        "PROTOCOL.md's {name:?} example should match the encoder (left: document, right: encoder)"
    );
    let decoded = decode_server(documented).expect("the documented bytes should decode");
    assert_eq!(
        &decoded, msg,
        "the documented bytes should decode to the example message"
    );
    check_breakdown(name, &example);
}

#[test]
fn hello_example_matches_the_codec() {
    check_client_example("hello", &hello_example());
}

#[test]
fn input_example_matches_the_codec() {
    check_client_example("input", &input_example());
}

#[test]
fn snapshot_example_matches_the_codec() {
    check_server_example("snapshot", &snapshot_example());
}

#[test]
fn schema_example_matches_the_codec() {
    let msg = schema_example();
    check_server_example("schema", &msg);
    // The document also gives the arena's schema hash: FNV-1a 64 of the
    // descriptor's bytes, which are the message's after its tag.
    let schema = arena_schema();
    let encoded = server_to_vec(&msg).expect("the schema encodes");
    assert_eq!(encoded[0], 4, "ServerMsg::Schema is tag 4");
    let fnv = encoded[1..]
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    assert_eq!(
        fnv,
        schema.hash(),
        "the hash is FNV-1a 64 of the bytes after the tag"
    );
    let quoted = format!("`0x{:016x}`", schema.hash());
    assert!(
        read_protocol_doc().contains(&quoted),
        "PROTOCOL.md should give the arena's schema hash as {quoted}"
    );
}

#[test]
fn message_example_matches_the_codec() {
    let msg = message_example();
    check_client_example("message", &msg);
    let ClientMsg::Message(GameMsg(bytes)) = &msg else {
        unreachable!("the example is a message");
    };
    let mut fields = Fields::default();
    let ty = decode_message(&chat_layouts(), bytes, &mut fields)
        .expect("the message's fields decode against the chat layout");
    assert_eq!(ty, 0, "the message is of type 0");
    assert_eq!(fields.values, vec![0], "one string slot, the first string");
    assert_eq!(fields.strings.len(), 1);
    assert_eq!(&*fields.strings[0], "hi");
}

#[test]
fn every_hex_block_in_the_document_is_checked() {
    let names = hex_block_names(&read_protocol_doc());
    for name in &names {
        assert!(
            CHECKED_EXAMPLES.contains(&name.as_str()),
            "hex block {name:?} should be checked by this test (known: {CHECKED_EXAMPLES:?})"
        );
    }
    for name in CHECKED_EXAMPLES {
        assert!(
            names.iter().any(|n| n == name),
            "PROTOCOL.md should hold a ```hex {name} block"
        );
    }
}

#[test]
fn hex_parsing_refuses_sloppy_bytes() {
    assert_eq!(
        parse_hex_bytes("00 fb\n2c 01", "test"),
        vec![0x00, 0xfb, 0x2c, 0x01]
    );
    for sloppy in ["FB", "f", "0x01", "fb2c", "zz"] {
        let parsed = std::panic::catch_unwind(|| parse_hex_bytes(sloppy, "test"));
        assert!(parsed.is_err(), "{sloppy:?} should be refused");
    }
}
