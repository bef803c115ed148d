//! Game messages from the server: one sent at once arrives as a message of
//! its own, and a client sent more than it can take is closed with 1008
//! `too far behind` while the others play on.

mod common;

use common::{TestServer, config, expect_close, join, next_snapshot, within};
use snapwire_server::Config;
use snapwire_server::game::{Game, GameSpec, World};
use snapwire_shared::codec::{self, message_from};
use snapwire_shared::protocol::close;
use snapwire_shared::{
    EntityId, InputCmd, Messages, NoMessages, NoState, PlayerId, ServerMsg, Walker,
};
use std::sync::Arc;

#[derive(Messages, Clone, Debug, PartialEq)]
enum Note {
    Hello { to: PlayerId },
    Spam { n: u32 },
}

/// Greets each player at once on joining; floods the first one with 300
/// messages a tick (more than the 256 a snapshot carries).
#[derive(Default)]
struct Noisy {
    first: Option<PlayerId>,
    n: u32,
}

impl Game for Noisy {
    type Entity = Walker;
    type State = NoState;
    type Input = InputCmd;
    type ClientMessage = NoMessages;
    type ServerMessage = Note;
    const NAME: &'static str = "noisy";

    fn join(&mut self, world: &mut World<Self>, player: PlayerId, _: &str) -> EntityId {
        self.first.get_or_insert(player);
        world.send_now(player, &Note::Hello { to: player });
        world.spawn_owned(player, Walker::default())
    }

    fn step(&mut self, world: &mut World<Self>, _dt: f32) {
        let Some(victim) = self.first else { return };
        if world.players().count() < 2 {
            return; // start once the bystander is in
        }
        for _ in 0..300 {
            self.n += 1;
            world.send(victim, &Note::Spam { n: self.n });
        }
    }
}

fn noisy() -> Config {
    Config {
        game: Arc::new(GameSpec::new(Noisy::default).expect("valid schema")),
        // A small room: its clients' backlog is the minimum, 1,024 events
        // and messages, which 44 too many a tick fill in under a second.
        room_capacity: 10,
        ..config()
    }
}

#[tokio::test]
async fn a_message_sent_at_once_arrives_on_its_own() {
    let server = TestServer::start(noisy()).await;
    let (mut client, welcome) = join(&server, "a").await;
    let layouts = codec::message_layouts::<Note>();
    let hello = within(async {
        loop {
            if let ServerMsg::Message(m) = client.recv().await.expect("connected") {
                return message_from::<Note>(&layouts, &m).expect("decodes");
            }
        }
    })
    .await;
    assert_eq!(hello, Note::Hello { to: welcome.player });
    server.stop().await;
}

#[tokio::test]
async fn a_client_sent_more_than_it_can_take_is_closed_and_the_others_play_on() {
    let server = TestServer::start(noisy()).await;
    let (mut victim, _) = join(&server, "victim").await;
    let (mut bystander, _) = join(&server, "bystander").await;
    // The victim reads everything; 300 messages a tick still outrun the
    // 256 a snapshot carries, and its backlog overflows.
    assert_eq!(
        expect_close(&mut victim).await,
        (close::POLICY_VIOLATION, close::REASON_LAGGING.into())
    );
    // The bystander was never sent any of it, and keeps its snapshots.
    for _ in 0..30 {
        next_snapshot(&mut bystander).await;
    }
    server.stop().await;
}
