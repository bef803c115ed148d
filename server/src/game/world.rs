//! A room's world as the game sees it: entities, room state, players'
//! inputs, and the messages the game sends.

use super::Game;
use super::host::{Audience, Outgoing};
use rand::rngs::SmallRng;
use slab::Slab;
use snapwire_shared::codec;
use snapwire_shared::field::SlotWriter;
use snapwire_shared::schema::Layouts;
use snapwire_shared::table::Table;
use snapwire_shared::{EntityId, EntitySet, PlayerId, Replicate, Tick};
use std::sync::Arc;

/// One entity in the world.
#[derive(Debug)]
struct Slot<E> {
    id: EntityId,
    owner: Option<PlayerId>,
    /// The owner's key in `players`, for its input.
    owner_key: Option<usize>,
    value: E,
}

/// A player, as the world knows them.
#[derive(Debug)]
pub(crate) struct PlayerSlot<I> {
    pub(crate) id: PlayerId,
    pub(crate) entity: EntityId,
    pub(crate) input: I,
}

/// A mutable entity with its owner's current input.
#[derive(Debug)]
pub struct EntityMut<'a, G: Game> {
    /// Its id.
    pub id: EntityId,
    /// The player who owns it.
    pub owner: Option<PlayerId>,
    /// Its state.
    pub value: &'a mut G::Entity,
    /// The owner's input of this tick (the last one received; default
    /// while the owner is away).
    pub input: Option<&'a G::Input>,
}

/// An entity, read only.
#[derive(Debug)]
pub struct EntityRef<'a, G: Game> {
    /// Its id.
    pub id: EntityId,
    /// The player who owns it.
    pub owner: Option<PlayerId>,
    /// Its state.
    pub value: &'a G::Entity,
}

/// Everything a game's hooks may touch in their room.
pub struct World<G: Game> {
    entities: Slab<Slot<G::Entity>>,
    /// Slab keys by ascending id: ids only grow, so a spawn appends, and
    /// snapshots get id order without sorting.
    order: Vec<usize>,
    next_id: u32,
    /// The room state, replicated to every client of the room.
    pub state: G::State,
    /// By the room's player key (the room's slab reuses keys, so this
    /// stays as long as the room's most players at once).
    players: Vec<Option<PlayerSlot<G::Input>>>,
    /// Keys in `players` by player id.
    player_keys: std::collections::HashMap<PlayerId, usize>,
    pub(crate) outbox: Vec<Outgoing>,
    layouts: Arc<Layouts>,
    rng: SmallRng,
    size: f32,
    tick: Tick,
}

impl<G: Game> std::fmt::Debug for World<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("entities", &self.entities.len())
            .field("players", &self.players().count())
            .field("size", &self.size)
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

impl<G: Game> World<G> {
    pub(crate) fn new(size: f32, layouts: Arc<Layouts>, rng: SmallRng) -> Self {
        World {
            entities: Slab::new(),
            order: Vec::new(),
            next_id: 1,
            state: G::State::default(),
            players: Vec::new(),
            player_keys: std::collections::HashMap::new(),
            outbox: Vec::new(),
            layouts,
            rng,
            size,
            tick: Tick::NONE,
        }
    }

    /// The layouts the world's tables are written with.
    pub(crate) fn layouts(&self) -> &Arc<Layouts> {
        &self.layouts
    }

    /// Side of the square world, world units (`--world-size`).
    pub fn size(&self) -> f32 {
        self.size
    }

    /// The tick being simulated.
    pub fn tick(&self) -> Tick {
        self.tick
    }

    pub(crate) fn set_tick(&mut self, tick: Tick) {
        self.tick = tick;
    }

    /// The room's random numbers.
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// A uniformly random point of the square world.
    pub fn random_point(&mut self) -> glam::Vec2 {
        use rand::Rng;
        let size = self.size;
        glam::Vec2::new(
            self.rng.random_range(0.0..=size),
            self.rng.random_range(0.0..=size),
        )
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether the world holds no entity.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Adds an entity nobody owns; it is replicated from the next snapshot.
    pub fn spawn(&mut self, value: impl Into<G::Entity>) -> EntityId {
        self.insert(None, value.into())
    }

    /// Adds an entity owned by `player`: it carries the player's input and
    /// goes when the player leaves (unless [`Game::leave`] says otherwise).
    pub fn spawn_owned(&mut self, player: PlayerId, value: impl Into<G::Entity>) -> EntityId {
        self.insert(Some(player), value.into())
    }

    fn insert(&mut self, owner: Option<PlayerId>, value: G::Entity) -> EntityId {
        let id = EntityId(self.next_id);
        // 2^32 spawns in one room would wrap; at 1,000 spawns a second that
        // is 50 days of one room. Skip 0 if it ever happens.
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let owner_key = owner.and_then(|p| self.key_of_player(p));
        let key = self.entities.insert(Slot {
            id,
            owner,
            owner_key,
            value,
        });
        self.order.push(key);
        id
    }

    fn key_of(&self, id: EntityId) -> Option<usize> {
        let entities = &self.entities;
        self.order
            .binary_search_by_key(&id, |&k| entities[k].id)
            .ok()
            .map(|i| self.order[i])
    }

    /// Removes an entity; returns it if it existed.
    pub fn despawn(&mut self, id: EntityId) -> Option<G::Entity> {
        let entities = &self.entities;
        let i = self
            .order
            .binary_search_by_key(&id, |&k| entities[k].id)
            .ok()?;
        let key = self.order.remove(i);
        Some(self.entities.remove(key).value)
    }

    /// Removes every entity `player` owns.
    pub fn despawn_owned(&mut self, player: PlayerId) {
        let owned: Vec<EntityId> = self
            .entities
            .iter()
            .filter(|(_, s)| s.owner == Some(player))
            .map(|(_, s)| s.id)
            .collect();
        for id in owned {
            self.despawn(id);
        }
    }

    /// One entity.
    pub fn get(&self, id: EntityId) -> Option<&G::Entity> {
        self.key_of(id).map(|k| &self.entities[k].value)
    }

    /// One entity, mutably.
    pub fn get_mut(&mut self, id: EntityId) -> Option<&mut G::Entity> {
        self.key_of(id).map(|k| &mut self.entities[k].value)
    }

    /// Who owns an entity.
    pub fn owner(&self, id: EntityId) -> Option<PlayerId> {
        self.key_of(id).and_then(|k| self.entities[k].owner)
    }

    /// Every entity, in no particular order.
    pub fn entities(&self) -> impl Iterator<Item = EntityRef<'_, G>> {
        self.entities.iter().map(|(_, s)| EntityRef {
            id: s.id,
            owner: s.owner,
            value: &s.value,
        })
    }

    /// Every entity, mutably, with its owner's input, in no particular order.
    pub fn entities_mut(&mut self) -> impl Iterator<Item = EntityMut<'_, G>> {
        let players = &self.players;
        self.entities.iter_mut().map(move |(_, s)| EntityMut {
            id: s.id,
            owner: s.owner,
            input: s
                .owner_key
                .and_then(|k| players.get(k))
                .and_then(Option::as_ref)
                .map(|p| &p.input),
            value: &mut s.value,
        })
    }

    /// The players in the room: id, the entity they joined with, and their
    /// input of this tick.
    pub fn players(&self) -> impl Iterator<Item = (PlayerId, EntityId, &G::Input)> {
        self.players
            .iter()
            .flatten()
            .map(|p| (p.id, p.entity, &p.input))
    }

    fn key_of_player(&self, player: PlayerId) -> Option<usize> {
        self.player_keys.get(&player).copied()
    }

    /// A player's input of this tick.
    pub fn input(&self, player: PlayerId) -> Option<&G::Input> {
        let key = self.key_of_player(player)?;
        self.players[key].as_ref().map(|p| &p.input)
    }

    /// Sends `msg` to one player, with their next snapshot.
    pub fn send(&mut self, player: PlayerId, msg: &G::ServerMessage) {
        self.queue(Audience::Player(player), msg, false);
    }

    /// Sends `msg` to every player of the room, with their next snapshot.
    pub fn broadcast(&mut self, msg: &G::ServerMessage) {
        self.queue(Audience::All, msg, false);
    }

    /// Sends `msg` to the players whose next snapshot shows `entity`.
    pub fn send_to_viewers(&mut self, entity: EntityId, msg: &G::ServerMessage) {
        self.queue(Audience::Viewers(entity), msg, false);
    }

    /// Sends `msg` to one player at once, as a message of its own, rather
    /// than with the next snapshot.
    pub fn send_now(&mut self, player: PlayerId, msg: &G::ServerMessage) {
        self.queue(Audience::Player(player), msg, true);
    }

    fn queue(&mut self, to: Audience, msg: &G::ServerMessage, immediate: bool) {
        let bytes = codec::encode_message(&self.layouts.server_messages, msg).0;
        self.outbox.push(Outgoing {
            to,
            bytes: bytes.into(),
            immediate,
        });
    }

    // The room's side.

    /// A player arrives at the room's key `key`; the game spawns their
    /// entity next.
    pub(crate) fn add_player(&mut self, key: usize, id: PlayerId) {
        if self.players.len() <= key {
            self.players.resize_with(key + 1, || None);
        }
        self.player_keys.insert(id, key);
        self.players[key] = Some(PlayerSlot {
            id,
            entity: EntityId(0),
            input: G::Input::default(),
        });
    }

    /// The player's entities now carry their input.
    pub(crate) fn bind_player(&mut self, key: usize, entity: EntityId) {
        let Some(Some(p)) = self.players.get_mut(key) else {
            return;
        };
        p.entity = entity;
        let id = p.id;
        // Entities the game spawned with `spawn_owned` found the player's
        // key then; the one it returned is owned by the player whatever.
        if let Some(k) = self.key_of(entity) {
            let s = &mut self.entities[k];
            if s.owner.is_none() {
                s.owner = Some(id);
                s.owner_key = Some(key);
            }
        }
    }

    pub(crate) fn remove_player(&mut self, key: usize) {
        if let Some(p) = self.players.get_mut(key).and_then(Option::take) {
            let id = p.id;
            self.player_keys.remove(&id);
            for (_, s) in self.entities.iter_mut() {
                if s.owner == Some(id) {
                    s.owner_key = None;
                }
            }
        }
    }

    pub(crate) fn player_id(&self, key: usize) -> Option<PlayerId> {
        self.players.get(key)?.as_ref().map(|p| p.id)
    }

    pub(crate) fn set_input(&mut self, key: usize, input: G::Input) {
        if let Some(Some(p)) = self.players.get_mut(key) {
            p.input = input;
        }
    }

    /// Writes every entity, by ascending id, and the room state: what a
    /// frame is made of.
    pub fn write_tables_with(&self, entities: &mut Table, state: &mut Table) {
        let layouts = &*self.layouts;
        entities.clear();
        entities.rows.reserve(self.order.len());
        let widest = layouts
            .kinds
            .iter()
            .map(|k| k.layout.len())
            .max()
            .unwrap_or(0);
        entities.values.reserve(self.order.len() * widest);
        for &k in &self.order {
            let s = &self.entities[k];
            let kind = s.value.kind_index();
            let layout = &layouts.kinds[usize::from(kind)];
            let owner = s.owner.map_or(0, |p| p.0);
            entities.push_with(s.id, kind, owner, layout, |w| s.value.write_kind(w));
        }
        state.clear();
        self.state
            .write(&mut SlotWriter::new(&mut state.values, &mut state.strings));
    }
}
