//! The simulation: entities, the game rules that move them, and the spatial
//! grid. Nothing here does I/O, so all of it is unit-tested and benched
//! without sockets.

pub mod grid;
pub mod world;

pub use grid::Grid;
pub use world::{Entity, EntityKey, World};

use rand::rngs::SmallRng;
use snapwire_shared::{Body, arena};

/// The seam between the room machinery and a game.
///
/// The room owns connections, input queues, ticks and snapshots; a
/// `GameRules` owns what happens in the world. Each tick the room writes
/// every player's current input into their entity ([`Entity::input`]) and
/// then calls [`GameRules::step`]. Whatever the rules leave in the bodies is
/// what clients see.
///
/// Rules that clients must predict should live in `snapwire-shared`, like
/// [`arena::step`], so that both sides run the same code.
pub trait GameRules: Send + 'static {
    /// The body a joining player's entity starts with.
    fn spawn(&mut self, world_size: f32, rng: &mut SmallRng) -> Body;

    /// Advances the whole world by `dt` seconds.
    fn step(&mut self, world: &mut World, dt: f32);
}

/// The built-in game of the reference workload: players walk in a square
/// arena at [`arena::MOVE_SPEED`], spawning uniformly at random.
#[derive(Debug, Default, Clone, Copy)]
pub struct Arena;

impl GameRules for Arena {
    fn spawn(&mut self, world_size: f32, rng: &mut SmallRng) -> Body {
        use rand::Rng;
        Body {
            pos: glam::Vec2::new(
                rng.random_range(0.0..=world_size),
                rng.random_range(0.0..=world_size),
            ),
            ..Body::default()
        }
    }

    fn step(&mut self, world: &mut World, dt: f32) {
        let size = world.size();
        for e in world.entities_mut() {
            arena::step(&mut e.body, &e.input, dt, size);
        }
    }
}
