//! Where a game's types meet the room machinery, which knows none of them.
//!
//! [`GameSpec`] is made once per server from a [`Game`] type: its schema
//! (and the descriptor's encoding, sent to every client as is), its
//! compiled layouts, the input check that runs on connection shards, and
//! the factory of each room's [`GameHost`]: the room task's only handle on
//! the game, through which typed values cross as slots.

use super::Game;
use super::world::World;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use snapwire_shared::codec::{self, DecodeError, Fields};
use snapwire_shared::field::SlotReader;
use snapwire_shared::schema::{Layouts, MAX_INPUT_SLOTS, Schema, SchemaError};
use snapwire_shared::table::Table;
use snapwire_shared::{EntityId, EntitySet, MessageSet, PlayerId, Replicate, ServerMsg, Tick};
use std::borrow::Cow;
use std::sync::Arc;

/// A decoded input's slots, inline (inputs are numbers only, at most
/// [`MAX_INPUT_SLOTS`] of them): queued per player without an allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputSlots {
    values: [u32; MAX_INPUT_SLOTS],
    len: u8,
}

impl InputSlots {
    /// The slots.
    pub fn as_slice(&self) -> &[u32] {
        &self.values[..usize::from(self.len)]
    }
}

/// Who a game message goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every player of the room.
    All,
    /// One player.
    Player(PlayerId),
    /// The players whose snapshot of that tick shows the entity.
    Viewers(EntityId),
}

/// A game message on its way, encoded once for all its recipients.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Who it goes to.
    pub to: Audience,
    /// Type index and fields, as they go on the wire.
    pub bytes: Arc<[u8]>,
    /// Sent at once as a message of its own, not with the next snapshot.
    pub immediate: bool,
}

/// A room's game, as the room task drives it.
pub trait GameHost: Send {
    /// A player joins at the room's key `key`: the game spawns their entity.
    fn join(&mut self, key: usize, player: PlayerId, name: &str) -> EntityId;
    /// The player at `key` is gone for good.
    fn leave(&mut self, key: usize);
    /// The input the player at `key` plays this tick (already checked).
    fn set_input(&mut self, key: usize, input: &InputSlots);
    /// The player at `key` has no controls (dropped, waiting to resume).
    fn clear_input(&mut self, key: usize);
    /// A message from the player at `key`, in arrival order.
    fn message(&mut self, key: usize, ty: u16, fields: &Fields);
    /// One step of `dt` seconds at `tick`.
    fn step(&mut self, tick: Tick, dt: f32);
    /// Writes the world's entities and room state for a frame.
    fn write_tables(&self, entities: &mut Table, state: &mut Table);
    /// Takes the messages the game sent since the last call.
    fn take_outbox(&mut self, out: &mut Vec<Outgoing>);
}

/// Makes a room's game.
type NewHost = dyn Fn(f32) -> Box<dyn GameHost> + Send + Sync;
/// Decodes and checks one input's fields (range, then the game's rule).
type CheckInput = dyn Fn(&Layouts, &[u8]) -> Result<InputSlots, Cow<'static, str>> + Send + Sync;

/// A game, ready for the server: its schema and its rooms' factory.
pub struct GameSpec {
    schema: Schema,
    layouts: Arc<Layouts>,
    hash: u64,
    /// `ServerMsg::Schema`, encoded once for every client.
    schema_msg: Arc<[u8]>,
    check_input: Box<CheckInput>,
    new_host: Box<NewHost>,
    /// The game's web page, served at `GET /`.
    page: Option<&'static str>,
}

impl std::fmt::Debug for GameSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameSpec")
            .field("game", &self.schema.game)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl GameSpec {
    /// The spec of game `G`, each room's game made by `make`. Fails if the
    /// game's types describe a schema the protocol cannot carry.
    pub fn new<G: Game>(make: impl Fn() -> G + Send + Sync + 'static) -> Result<Self, SchemaError> {
        let schema = schema_of::<G>();
        let layouts = Arc::new(schema.compile()?);
        let mut schema_msg = Vec::new();
        codec::encode_server(&ServerMsg::Schema(schema.clone()), &mut schema_msg)
            .expect("a schema always encodes");
        let for_rooms = layouts.clone();
        Ok(GameSpec {
            hash: schema.hash(),
            schema_msg: schema_msg.into(),
            check_input: Box::new(|layouts, bytes| {
                let slots =
                    decode_input(layouts, bytes).map_err(|e| input_error(&schema_of::<G>(), e))?;
                let input = G::Input::read(&mut SlotReader::new(slots.as_slice(), &[]));
                G::validate_input(&input)?;
                Ok(slots)
            }),
            new_host: Box::new(move |size| {
                let rng = SmallRng::from_rng(&mut rand::rng());
                Box::new(Simulation::with_layouts(
                    make(),
                    size,
                    for_rooms.clone(),
                    rng,
                ))
            }),
            schema,
            layouts,
            page: None,
        })
    }

    /// The built-in arena, with its demo page.
    pub fn arena() -> Self {
        GameSpec::new(|| crate::game::arena::Arena)
            .expect("the arena's schema is valid")
            .with_page(crate::game::arena::PAGE)
    }

    /// Serves `html` at `GET /` on the game port (unless `--no-demo`): a
    /// self-contained page that plays the game from a browser, like the
    /// TypeScript SDK's demo pages (`clients/ts/dist/demo/`).
    #[must_use]
    pub fn with_page(mut self, html: &'static str) -> Self {
        self.page = Some(html);
        self
    }

    /// The game's web page, if it has one.
    pub fn page(&self) -> Option<&'static str> {
        self.page
    }

    /// The game's schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Its compiled layouts.
    pub fn layouts(&self) -> &Arc<Layouts> {
        &self.layouts
    }

    /// [`Schema::hash`].
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The encoded `ServerMsg::Schema`.
    pub(crate) fn schema_msg(&self) -> &Arc<[u8]> {
        &self.schema_msg
    }

    /// Decodes an input's fields and checks them: each against its range,
    /// then against the game's own rule.
    pub(crate) fn check_input(&self, bytes: &[u8]) -> Result<InputSlots, Cow<'static, str>> {
        (self.check_input)(&self.layouts, bytes)
    }

    /// A new room's game, in a world of side `size`.
    pub(crate) fn new_host(&self, size: f32) -> Box<dyn GameHost> {
        (self.new_host)(size)
    }
}

/// The schema game `G`'s types describe.
pub fn schema_of<G: Game>() -> Schema {
    Schema {
        game: G::NAME.to_owned(),
        kinds: G::Entity::kinds(),
        state: G::State::fields(),
        input: G::Input::fields(),
        client_messages: G::ClientMessage::types(),
        server_messages: G::ServerMessage::types(),
    }
}

/// The close reason for an input that did not decode: it names the field
/// (rare, so the schema is described again rather than kept).
fn input_error(schema: &Schema, e: DecodeError) -> Cow<'static, str> {
    match e {
        DecodeError::OutOfRange { field } => {
            let name = schema
                .input
                .get(usize::from(field))
                .map_or("?", |f| &f.name);
            format!("input field {name} out of range").into()
        }
        other => other.to_string().into(),
    }
}

/// Reads an input's fields (numbers only) into inline slots, each checked
/// against its range.
fn decode_input(layouts: &Layouts, bytes: &[u8]) -> Result<InputSlots, DecodeError> {
    let mut slots = InputSlots::default();
    slots.len = codec::decode_numbers(&layouts.input, bytes, &mut slots.values)? as u8;
    Ok(slots)
}

/// A game and its world, without a room: what each room drives through
/// [`GameHost`], and what benches and tests step directly.
#[derive(Debug)]
pub struct Simulation<G: Game> {
    /// The game's own state.
    pub game: G,
    /// The world its hooks see.
    pub world: World<G>,
}

impl<G: Game> Simulation<G> {
    /// `game` in an empty world of side `size`, with seeded randomness.
    pub fn new(game: G, size: f32, seed: u64) -> Result<Self, SchemaError> {
        let layouts = Arc::new(schema_of::<G>().compile()?);
        Ok(Self::with_layouts(
            game,
            size,
            layouts,
            SmallRng::seed_from_u64(seed),
        ))
    }

    fn with_layouts(game: G, size: f32, layouts: Arc<Layouts>, rng: SmallRng) -> Self {
        Simulation {
            game,
            world: World::new(size, layouts, rng),
        }
    }

    /// The layouts its tables are written with.
    pub fn layouts(&self) -> &Arc<Layouts> {
        self.world.layouts()
    }

    /// The typed input of the player at `key`.
    pub fn input(&mut self, key: usize, input: G::Input) {
        self.world.set_input(key, input);
    }
}

impl<G: Game> GameHost for Simulation<G> {
    fn join(&mut self, key: usize, player: PlayerId, name: &str) -> EntityId {
        self.world.add_player(key, player);
        let entity = self.game.join(&mut self.world, player, name);
        self.world.bind_player(key, entity);
        entity
    }

    fn leave(&mut self, key: usize) {
        if let Some(player) = self.world.player_id(key) {
            self.game.leave(&mut self.world, player);
        }
        self.world.remove_player(key);
    }

    fn set_input(&mut self, key: usize, input: &InputSlots) {
        let input = G::Input::read(&mut SlotReader::new(input.as_slice(), &[]));
        self.world.set_input(key, input);
    }

    fn clear_input(&mut self, key: usize) {
        self.world.set_input(key, G::Input::default());
    }

    fn message(&mut self, key: usize, ty: u16, fields: &Fields) {
        let Some(player) = self.world.player_id(key) else {
            return;
        };
        if let Some(msg) = G::ClientMessage::read(ty, &mut fields.reader()) {
            self.game.message(&mut self.world, player, msg);
        }
    }

    fn step(&mut self, tick: Tick, dt: f32) {
        self.world.set_tick(tick);
        self.game.step(&mut self.world, dt);
    }

    fn write_tables(&self, entities: &mut Table, state: &mut Table) {
        self.world.write_tables_with(entities, state);
    }

    fn take_outbox(&mut self, out: &mut Vec<Outgoing>) {
        out.append(&mut self.world.outbox);
    }
}
