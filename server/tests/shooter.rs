//! The shooter example, played through real WebSockets: its descriptor,
//! game-spawned bolts that hit and despawn, ownership, the room state (score
//! and round clock), typed inputs checked against their ranges, and chat
//! both ways; and a client that reads it all through the descriptor alone.

mod common;
#[path = "../examples/shooter/game.rs"]
mod game;

use common::{TestServer, config, expect_close, join, within};
use game::{Bolt, Controls, Match, Say, Shooter, Soldier, Team, Thing, Told};
use glam::Vec2;
use snapwire_bot::GameClient;
use snapwire_server::Config;
use snapwire_server::game::{GameSpec, schema_of};
use snapwire_shared::codec::{self, input_msg};
use snapwire_shared::mirror::Applied;
use snapwire_shared::protocol::{GameMsg, InputMsg, close};
use snapwire_shared::schema::WireType;
use snapwire_shared::{ClientMsg, EntityId, ServerMsg, Snapshot, Welcome};
use std::sync::Arc;

/// A shooter whose first soldiers stand at `spawns`.
fn shooter(spawns: Vec<Vec2>) -> Config {
    let spec = GameSpec::new(move || Shooter::with_spawns(spawns.clone()))
        .expect("the shooter's schema is valid");
    Config {
        game: Arc::new(spec),
        world_size: 2000.0,
        view_radius: 300.0,
        ..config()
    }
}

/// The next snapshot, applied to the client's own mirror.
async fn next(client: &mut GameClient) -> (Snapshot, Applied) {
    loop {
        let msg = within(client.recv()).await.expect("stays connected");
        if let ServerMsg::Snapshot(s) = msg {
            let applied = client.apply(&s).expect("snapshots chain");
            return (s, applied);
        }
    }
}

fn soldier(client: &GameClient, id: EntityId) -> Soldier {
    match client.view().unwrap().get::<Thing>(id) {
        Some(Thing::Soldier(s)) => s,
        other => panic!("{id} should be a soldier, is {other:?}"),
    }
}

fn bolts(client: &GameClient) -> Vec<(EntityId, Bolt)> {
    let m = client.view().unwrap();
    m.rows()
        .iter()
        .filter_map(|r| match m.get::<Thing>(r.id) {
            Some(Thing::Bolt(b)) => Some((r.id, b)),
            _ => None,
        })
        .collect()
}

fn say(text: &str) -> ClientMsg {
    let layouts = codec::message_layouts::<Say>();
    ClientMsg::Message(codec::encode_message(
        &layouts,
        &Say::Chat { text: text.into() },
    ))
}

async fn play(client: &mut GameClient, seq: u32, controls: Controls) {
    client.send(&input_msg(seq, &controls)).await.expect("sent");
}

#[tokio::test]
async fn the_descriptor_describes_the_game_and_matches_its_types() {
    let server = TestServer::start(shooter(vec![Vec2::new(500.0, 500.0)])).await;
    let (client, welcome) = join(&server, "ann").await;
    let schema = client.schema().expect("the schema follows the Welcome");
    assert_eq!(
        **schema,
        schema_of::<Shooter>(),
        "the server describes the game's own types"
    );
    assert_eq!(schema.hash(), welcome.schema_hash);
    assert_eq!(schema.game, "shooter");
    let names = |fields: &[snapwire_shared::schema::FieldDesc]| -> Vec<String> {
        fields.iter().map(|f| f.name.clone()).collect()
    };
    assert_eq!(schema.kinds.len(), 2);
    assert_eq!(schema.kinds[0].name, "Soldier");
    assert_eq!(
        names(&schema.kinds[0].fields),
        ["pos.x", "pos.y", "aim", "health", "team", "name"]
    );
    assert_eq!(schema.kinds[0].position, Some(0));
    assert_eq!(
        schema.kinds[0].fields[4].ty,
        WireType::Enum {
            variants: vec!["Red".into(), "Blue".into()]
        }
    );
    assert_eq!(schema.kinds[0].fields[5].ty, WireType::Str { max_len: 16 });
    assert_eq!(
        names(&schema.kinds[1].fields),
        ["pos.x", "pos.y", "vel.x", "vel.y", "shooter"]
    );
    assert_eq!(schema.kinds[1].fields[4].ty, WireType::Ref);
    assert_eq!(
        names(&schema.state),
        ["red", "blue", "phase", "time_left", "round"]
    );
    assert_eq!(names(&schema.input), ["move_x", "move_y", "aim", "fire"]);
    assert_eq!(schema.client_messages.len(), 1);
    assert_eq!(names(&schema.client_messages[0].fields), ["text"]);
    let told: Vec<&str> = schema
        .server_messages
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(told, ["Chat", "Hit", "RoundOver"]);
    server.stop().await;
}

/// A client with no type of the game: it finds kinds, fields and their
/// quantisation by name in the descriptor, and reads the mirror's slots.
#[tokio::test]
async fn a_client_reads_the_game_through_the_descriptor_alone() {
    let server = TestServer::start(shooter(vec![Vec2::new(500.0, 250.0)])).await;
    let (mut client, welcome) = join(&server, "ann").await;
    let schema = client.schema().unwrap().clone();
    let soldier_kind = schema
        .kinds
        .iter()
        .position(|k| k.name == "Soldier")
        .unwrap() as u16;
    let field = |name: &str| {
        schema.kinds[usize::from(soldier_kind)]
            .fields
            .iter()
            .position(|f| f.name == name)
            .unwrap()
    };
    let scale = match &schema.kinds[usize::from(soldier_kind)].fields[field("pos.y")].ty {
        WireType::Fixed { scale, .. } => *scale,
        other => panic!("pos.y should be fixed point, is {other:?}"),
    };
    let clock = schema
        .state
        .iter()
        .position(|f| f.name == "time_left")
        .unwrap();
    let clock_scale = match &schema.state[clock].ty {
        WireType::Fixed { scale, .. } => *scale,
        other => panic!("time_left should be fixed point, is {other:?}"),
    };
    let mut clocks = Vec::new();
    for _ in 0..10 {
        next(&mut client).await;
        let m = client.view().unwrap();
        let row = m
            .row(welcome.entity)
            .expect("the client sees its own soldier");
        assert_eq!(row.kind, soldier_kind);
        assert_eq!(
            row.owner, welcome.player.0,
            "the soldier is owned by its player"
        );
        let v = m.values(row);
        assert_eq!(v[field("health")], 100);
        assert_eq!(v[field("team")], 0, "the first soldier is Red (variant 0)");
        assert_eq!(m.string(v[field("name")]), "ann");
        assert_eq!(v[field("pos.y")] as i32 as f32 / scale, 250.0);
        clocks.push(m.state_values()[clock] as i32 as f32 / clock_scale);
    }
    assert!(clocks[0] > 100.0 && clocks[0] <= 120.0, "{clocks:?}");
    assert!(
        clocks.windows(2).all(|w| w[1] <= w[0]),
        "the round clock runs down: {clocks:?}"
    );
    assert!(clocks[9] < clocks[0]);
    server.stop().await;
}

#[tokio::test]
async fn fire_spawns_bolts_that_hit_despawn_and_score() {
    let red = Vec2::new(500.0, 500.0);
    let blue = Vec2::new(600.0, 500.0);
    let server = TestServer::start(shooter(vec![red, blue])).await;
    let (mut a, wa) = join(&server, "red").await;
    let (mut b, wb) = join(&server, "blue").await;
    assert_eq!(soldier_team(&mut b, wb.entity).await, Team::Blue);
    let mut seq = 0;
    let mut hits = Vec::new();
    let mut bolt_seen = None;
    let mut bolts_gone = false;
    let mut score = Match::default();
    // Red aims along +x at Blue (aim 0) and holds fire; Blue stands still.
    for _ in 0..150 {
        seq += 1;
        play(
            &mut a,
            seq,
            Controls {
                aim: 0.0,
                fire: true,
                ..Controls::default()
            },
        )
        .await;
        next(&mut a).await;
        for (id, bolt) in bolts(&a) {
            assert_eq!(bolt.shooter, Some(wa.entity), "a bolt names who fired it");
            assert_eq!(
                a.view().unwrap().row(id).unwrap().owner,
                0,
                "bolts belong to the game"
            );
            if bolt_seen.is_none() {
                bolt_seen = Some(id);
            }
        }
        if let Some(first) = bolt_seen
            && a.view().unwrap().row(first).is_none()
        {
            bolts_gone = true;
        }
        let (_, applied) = next(&mut b).await;
        hits.extend(
            applied
                .messages_as::<Told>()
                .into_iter()
                .filter(|m| matches!(m, Told::Hit { .. })),
        );
        score = b.view().unwrap().state::<Match>();
        if score.red >= 1 {
            break;
        }
    }
    assert!(bolt_seen.is_some(), "firing spawns bolts");
    assert!(bolts_gone, "a bolt that hit (or flew out) is despawned");
    assert_eq!(
        score.red, 1,
        "four hits take a soldier down and score for Red"
    );
    assert_eq!(score.blue, 0);
    let healths: Vec<u8> = hits
        .iter()
        .map(|m| match m {
            Told::Hit { victim, health } => {
                assert_eq!(*victim, wb.entity);
                *health
            }
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        healths[..4],
        [75, 50, 25, 0],
        "each hit takes 25, told to the victim's viewers"
    );
    assert_eq!(
        soldier(&b, wb.entity).health,
        100,
        "the fallen soldier is back at full health"
    );
    server.stop().await;
}

async fn soldier_team(client: &mut GameClient, id: EntityId) -> Team {
    next(client).await;
    soldier(client, id).team
}

#[tokio::test]
async fn chat_goes_to_everyone_in_order() {
    let server = TestServer::start(shooter(Vec::new())).await;
    let (mut a, wa): (GameClient, Welcome) = join(&server, "a").await;
    let (mut b, _) = join(&server, "b").await;
    a.send(&say("hello")).await.unwrap();
    a.send(&say("  ")).await.unwrap(); // blank: the game drops it
    a.send(&say("again")).await.unwrap();
    for client in [&mut a, &mut b] {
        let mut lines = Vec::new();
        while lines.len() < 2 {
            let (_, applied) = next(client).await;
            for m in applied.messages_as::<Told>() {
                if let Told::Chat { from, text } = m {
                    assert_eq!(from, wa.player);
                    lines.push(text);
                }
            }
        }
        assert_eq!(lines, ["hello", "again"]);
    }
    server.stop().await;
}

#[tokio::test]
async fn an_input_field_out_of_range_is_closed_with_1007_naming_it() {
    let server = TestServer::start(shooter(Vec::new())).await;
    let (mut client, _) = join(&server, "c").await;
    // move_x 0, move_y 0, aim 0, fire = 2 (zigzag 4): a bool must be 0 or 1.
    let bad = ClientMsg::Input(InputMsg {
        seq: 1,
        fields: vec![0, 0, 0, 4],
    });
    client.send(&bad).await.unwrap();
    assert_eq!(
        expect_close(&mut client).await,
        (
            close::INVALID_PAYLOAD,
            "input field fire out of range".into()
        )
    );
    server.stop().await;
}

/// The game's own rule, on top of the declared ranges: each of move_x and
/// move_y may be 1, but not both (a diagonal faster than a straight run).
#[tokio::test]
async fn the_games_input_check_refuses_with_1007_and_its_reason() {
    let server = TestServer::start(shooter(Vec::new())).await;
    let (mut client, _) = join(&server, "d").await;
    let diagonal = Controls {
        move_x: 1.0,
        move_y: 1.0,
        ..Controls::default()
    };
    play(&mut client, 1, diagonal).await;
    assert_eq!(
        expect_close(&mut client).await,
        (close::INVALID_PAYLOAD, "move vector longer than 1".into())
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_messages_are_closed_with_1007() {
    let server = TestServer::start(shooter(Vec::new())).await;
    let (mut unknown, _) = join(&server, "u").await;
    unknown
        .send(&ClientMsg::Message(GameMsg(vec![7])))
        .await
        .unwrap();
    assert_eq!(
        expect_close(&mut unknown).await,
        (close::INVALID_PAYLOAD, "unknown message type".into())
    );
    let (mut long, _) = join(&server, "l").await;
    // Chat's text is declared at most 120 bytes; send 121.
    let mut bytes = vec![0, 121];
    bytes.extend(std::iter::repeat_n(b'x', 121));
    long.send(&ClientMsg::Message(GameMsg(bytes)))
        .await
        .unwrap();
    assert_eq!(
        expect_close(&mut long).await,
        (
            close::INVALID_PAYLOAD,
            "message field 0 out of range".into()
        )
    );
    server.stop().await;
}
