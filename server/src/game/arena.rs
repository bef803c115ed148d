//! The built-in game: players walking in a square arena (the reference
//! workload), written on the game API like any other game.

use super::{Game, World};
use snapwire_shared::arena::{self, InputCmd, Walker};
use snapwire_shared::{EntityId, NoMessages, NoState, PlayerId};

/// Players walk at [`arena::MOVE_SPEED`], spawning uniformly at random.
#[derive(Debug, Default, Clone, Copy)]
pub struct Arena;

/// The arena's demo page: the TypeScript SDK's build of
/// `clients/ts/demo/arena.ts`, served at `GET /` (see [`super::GameSpec::arena`]).
pub const PAGE: &str = include_str!("../../../clients/ts/dist/demo/arena.html");

impl Game for Arena {
    type Entity = Walker;
    type State = NoState;
    type Input = InputCmd;
    type ClientMessage = NoMessages;
    type ServerMessage = NoMessages;
    const NAME: &'static str = "arena";

    fn join(&mut self, world: &mut World<Self>, player: PlayerId, _name: &str) -> EntityId {
        let pos = world.random_point();
        world.spawn_owned(
            player,
            Walker {
                pos,
                ..Walker::default()
            },
        )
    }

    fn step(&mut self, world: &mut World<Self>, dt: f32) {
        walk(world, dt);
    }
}

/// The arena's rule for any game of walkers: each walks by its owner's
/// input of this tick (test games that record or script the arena use it).
pub fn walk<G: Game<Entity = Walker, Input = InputCmd>>(world: &mut World<G>, dt: f32) {
    let size = world.size();
    for e in world.entities_mut() {
        let input = e.input.copied().unwrap_or_default();
        arena::step(e.value, &input, dt, size);
    }
}
