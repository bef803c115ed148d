//! The room task: drains commands, steps the world, publishes frames.

use super::frame::{Frame, PlayerFrame, Recycled};
use super::manager::{Admission, RoomManager};
use super::{PlayerKey, RoomCmd, Roster, RosterEntry};
use crate::game::{GameHost, GameSpec, InputSlots, Outgoing};
use crate::metrics::{RoomStatus, RoomTelemetry, TickReport};
use slab::Slab;
use snapwire_shared::{
    EntityId, PlayerId, RoomId, ServerEvent, SessionToken, Tick, Welcome, WorldInfo,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

/// Inputs buffered per player. One is applied per tick; a few more absorb
/// network jitter. When full, the oldest is dropped so that a client that
/// sends too fast cannot build up latency beyond this many ticks.
pub const INPUT_QUEUE: usize = 4;

/// Reliable events buffered per room for slow readers, at least; a client
/// that falls this far behind is disconnected rather than let the buffer
/// grow. See [`event_buffer`].
pub const EVENT_BUFFER: usize = 1024;

/// Reliable events buffered by a room of `capacity` players: enough for
/// every player to leave (or drop and come back) at once, as at the end of
/// a match, without the clients still reading being cut off for it.
/// Measured: 2,000 bots leaving within a second overflowed a fixed 1,024
/// and closed three slow readers with `too far behind`. An event is ~50
/// bytes, so 20,000 players cost ~2 MB per room.
pub fn event_buffer(capacity: usize) -> usize {
    capacity
        .saturating_mul(2)
        .clamp(EVENT_BUFFER, 64 * EVENT_BUFFER)
}

/// The time between two ticks at `tick_rate` per second.
pub fn tick_period(tick_rate: u16) -> Duration {
    Duration::from_secs_f64(1.0 / f64::from(tick_rate.max(1)))
}

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
    /// How long a dropped player's entity waits for the player to resume.
    pub resume_grace: Duration,
    /// The game each room plays.
    pub game: Arc<GameSpec>,
    /// Where rooms report their ticks (metrics, `/rooms`, `/healthz`).
    pub telemetry: Arc<RoomTelemetry>,
}

impl std::fmt::Debug for RoomSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomSettings")
            .field("tick_rate", &self.tick_rate)
            .field("world_size", &self.world_size)
            .field("view_radius", &self.view_radius)
            .field("capacity", &self.capacity)
            .field("empty_grace", &self.empty_grace)
            .field("resume_grace", &self.resume_grace)
            .finish_non_exhaustive()
    }
}

/// A player in the room.
#[derive(Debug)]
struct Player {
    /// Public identity.
    id: PlayerId,
    /// The entity they control (for events and their frame entry).
    entity_id: EntityId,
    /// Display name, for the roster sent to newcomers.
    name: Arc<str>,
    /// Inputs received and not yet applied, oldest first.
    queue: VecDeque<(u32, InputSlots)>,
    /// Newest seq received (None before the first); older or repeated
    /// inputs are dropped.
    last_received: Option<u32>,
    /// The seq of the input applied in the latest tick.
    acked: u32,
    /// The connection that controls the player (see [`PlayerFrame::conn`]).
    conn: u32,
    /// The session token that resumes the player; single use.
    token: SessionToken,
    /// Since when the player has had no connection; `None` while connected.
    away_since: Option<Instant>,
}

/// A room's state; owned by its task alone.
pub(crate) struct Room {
    id: RoomId,
    settings: RoomSettings,
    game: Box<dyn GameHost>,
    /// The game's messages of this tick, on their way to the events.
    outbox: Vec<Outgoing>,
    players: Slab<Player>,
    tick: Tick,
    frames: watch::Sender<Arc<Frame>>,
    /// Wakes the connections after each frame, in a stable order.
    tick_notify: Arc<tokio::sync::Notify>,
    events: broadcast::Sender<(Tick, Event)>,
    /// Ticks whose work took longer than the tick period.
    overruns: u64,
    /// Another process owns this room now: its players are told to go.
    moved: bool,
    /// Ticks that never ran because the room woke too late for them (its
    /// own overruns, or a runtime too busy to wake it on time).
    skipped: u64,
    /// This tick's roster, shared by its newcomers (see [`Roster`]).
    roster_cache: Option<Arc<[RosterEntry]>>,
    /// `PlayerJoined` of this tick's newcomers so far.
    joined_this_tick: Vec<RosterEntry>,
    /// Buffers of an old frame, for the next one.
    recycled: Option<(Recycled, Vec<PlayerFrame>)>,
    /// Players by session token, for resuming.
    tokens: HashMap<SessionToken, usize>,
    /// Players by id, for a login that takes over its own player.
    by_id: HashMap<PlayerId, usize>,
    /// The last connection number handed out.
    last_conn: u32,
    /// Players without a connection, waiting out the resume grace.
    away: usize,
    /// Seats given up since the manager was last told.
    seats_freed: usize,
    /// What the admin listener reports of this room.
    status: Arc<RoomStatus>,
}

impl Room {
    pub(crate) fn new(id: RoomId, settings: RoomSettings, status: Arc<RoomStatus>) -> Self {
        let game = settings.game.new_host(settings.world_size);
        let events = broadcast::channel(event_buffer(settings.capacity)).0;
        let empty = Arc::new(Frame::new(
            Tick::NONE,
            settings.game.layouts().clone(),
            Default::default(),
            Default::default(),
            0.0,
            settings.world_size,
            Vec::new(),
        ));
        Room {
            status,
            id,
            game,
            outbox: Vec::new(),
            settings,
            players: Slab::new(),
            tick: Tick::NONE,
            frames: watch::channel(empty).0,
            tick_notify: Arc::default(),
            events,
            overruns: 0,
            moved: false,
            skipped: 0,
            recycled: None,
            roster_cache: None,
            joined_this_tick: Vec::new(),
            tokens: HashMap::new(),
            by_id: HashMap::new(),
            last_conn: 0,
            away: 0,
            seats_freed: 0,
        }
    }

    /// Runs the room until it has been empty for the grace time (and the
    /// manager agrees to dispose of it) or the server shuts down.
    ///
    /// Missed ticks are skipped, not replayed: when a tick overruns, the
    /// next one starts on the next slot of the fixed schedule and the game
    /// runs slower for that moment. Replaying them in a burst would only
    /// deepen an overload (the "spiral of death"). Overruns (a tick's work
    /// longer than the period) and skipped ticks (the room woke a period or
    /// more late: the process is overloaded even if each tick is quick) are
    /// counted and logged, at most once a second.
    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<RoomCmd>,
        manager: Arc<RoomManager>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let period = tick_period(self.settings.tick_rate);
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut empty_since = Some(Instant::now());
        let mut last_log: Option<Instant> = None;
        let (mut logged_overruns, mut logged_skips) = (0, 0);
        info!(room = %self.id, ?period, "room started");
        loop {
            let scheduled = tokio::select! {
                biased;
                _ = crate::net::stopped(&mut shutdown) => break,
                scheduled = ticker.tick() => scheduled,
            };
            let started = Instant::now();
            let late = started.saturating_duration_since(scheduled);
            let skipped = (late.as_nanos() / period.as_nanos().max(1)) as u64;
            self.skipped += skipped;
            // Drain what arrived since the last tick. Commands wait for the
            // tick rather than waking the room once per input.
            while let Ok(cmd) = commands.try_recv() {
                self.handle(cmd);
            }
            self.expire_dropped(started);
            self.step();
            if self.seats_freed > 0 {
                manager.release_seats(self.id, std::mem::take(&mut self.seats_freed));
            }
            let elapsed = started.elapsed();
            if elapsed > period {
                self.overruns += 1;
            }
            let report = TickReport {
                tick: u64::from(self.tick.0),
                players: self.players.len(),
                started: started.into_std(),
                took: elapsed,
                skipped,
                overran: elapsed > period,
            };
            self.settings.telemetry.tick(&self.status, report);
            if (self.overruns > logged_overruns || self.skipped > logged_skips)
                && last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            {
                warn!(
                    room = %self.id,
                    tick = self.tick.0,
                    elapsed_us = elapsed.as_micros() as u64,
                    late_us = late.as_micros() as u64,
                    overruns = self.overruns,
                    skipped = self.skipped,
                    overruns_since_last_log = self.overruns - logged_overruns,
                    skipped_since_last_log = self.skipped - logged_skips,
                    "room behind schedule"
                );
                last_log = Some(Instant::now());
                (logged_overruns, logged_skips) = (self.overruns, self.skipped);
            }
            if self.players.is_empty() {
                let since = *empty_since.get_or_insert(started);
                // A moved room has no future here: no grace.
                let grace = if self.moved {
                    Duration::ZERO
                } else {
                    self.settings.empty_grace
                };
                if since.elapsed() >= grace && manager.try_dispose(self.id) {
                    break;
                }
            } else {
                empty_since = None;
            }
        }
        info!(room = %self.id, ticks = self.tick.0, overruns = self.overruns, skipped = self.skipped, "room stopped");
    }

    fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join {
                player,
                name,
                reply,
            } => self.join(player, name, reply),
            RoomCmd::Moved => {
                if !self.moved {
                    info!(room = %self.id, players = self.players.len(), "room moved to another process");
                }
                self.moved = true;
            }
            RoomCmd::Input { player, seq, input } => {
                if let Some(p) = self.players.get_mut(player.0) {
                    // Wrapping order: drop inputs not newer than the last one.
                    if p.last_received
                        .is_some_and(|last| seq.wrapping_sub(last) as i32 <= 0)
                    {
                        return;
                    }
                    p.last_received = Some(seq);
                    if p.queue.len() == INPUT_QUEUE {
                        p.queue.pop_front();
                    }
                    p.queue.push_back((seq, input));
                }
            }
            RoomCmd::Message { player, ty, fields } => {
                if self.players.contains(player.0) {
                    self.game.message(player.0, ty, &fields);
                }
            }
            RoomCmd::Resume { token, reply } => {
                let admission = self
                    .tokens
                    .get(&token)
                    .copied()
                    .map(|key| self.readmit(key));
                let readmitted = admission.as_ref().map(|a| a.key.0);
                if reply.send(admission).is_err()
                    && let Some(key) = readmitted
                {
                    // The new connection gave up while waiting: nobody
                    // controls the player now, so it waits for the grace.
                    self.mark_away(key, Instant::now());
                }
            }
            RoomCmd::Disconnected {
                player,
                conn,
                resumable,
            } => {
                let Some(p) = self.players.get(player.0) else {
                    return;
                };
                if p.conn != conn {
                    return; // already taken over by a newer connection
                }
                if resumable && !self.settings.resume_grace.is_zero() {
                    self.mark_away(player.0, Instant::now());
                } else {
                    self.remove(player.0);
                }
            }
        }
    }

    /// The player lost its connection: it stays, idle, for the grace.
    fn mark_away(&mut self, key: usize, now: Instant) {
        let Some(p) = self.players.get_mut(key) else {
            return;
        };
        if p.away_since.is_some() {
            return;
        }
        p.away_since = Some(now);
        p.queue.clear();
        let id = p.id;
        self.game.clear_input(key);
        self.away += 1;
        debug!(room = %self.id, player = %id, "player dropped; waiting for resume");
        let _ = self.events.send((
            self.tick.next(),
            Event::Server(Arc::new(ServerEvent::PlayerDropped { player: id })),
        ));
    }

    /// Removes the players whose resume grace has passed.
    fn expire_dropped(&mut self, now: Instant) {
        if self.away == 0 {
            return;
        }
        let grace = self.settings.resume_grace;
        let expired: Vec<usize> = self
            .players
            .iter()
            .filter(|(_, p)| p.away_since.is_some_and(|t| now.duration_since(t) >= grace))
            .map(|(k, _)| k)
            .collect();
        for key in expired {
            self.remove(key);
        }
    }

    /// Removes a player and its entity, and tells everyone.
    fn remove(&mut self, key: usize) {
        let Some(p) = self.players.try_remove(key) else {
            return;
        };
        self.game.leave(key);
        self.tokens.remove(&p.token);
        self.by_id.remove(&p.id);
        if p.away_since.is_some() {
            self.away -= 1;
        }
        self.seats_freed += 1;
        self.forget_roster();
        debug!(room = %self.id, player = %p.id, "player left");
        let _ = self.events.send((
            self.tick.next(),
            Event::Server(Arc::new(ServerEvent::PlayerLeft { player: p.id })),
        ));
    }

    /// A new session token, unguessable (96 random bits) and naming this
    /// room in its first four bytes, so the manager can route a resume.
    fn new_token(&mut self) -> SessionToken {
        let mut token = [0u8; 16];
        token[..4].copy_from_slice(&self.id.0.to_le_bytes());
        loop {
            rand::Rng::fill(&mut rand::rng(), &mut token[4..]);
            let token = SessionToken(token);
            if !self.tokens.contains_key(&token) {
                return token;
            }
        }
    }

    fn next_conn(&mut self) -> u32 {
        self.last_conn = self.last_conn.wrapping_add(1).max(1);
        self.last_conn
    }

    /// Hands an existing player to a new connection: a fresh token (the old
    /// one is spent), a new connection number (the old connection, if any,
    /// sees it and closes), an empty input queue, and the same entity.
    fn readmit(&mut self, key: usize) -> Admission {
        let token = self.new_token();
        let conn = self.next_conn();
        let roster = self.roster();
        let events = self.events.subscribe();
        let p = &mut self.players[key];
        self.tokens.remove(&p.token);
        self.tokens.insert(token, key);
        p.token = token;
        p.conn = conn;
        // The client may number its inputs afresh.
        p.queue.clear();
        p.last_received = None;
        p.acked = 0;
        let (id, entity_id) = (p.id, p.entity_id);
        if p.away_since.take().is_some() {
            self.away -= 1;
            let _ = self.events.send((
                self.tick.next(),
                Event::Server(Arc::new(ServerEvent::PlayerResumed { player: id })),
            ));
        }
        debug!(room = %self.id, player = %id, conn, "player resumed");
        Admission {
            key: PlayerKey(key),
            conn,
            resumed: true,
            welcome: self.welcome(id, entity_id, token),
            roster,
            frames: self.frames.subscribe(),
            tick: self.tick_notify.clone(),
            events,
        }
    }

    fn welcome(&self, player: PlayerId, entity: EntityId, session_token: SessionToken) -> Welcome {
        Welcome {
            player,
            entity,
            room: self.id,
            tick_rate: self.settings.tick_rate,
            tick: self.tick,
            session_token,
            world: WorldInfo {
                size: self.settings.world_size,
                view_radius: self.settings.view_radius,
            },
            schema_hash: self.settings.game.hash(),
        }
    }

    fn join(
        &mut self,
        player: PlayerId,
        name: String,
        reply: tokio::sync::oneshot::Sender<Admission>,
    ) {
        if let Some(&key) = self.by_id.get(&player) {
            // The same (authenticated) player again: the new connection
            // takes over, and the seat the manager reserved is not needed.
            self.seats_freed += 1;
            let admission = self.readmit(key);
            if reply.send(admission).is_err() {
                self.mark_away(key, Instant::now());
            }
            return;
        }
        let key = self.players.vacant_key();
        let entity_id = self.game.join(key, player, &name);
        let roster = self.roster();
        let events = self.events.subscribe();
        let key = self.players.insert(Player {
            id: player,
            entity_id,
            name: Arc::from(name.as_str()),
            queue: VecDeque::with_capacity(INPUT_QUEUE),
            last_received: None,
            acked: 0,
            conn: 0,
            token: SessionToken([0; 16]),
            away_since: None,
        });
        let token = self.new_token();
        let conn = self.next_conn();
        self.players[key].token = token;
        self.players[key].conn = conn;
        self.tokens.insert(token, key);
        self.by_id.insert(player, key);
        let joined = Admission {
            key: PlayerKey(key),
            conn,
            resumed: false,
            welcome: self.welcome(player, entity_id, token),
            roster,
            frames: self.frames.subscribe(),
            tick: self.tick_notify.clone(),
            events,
        };
        if reply.send(joined).is_err() {
            // The connection gave up while waiting; undo the join silently.
            if let Some(p) = self.players.try_remove(key) {
                self.game.leave(key);
                self.tokens.remove(&p.token);
                self.by_id.remove(&p.id);
            }
            self.seats_freed += 1;
            return;
        }
        debug!(room = %self.id, %player, entity = %entity_id, "player joined");
        // Later newcomers of this tick share the roster built before this
        // one joined, and subscribed to the events after its `PlayerJoined`
        // was sent: they learn of it from here.
        self.joined_this_tick.push(RosterEntry {
            player,
            entity: entity_id,
            name: self.players[key].name.clone(),
        });
        // Tagged with the tick whose frame first holds the new entity.
        let joined = ServerEvent::PlayerJoined {
            player,
            entity: entity_id,
            name,
        };
        let _ = self
            .events
            .send((self.tick.next(), Event::Server(Arc::new(joined))));
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
                    .map(|(_, p)| RosterEntry {
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
        for (k, p) in self.players.iter_mut() {
            if let Some((seq, input)) = p.queue.pop_front() {
                p.acked = seq;
                self.game.set_input(k, &input);
            }
            // No input this tick: the entity keeps the last one.
        }
        let dt = 1.0 / f32::from(self.settings.tick_rate.max(1));
        self.game.step(self.tick, dt);
        self.send_outbox();
        let mut frame = self.build_frame();
        frame.published = std::time::Instant::now();
        let previous = self.frames.send_replace(Arc::new(frame));
        self.tick_notify.notify_waiters();
        // Reuse the previous frame's buffers if no connection holds it any
        // more (clients keep the frame they were last sent as a baseline).
        if let Ok(previous) = Arc::try_unwrap(previous) {
            self.recycled = Some(previous.recycle());
        }
    }

    /// The game's messages go out with the events, tagged with the tick
    /// whose frame they belong to.
    fn send_outbox(&mut self) {
        self.game.take_outbox(&mut self.outbox);
        for m in self.outbox.drain(..) {
            let _ = self.events.send((self.tick, Event::Game(Arc::new(m))));
        }
    }

    fn build_frame(&mut self) -> Frame {
        let (mut recycled, mut players) = self.recycled.take().unwrap_or_default();
        players.clear();
        players.resize(self.players.capacity(), PlayerFrame::VACANT);
        let (entities, state) = recycled.tables();
        self.game.write_tables(entities, state);
        let mut frame = Frame::build(
            self.tick,
            self.settings.game.layouts().clone(),
            self.settings.view_radius,
            self.settings.world_size,
            Vec::new(),
            recycled,
        );
        // Each entity's change from the frame clients were last sent,
        // encoded once here rather than by each client that sees it.
        let older = self.frames.borrow().clone();
        frame.encode_updates_from(&older);
        for (k, p) in &self.players {
            let index = frame.entities.find(p.entity_id);
            players[k] = PlayerFrame {
                entity_index: index.map_or(u32::MAX, |i| i as u32),
                ack_input_seq: p.acked,
                conn: p.conn,
            };
        }
        frame.players = players;
        frame.moved = self.moved;
        frame
    }
}

/// What a room tells its connections, in order, besides frames.
#[derive(Clone, Debug)]
pub enum Event {
    /// One of the framework's (joins, leaves, drains). Both kinds are
    /// shared: every connection's queue holds an event until its snapshot
    /// carries it, and a burst of joins would otherwise copy every name
    /// into every queue (and each queue's slots would be 40 bytes, not 16).
    Server(Arc<ServerEvent>),
    /// A game message, with its audience.
    Game(Arc<Outgoing>),
}
