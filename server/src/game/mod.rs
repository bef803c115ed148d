//! The game API: what a game built on snapwire declares and implements.
//!
//! A game is a type implementing [`Game`]: its entity kinds, room state,
//! input and messages (Rust types with the derives of `snapwire-shared`),
//! and the hooks the room calls inside its tick: a player joins, leaves,
//! sends a message; the world steps. The room machinery (connections,
//! input queues and acks, rate limits, ticks, views, deltas, delivery)
//! knows no game; [`GameSpec`] is the one place a game's types meet it.
//!
//! ```ignore
//! struct Tag;
//! impl Game for Tag {
//!     type Entity = Runner;          // #[derive(Replicate)]
//!     type State = Score;            // #[derive(Replicate)]
//!     type Input = Move;             // #[derive(Replicate)]
//!     type ClientMessage = NoMessages;
//!     type ServerMessage = NoMessages;
//!     const NAME: &'static str = "tag";
//!     fn join(&mut self, world: &mut World<Self>, player: PlayerId, _: &str) -> EntityId {
//!         world.spawn_owned(player, Runner::default())
//!     }
//!     fn step(&mut self, world: &mut World<Self>, dt: f32) {
//!         for e in world.entities_mut() { /* move e.value by e.input */ }
//!     }
//! }
//! ```

pub mod arena;
mod host;
mod world;

pub use host::{Audience, GameHost, GameSpec, InputSlots, Outgoing, Simulation, schema_of};
pub use world::{EntityMut, EntityRef, World};

use snapwire_shared::{EntityId, EntitySet, MessageSet, PlayerId, Replicate};
use std::borrow::Cow;

/// A game: its replicated types and the rules that change them.
///
/// Every hook runs inside the room's tick, on the room's task, with the
/// room's [`World`]: no I/O, no locks. A panic in a hook stops that room
/// (its players are closed with 1011), never the server.
pub trait Game: Send + 'static {
    /// Every entity kind: a `#[derive(Replicate)]` struct, or an enum of
    /// them (`#[derive(Entities)]`).
    type Entity: EntitySet + Send + 'static;
    /// The room state, seen by every client of the room
    /// (`#[derive(Replicate)]`, or [`snapwire_shared::NoState`]).
    type State: Replicate + Default + Send + 'static;
    /// One tick of a player's controls (`#[derive(Replicate)]`; numbers
    /// only, at most 16 fields).
    type Input: Replicate + Copy + Default + Send + 'static;
    /// Messages clients send (`#[derive(Messages)]`, or
    /// [`snapwire_shared::NoMessages`]).
    type ClientMessage: MessageSet + Send + 'static;
    /// Messages the game sends to clients.
    type ServerMessage: MessageSet + Send + 'static;
    /// The game's name, as the descriptor carries it.
    const NAME: &'static str;

    /// A player joined: spawn the entity they control and return its id
    /// (it is marked owned by the player, who sees it in `Welcome`).
    fn join(&mut self, world: &mut World<Self>, player: PlayerId, name: &str) -> EntityId
    where
        Self: Sized;

    /// A player left (or did not resume in time). By default their
    /// entities go with them.
    fn leave(&mut self, world: &mut World<Self>, player: PlayerId)
    where
        Self: Sized,
    {
        world.despawn_owned(player);
    }

    /// Checks an input before it is queued. An error closes the client with
    /// 1007 and the reason. Every field was already checked against its
    /// declared range; this is for the game's own rules. It runs on the
    /// connection's shard, not in the tick, so it takes no `self`.
    fn validate_input(_input: &Self::Input) -> Result<(), Cow<'static, str>> {
        Ok(())
    }

    /// A message from a player, delivered in arrival order before the
    /// tick's step.
    fn message(&mut self, _world: &mut World<Self>, _from: PlayerId, _msg: Self::ClientMessage)
    where
        Self: Sized,
    {
    }

    /// Advances the world by `dt` seconds. Each player's newest input is on
    /// their entities ([`World::entities_mut`], [`World::input`]).
    fn step(&mut self, world: &mut World<Self>, dt: f32)
    where
        Self: Sized;
}
