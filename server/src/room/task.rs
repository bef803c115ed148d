//! The room task: drains commands, steps the world, publishes frames.

use super::frame::{Frame, PlayerFrame, Recycled};
use super::manager::{Admission, RoomManager};
use super::{PlayerKey, RoomCmd, Roster};
use crate::sim::{EntityKey, GameRules, World};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use slab::Slab;
use snapwire_shared::{
    EntityId, InputCmd, PlayerId, RoomId, ServerEvent, SessionToken, Tick, Welcome, WorldInfo,
    arena,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

/// Inputs buffered per player. One is applied per tick; a few more absorb
/// network jitter. When full, the oldest is dropped so that a client that
/// sends too fast cannot build up latency beyond this many ticks.
pub const INPUT_QUEUE: usize = 4;

/// Reliable events buffered per room for slow readers; a client that falls
/// this far behind is disconnected rather than let the buffer grow.
pub const EVENT_BUFFER: usize = 1024;

/// What every room of a server is configured with.
#[derive(Clone)]
pub struct RoomSettings {
    /// Ticks per second.
    pub tick_rate: u16,
    /// Side of the square arena, world units.
    pub world_size: f32,
    /// View radius, world units; 0 = every client sees everything.
    pub view_radius: f32,
    /// Players per room.
    pub capacity: usize,
    /// How long an empty room lives before it is disposed.
    pub empty_grace: Duration,
    /// Makes the rules of each new room.
    pub rules: Arc<dyn Fn() -> Box<dyn GameRules> + Send + Sync>,
}

impl std::fmt::Debug for RoomSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomSettings")
            .field("tick_rate", &self.tick_rate)
            .field("world_size", &self.world_size)
            .field("view_radius", &self.view_radius)
            .field("capacity", &self.capacity)
            .field("empty_grace", &self.empty_grace)
            .finish_non_exhaustive()
    }
}

/// A player in the room.
#[derive(Debug)]
struct Player {
    /// Public identity.
    id: PlayerId,
    /// The entity they control.
    entity: EntityKey,
    /// Its network id, for events.
    entity_id: EntityId,
    /// Display name, for the roster sent to newcomers.
    name: String,
    /// Inputs received and not yet applied, oldest first.
    queue: VecDeque<InputCmd>,
    /// Newest seq received (None before the first); older or repeated
    /// inputs are dropped.
    last_received: Option<u32>,
    /// The seq of the input applied in the latest tick.
    acked: u32,
}

/// A room's state; owned by its task alone.
pub(crate) struct Room {
    id: RoomId,
    settings: RoomSettings,
    rules: Box<dyn GameRules>,
    world: World,
    players: Slab<Player>,
    tick: Tick,
    rng: SmallRng,
    frames: watch::Sender<Arc<Frame>>,
    events: broadcast::Sender<(Tick, ServerEvent)>,
    /// Ticks whose work took longer than the tick period.
    overruns: u64,
    /// This tick's roster, shared by its newcomers (see [`Roster`]).
    roster_cache: Option<Arc<[ServerEvent]>>,
    /// `PlayerJoined` of this tick's newcomers so far.
    joined_this_tick: Vec<ServerEvent>,
    /// Buffers of an old frame, for the next one.
    recycled: Option<(Recycled, Vec<PlayerFrame>)>,
}

impl Room {
    pub(crate) fn new(id: RoomId, settings: RoomSettings) -> Self {
        let rules = (settings.rules)();
        let empty = Arc::new(Frame::new(Tick::NONE, Vec::new(), None, Vec::new()));
        Room {
            id,
            world: World::new(settings.world_size),
            rules,
            settings,
            players: Slab::new(),
            tick: Tick::NONE,
            rng: SmallRng::from_rng(&mut rand::rng()),
            frames: watch::channel(empty).0,
            events: broadcast::channel(EVENT_BUFFER).0,
            overruns: 0,
            recycled: None,
            roster_cache: None,
            joined_this_tick: Vec::new(),
        }
    }

    /// Runs the room until it has been empty for the grace time (and the
    /// manager agrees to dispose of it) or the server shuts down.
    ///
    /// Missed ticks are skipped, not replayed: when a tick overruns, the
    /// next one starts on the next slot of the fixed schedule and the game
    /// runs slower for that moment. Replaying them in a burst would only
    /// deepen an overload (the "spiral of death"). Overruns are counted and
    /// logged, at most once a second.
    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<RoomCmd>,
        manager: Arc<RoomManager>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let period = Duration::from_secs_f64(1.0 / f64::from(self.settings.tick_rate.max(1)));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut empty_since = Some(Instant::now());
        let mut last_overrun_log: Option<Instant> = None;
        let mut logged_overruns = 0;
        info!(room = %self.id, ?period, "room started");
        loop {
            tokio::select! {
                biased;
                _ = crate::net::stopped(&mut shutdown) => break,
                _ = ticker.tick() => {}
            }
            let started = Instant::now();
            // Drain what arrived since the last tick. Commands wait for the
            // tick rather than waking the room once per input.
            while let Ok(cmd) = commands.try_recv() {
                self.handle(cmd);
            }
            self.step();
            let elapsed = started.elapsed();
            if elapsed > period {
                self.overruns += 1;
                if last_overrun_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    warn!(
                        room = %self.id,
                        tick = self.tick.0,
                        elapsed_us = elapsed.as_micros() as u64,
                        overruns = self.overruns,
                        since_last_log = self.overruns - logged_overruns,
                        "tick overran"
                    );
                    last_overrun_log = Some(Instant::now());
                    logged_overruns = self.overruns;
                }
            }
            if self.players.is_empty() {
                let since = *empty_since.get_or_insert(started);
                if since.elapsed() >= self.settings.empty_grace && manager.try_dispose(self.id) {
                    break;
                }
            } else {
                empty_since = None;
            }
        }
        info!(room = %self.id, ticks = self.tick.0, overruns = self.overruns, "room stopped");
    }

    fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join {
                player,
                name,
                reply,
            } => self.join(player, name, reply),
            RoomCmd::Input { player, cmd } => {
                if let Some(p) = self.players.get_mut(player.0) {
                    // Wrapping order: drop inputs not newer than the last one.
                    if p.last_received
                        .is_some_and(|last| cmd.seq.wrapping_sub(last) as i32 <= 0)
                    {
                        return;
                    }
                    p.last_received = Some(cmd.seq);
                    if p.queue.len() == INPUT_QUEUE {
                        p.queue.pop_front();
                    }
                    p.queue.push_back(cmd);
                }
            }
            RoomCmd::Leave { player } => {
                if let Some(p) = self.players.try_remove(player.0) {
                    self.world.despawn(p.entity);
                    self.forget_roster();
                    debug!(room = %self.id, player = %p.id, "player left");
                    let _ = self
                        .events
                        .send((self.tick.next(), ServerEvent::PlayerLeft { player: p.id }));
                }
            }
        }
    }

    fn join(
        &mut self,
        player: PlayerId,
        name: String,
        reply: tokio::sync::oneshot::Sender<Admission>,
    ) {
        let body = self.rules.spawn(self.settings.world_size, &mut self.rng);
        let (entity, entity_id) = self.world.spawn(body);
        let roster = self.roster();
        let events = self.events.subscribe();
        let key = self.players.insert(Player {
            id: player,
            entity,
            entity_id,
            name: name.clone(),
            queue: VecDeque::with_capacity(INPUT_QUEUE),
            last_received: None,
            acked: 0,
        });
        let mut token = [0u8; 16];
        rand::Rng::fill(&mut rand::rng(), &mut token);
        let welcome = Welcome {
            player,
            entity: entity_id,
            room: self.id,
            tick_rate: self.settings.tick_rate,
            tick: self.tick,
            session_token: SessionToken(token),
            world: WorldInfo {
                size: self.settings.world_size,
                view_radius: self.settings.view_radius,
                move_speed: arena::MOVE_SPEED,
            },
        };
        let joined = Admission {
            key: PlayerKey(key),
            welcome,
            roster,
            frames: self.frames.subscribe(),
            events,
        };
        if reply.send(joined).is_err() {
            // The connection gave up while waiting; undo the join silently.
            if let Some(p) = self.players.try_remove(key) {
                self.world.despawn(p.entity);
            }
            return;
        }
        debug!(room = %self.id, %player, entity = %entity_id, "player joined");
        // Tagged with the tick whose frame first holds the new entity.
        let joined = ServerEvent::PlayerJoined {
            player,
            entity: entity_id,
            name,
        };
        let _ = self.events.send((self.tick.next(), joined));
    }

    /// The roster for a newcomer: the tick's shared list plus this tick's
    /// earlier newcomers.
    fn roster(&mut self) -> Roster {
        let players = &self.players;
        let shared = self
            .roster_cache
            .get_or_insert_with(|| {
                players
                    .iter()
                    .map(|(_, p)| ServerEvent::PlayerJoined {
                        player: p.id,
                        entity: p.entity_id,
                        name: p.name.clone(),
                    })
                    .collect()
            })
            .clone();
        Roster::new(shared, self.joined_this_tick.clone())
    }

    /// Drops the shared roster: it no longer matches the room.
    fn forget_roster(&mut self) {
        self.roster_cache = None;
        self.joined_this_tick.clear();
    }

    /// One tick: apply inputs, step the world, publish the frame.
    pub(crate) fn step(&mut self) {
        self.forget_roster();
        self.tick = self.tick.next();
        for (_, p) in self.players.iter_mut() {
            if let Some(cmd) = p.queue.pop_front() {
                p.acked = cmd.seq;
                if let Some(e) = self.world.get_mut(p.entity) {
                    e.input = cmd;
                }
            }
            // No input this tick: the entity keeps the last one.
        }
        let dt = 1.0 / f32::from(self.settings.tick_rate.max(1));
        self.rules.step(&mut self.world, dt);
        let frame = self.build_frame();
        let previous = self.frames.send_replace(Arc::new(frame));
        // Reuse the previous frame's buffers if no connection holds it any
        // more (full-view clients keep their last frame as a baseline).
        if let Ok(previous) = Arc::try_unwrap(previous) {
            self.recycled = Some(previous.recycle());
        }
    }

    fn build_frame(&mut self) -> Frame {
        let (recycled, mut players) = self.recycled.take().unwrap_or_default();
        players.clear();
        players.resize(self.players.capacity(), PlayerFrame::VACANT);
        let mut frame = Frame::from_world_reusing(
            self.tick,
            &self.world,
            self.settings.view_radius,
            Vec::new(),
            recycled,
        );
        for (k, p) in &self.players {
            let index = frame.entities.binary_search_by_key(&p.entity_id, |e| e.id);
            players[k] = PlayerFrame {
                entity_index: index.map_or(u32::MAX, |i| i as u32),
                ack_input_seq: p.acked,
            };
        }
        frame.players = players;
        frame
    }
}
