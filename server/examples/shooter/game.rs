//! A small team shooter on the game API: soldiers with health and a team,
//! bolts fired with a button that hit and despawn, a score per team and a
//! round timer as room state, and chat. The example's `main.rs` runs it;
//! `server/tests/shooter.rs` plays it.

use glam::Vec2;
use snapwire_server::game::{Game, World};
use snapwire_shared::{Entities, EntityId, Messages, NetEnum, PlayerId, Replicate};
use std::borrow::Cow;
use std::sync::Arc;

/// Soldiers' speed, world units per second.
pub const SPEED: f32 = 150.0;
/// Bolts' speed, world units per second.
pub const BOLT_SPEED: f32 = 600.0;
/// Ticks between two shots of one soldier.
pub const COOLDOWN: u8 = 10;
/// Ticks a bolt flies before it fizzles.
pub const BOLT_TICKS: u16 = 45;
/// Distance at which a bolt hits a soldier, world units.
pub const HIT_RADIUS: f32 = 16.0;
/// Health a bolt takes.
pub const DAMAGE: u8 = 25;
/// Length of a round, seconds.
pub const ROUND_SECONDS: f32 = 120.0;

/// A side.
#[derive(NetEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Team {
    #[default]
    Red,
    Blue,
}

/// A player's soldier.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
pub struct Soldier {
    #[snap(position, scale = 16, min = 0, max = 65536)]
    pub pos: Vec2,
    #[snap(angle)]
    pub aim: f32,
    pub health: u8,
    pub team: Team,
    #[snap(max_len = 16)]
    pub name: Arc<str>,
    /// Ticks until the next shot (the server's business only).
    #[snap(skip)]
    pub cooldown: u8,
}

/// A projectile, spawned by the rules when a soldier fires.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
pub struct Bolt {
    #[snap(position, scale = 16, min = 0, max = 65536)]
    pub pos: Vec2,
    #[snap(scale = 8, min = -4096, max = 4095)]
    pub vel: Vec2,
    /// The soldier who fired it.
    pub shooter: Option<EntityId>,
    #[snap(skip)]
    pub ticks_left: u16,
    #[snap(skip)]
    pub team: Team,
}

/// Every kind of entity in the game.
#[derive(Entities, Clone, Debug, PartialEq)]
pub enum Thing {
    Soldier(Soldier),
    Bolt(Bolt),
}

/// Where a round is.
#[derive(NetEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a first player.
    #[default]
    Waiting,
    /// The clock runs.
    Playing,
}

/// The room state every client sees.
#[derive(Replicate, Clone, Debug, Default, PartialEq)]
pub struct Match {
    pub red: u16,
    pub blue: u16,
    pub phase: Phase,
    /// Seconds left in the round, to a tenth.
    #[snap(scale = 10, min = 0, max = 3600)]
    pub time_left: f32,
    /// Rounds played so far.
    pub round: u16,
}

/// One tick of a player's controls.
#[derive(Replicate, Clone, Copy, Debug, Default, PartialEq)]
pub struct Controls {
    #[snap(scale = 1024, min = -1, max = 1)]
    pub move_x: f32,
    #[snap(scale = 1024, min = -1, max = 1)]
    pub move_y: f32,
    #[snap(angle)]
    pub aim: f32,
    pub fire: bool,
}

/// What a client may say to the game.
#[derive(Messages, Clone, Debug, PartialEq)]
pub enum Say {
    /// A line of chat for the room.
    Chat {
        #[snap(max_len = 120)]
        text: String,
    },
}

/// What the game tells clients.
#[derive(Messages, Clone, Debug, PartialEq)]
pub enum Told {
    /// A line of chat, to everyone.
    Chat {
        from: PlayerId,
        #[snap(max_len = 120)]
        text: String,
    },
    /// A bolt hit a soldier: to the players who can see the soldier.
    Hit { victim: EntityId, health: u8 },
    /// The clock ran out: to everyone, with the final score.
    RoundOver { red: u16, blue: u16 },
}

/// The game. `spawns` are used first (tests place soldiers), then random
/// points.
#[derive(Debug, Default)]
pub struct Shooter {
    pub spawns: Vec<Vec2>,
    joined: u32,
}

impl Shooter {
    /// A shooter whose first soldiers spawn at `spawns`, in order.
    pub fn with_spawns(spawns: Vec<Vec2>) -> Self {
        Shooter { spawns, joined: 0 }
    }

    fn spawn_point(&mut self, world: &mut World<Self>) -> Vec2 {
        if !self.spawns.is_empty() {
            return self.spawns.remove(0);
        }
        world.random_point()
    }
}

impl Game for Shooter {
    type Entity = Thing;
    type State = Match;
    type Input = Controls;
    type ClientMessage = Say;
    type ServerMessage = Told;
    const NAME: &'static str = "shooter";

    fn join(&mut self, world: &mut World<Self>, player: PlayerId, name: &str) -> EntityId {
        let team = if self.joined.is_multiple_of(2) {
            Team::Red
        } else {
            Team::Blue
        };
        self.joined += 1;
        let pos = self.spawn_point(world);
        world.spawn_owned(
            player,
            Soldier {
                pos,
                health: 100,
                team,
                name: name.into(),
                ..Soldier::default()
            },
        )
    }

    /// Each field is already within its declared range; the game's own
    /// rule: no running faster diagonally (a move vector longer than 1,
    /// with room for the 1/1024 rounding of a unit vector).
    fn validate_input(input: &Controls) -> Result<(), Cow<'static, str>> {
        if Vec2::new(input.move_x, input.move_y).length() > 1.01 {
            return Err("move vector longer than 1".into());
        }
        Ok(())
    }

    fn message(&mut self, world: &mut World<Self>, from: PlayerId, msg: Say) {
        let Say::Chat { text } = msg;
        let text = text.trim();
        if !text.is_empty() {
            world.broadcast(&Told::Chat {
                from,
                text: text.to_owned(),
            });
        }
    }

    fn step(&mut self, world: &mut World<Self>, dt: f32) {
        self.clock(world, dt);
        let size = world.size();
        // Soldiers move and fire; bolts fly.
        let mut fired = Vec::new();
        let mut spent = Vec::new();
        for e in world.entities_mut() {
            match e.value {
                Thing::Soldier(s) => {
                    let input = e.input.copied().unwrap_or_default();
                    let dir = Vec2::new(input.move_x, input.move_y);
                    s.pos = (s.pos + dir * SPEED * dt).clamp(Vec2::ZERO, Vec2::splat(size));
                    s.aim = input.aim;
                    s.cooldown = s.cooldown.saturating_sub(1);
                    if input.fire && s.cooldown == 0 {
                        s.cooldown = COOLDOWN;
                        let aim = Vec2::from_angle(input.aim);
                        fired.push(Bolt {
                            pos: s.pos + aim * (HIT_RADIUS + 1.0),
                            vel: aim * BOLT_SPEED,
                            shooter: Some(e.id),
                            ticks_left: BOLT_TICKS,
                            team: s.team,
                        });
                    }
                }
                Thing::Bolt(b) => {
                    b.pos += b.vel * dt;
                    b.ticks_left = b.ticks_left.saturating_sub(1);
                    let inside =
                        b.pos.cmpge(Vec2::ZERO).all() && b.pos.cmple(Vec2::splat(size)).all();
                    if b.ticks_left == 0 || !inside {
                        spent.push(e.id);
                    }
                }
            }
        }
        for id in spent {
            world.despawn(id);
        }
        for bolt in fired {
            world.spawn(bolt);
        }
        self.hits(world);
    }
}

impl Shooter {
    /// The round clock: starts with the first player, ends a round with
    /// its score.
    fn clock(&mut self, world: &mut World<Self>, dt: f32) {
        let anyone = world.players().next().is_some();
        let m = &mut world.state;
        match m.phase {
            Phase::Waiting if anyone => {
                m.phase = Phase::Playing;
                m.time_left = ROUND_SECONDS;
                m.round += 1;
            }
            Phase::Waiting => {}
            Phase::Playing => {
                m.time_left = (m.time_left - dt).max(0.0);
                if m.time_left == 0.0 {
                    let over = Told::RoundOver {
                        red: m.red,
                        blue: m.blue,
                    };
                    (m.red, m.blue) = (0, 0);
                    m.phase = Phase::Waiting;
                    world.broadcast(&over);
                }
            }
        }
    }

    /// Bolts that reach a soldier of the other team hurt them and go; a
    /// soldier at zero scores for the other team and comes back elsewhere.
    fn hits(&mut self, world: &mut World<Self>) {
        let soldiers: Vec<(EntityId, Vec2, Team)> = world
            .entities()
            .filter_map(|e| match e.value {
                Thing::Soldier(s) => Some((e.id, s.pos, s.team)),
                Thing::Bolt(_) => None,
            })
            .collect();
        let bolts: Vec<(EntityId, Vec2, Team)> = world
            .entities()
            .filter_map(|e| match e.value {
                Thing::Bolt(b) => Some((e.id, b.pos, b.team)),
                Thing::Soldier(_) => None,
            })
            .collect();
        for (bolt, at, team) in bolts {
            let Some(&(victim, ..)) = soldiers
                .iter()
                .find(|(_, pos, t)| *t != team && pos.distance(at) <= HIT_RADIUS)
            else {
                continue;
            };
            world.despawn(bolt);
            let respawn = self.spawn_point(world);
            let Some(Thing::Soldier(s)) = world.get_mut(victim) else {
                continue;
            };
            s.health = s.health.saturating_sub(DAMAGE);
            let health = s.health;
            if health == 0 {
                s.health = 100;
                s.pos = respawn;
                match team {
                    Team::Red => world.state.red += 1,
                    Team::Blue => world.state.blue += 1,
                }
            }
            world.send_to_viewers(victim, &Told::Hit { victim, health });
        }
    }
}
