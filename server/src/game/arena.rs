//! The built-in game: players walking in a square arena (the reference
//! workload), written on the game API like any other game.

use super::{Game, World};
use rand::Rng;
use snapwire_shared::arena::{self, InputCmd, Walker};
use snapwire_shared::{EntityId, NoMessages, NoState, PlayerId};

/// Players walk at [`arena::MOVE_SPEED`], spawning uniformly at random.
#[derive(Debug, Default, Clone, Copy)]
pub struct Arena;

impl Game for Arena {
    type Entity = Walker;
    type State = NoState;
    type Input = InputCmd;
    type ClientMessage = NoMessages;
    type ServerMessage = NoMessages;
    const NAME: &'static str = "arena";

    fn join(&mut self, world: &mut World<Self>, player: PlayerId, _name: &str) -> EntityId {
        let size = world.size();
        let pos = glam::Vec2::new(
            world.rng().random_range(0.0..=size),
            world.rng().random_range(0.0..=size),
        );
        world.spawn_owned(
            player,
            Walker {
                pos,
                ..Walker::default()
            },
        )
    }

    fn step(&mut self, world: &mut World<Self>, dt: f32) {
        let size = world.size();
        for e in world.entities_mut() {
            let input = e.input.copied().unwrap_or_default();
            arena::step(e.value, &input, dt, size);
        }
    }
}
