//! Tag, the README's "Your own game": `cargo run -p snapwire-server --example tag`.
use glam::Vec2;
use snapwire_server::game::{Game, GameSpec, World};
use snapwire_shared::{EntityId, Messages, PlayerId, Replicate};

/// The one entity kind: a runner, and whether they are "it".
#[derive(Replicate, Clone, Default)]
struct Runner {
    #[snap(position, scale = 16, min = 0, max = 4096)]
    pos: Vec2,
    it: bool,
}

/// One tick of controls: a direction, in 1/100 steps.
#[derive(Replicate, Clone, Copy, Default)]
struct Move {
    #[snap(scale = 100, min = -1, max = 1)]
    x: f32,
    #[snap(scale = 100, min = -1, max = 1)]
    y: f32,
}

/// The room state every client sees.
#[derive(Replicate, Default)]
struct Score {
    tags: u32,
}

/// Messages, both ways.
#[derive(Messages)]
enum Shout {
    Taunt {
        #[snap(max_len = 40)]
        text: String,
    },
}

struct Tag;

impl Game for Tag {
    type Entity = Runner;
    type State = Score;
    type Input = Move;
    type ClientMessage = Shout;
    type ServerMessage = Shout;
    const NAME: &'static str = "tag";

    fn join(&mut self, world: &mut World<Self>, player: PlayerId, _name: &str) -> EntityId {
        let it = world.is_empty(); // the first one in is "it"
        let pos = Vec2::splat(world.size() / 2.0);
        world.spawn_owned(player, Runner { pos, it })
    }

    fn message(&mut self, world: &mut World<Self>, _from: PlayerId, taunt: Shout) {
        world.broadcast(&taunt);
    }

    fn step(&mut self, world: &mut World<Self>, dt: f32) {
        let size = Vec2::splat(world.size());
        for e in world.entities_mut() {
            let m = e.input.copied().unwrap_or_default();
            e.value.pos = (e.value.pos + Vec2::new(m.x, m.y) * 120.0 * dt).clamp(Vec2::ZERO, size);
        }
        let Some((it, at)) = world
            .entities()
            .find(|e| e.value.it)
            .map(|e| (e.id, e.value.pos))
        else {
            return;
        };
        let caught = world
            .entities()
            .find(|e| e.id != it && e.value.pos.distance(at) < 10.0);
        if let Some(caught) = caught.map(|e| e.id) {
            world.get_mut(it).expect("it exists").it = false;
            world.get_mut(caught).expect("caught exists").it = true;
            world.state.tags += 1;
        }
    }
}

fn main() -> anyhow::Result<()> {
    snapwire_server::cli::main(GameSpec::new(|| Tag)?)
}
