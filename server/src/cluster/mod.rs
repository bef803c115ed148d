//! Scale-out: where rooms live, and matchmaking.
//!
//! Every process has a [`Cluster`]. Alone (no `--redis-url`) it is its own
//! registry: `/matchmake` places players in its own rooms. With Redis
//! (`redis.rs`), every process registers itself and its rooms under leases
//! it renews; room ownership is decided by atomic scripts, so two processes
//! never both own a room, and a process that dies or freezes drops out of
//! the registry when its lease runs out. `POST /matchmake` (`http.rs`) on
//! any process answers with the room's process and a signed, single-use
//! seat reservation (`seat.rs`) that the process then requires in `Hello`.

pub mod http;
mod redis;
pub mod seat;

use crate::net::listener::Shared;
use crate::room::RoomManager;
pub use redis::RegistryError;
use seat::{KEY_BYTES, Seats, random_bytes};
pub use seat::{SeatClaims, SeatError};
use snapwire_shared::{PlayerId, RoomId};
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// Where `POST /matchmake` is served, on the game port.
pub const MATCHMAKE_PATH: &str = "/matchmake";

/// The scale-out settings.
#[derive(Clone)]
pub struct ClusterConfig {
    /// `redis://HOST:PORT`: register in this Redis; `None`: run alone.
    pub redis_url: Option<String>,
    /// What clients are told to connect to, like `wss://game1.example/play`;
    /// `None`: this process's own listen address (`ws://ADDR/play`).
    pub public_url: Option<String>,
    /// The game mode this process serves (matchmaking requests name one).
    pub mode: String,
    /// How long a registration lives unless renewed.
    pub lease: Duration,
    /// How often this process renews its registration.
    pub renew_every: Duration,
    /// How long a seat reservation is valid.
    pub reservation_ttl: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: None,
            public_url: None,
            mode: DEFAULT_MODE.to_owned(),
            lease: Duration::from_secs(3),
            renew_every: Duration::from_secs(1),
            reservation_ttl: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A Redis URL may carry a password: print only where it points.
        let redis = self.redis_url.as_deref().map(|u| {
            u.rsplit('@')
                .next()
                .unwrap_or(u)
                .trim_start_matches("redis://")
        });
        f.debug_struct("ClusterConfig")
            .field("redis", &redis)
            .field("public_url", &self.public_url)
            .field("mode", &self.mode)
            .field("lease", &self.lease)
            .field("renew_every", &self.renew_every)
            .field("reservation_ttl", &self.reservation_ttl)
            .finish()
    }
}

/// The mode a process serves unless told otherwise: the built-in arena.
pub const DEFAULT_MODE: &str = "arena";

/// What `/matchmake` is asked.
#[derive(Debug, Clone)]
pub struct MatchRequest {
    /// The game mode.
    pub mode: String,
    /// A room to join (created if it does not exist); `None`: any room of
    /// the mode with a free seat, or a new one.
    pub room: Option<RoomId>,
    /// Who the player is, when a join token said so.
    pub who: Option<(PlayerId, String)>,
}

/// Where a player goes: `/matchmake`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The process's public WebSocket URL.
    pub url: String,
    /// The room.
    pub room: RoomId,
    /// The seat reservation to send in `Hello::auth_token`.
    pub reservation: String,
    /// Seconds the reservation is valid.
    pub expires_in: u64,
}

/// Why matchmaking found no seat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// No process serves this mode.
    #[error("unknown mode")]
    UnknownMode,
    /// The room asked for is of another mode.
    #[error("room is of another mode")]
    WrongMode,
    /// The room asked for has no free seat.
    #[error("room full")]
    RoomFull,
    /// No ready process has room for a new room.
    #[error("no server available")]
    NoServer,
    /// The registry cannot be reached, or this process is not registered.
    #[error("registry unavailable")]
    Unavailable,
    /// This process is draining.
    #[error("server draining")]
    Draining,
}

/// One process's view of the deployment.
#[derive(Debug)]
pub struct Cluster {
    /// This process's registry id (random per start).
    pub(crate) id: String,
    /// What clients are told to connect to.
    pub(crate) public_url: String,
    pub(crate) config: ClusterConfig,
    pub(crate) seats: Seats,
    /// The seat key this process offers the registry if it has none.
    key_candidate: Vec<u8>,
    /// Most reservations outstanding at once (alone).
    max_pending: usize,
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    /// This process is the whole deployment.
    Alone(Mutex<Pending>),
    /// Registered in Redis.
    Redis(Box<redis::Registry>),
}

/// Reservations handed out and not yet used (alone only; in Redis they are
/// part of the room's record).
#[derive(Debug, Default)]
struct Pending {
    /// Seat id → (room, expiry).
    seats: HashMap<String, (RoomId, Instant)>,
}

impl Pending {
    fn prune(&mut self, now: Instant) {
        self.seats.retain(|_, (_, exp)| *exp > now);
    }

    fn in_room(&self, room: RoomId) -> usize {
        self.seats.values().filter(|(r, _)| *r == room).count()
    }
}

impl Cluster {
    /// The cluster of a process listening at `public_url` (unless the
    /// config names another), with `max_players` seats in all.
    pub(crate) fn new(
        config: ClusterConfig,
        default_url: String,
        max_players: usize,
    ) -> Result<Self, RegistryError> {
        let id = seat::hex(&random_bytes::<8>());
        let public_url = config.public_url.clone().unwrap_or(default_url);
        let key_candidate = seat::hex(&random_bytes::<KEY_BYTES>()).into_bytes();
        let (backend, key) = match &config.redis_url {
            // The key comes from the registry, shared by every process.
            Some(url) => (
                Backend::Redis(Box::new(redis::Registry::new(url, &config)?)),
                None,
            ),
            None => (Backend::Alone(Mutex::default()), Some(&key_candidate[..])),
        };
        let seats = Seats::new(id.clone(), key, max_players);
        Ok(Cluster {
            id,
            public_url,
            config,
            seats,
            key_candidate,
            max_pending: max_players,
            backend,
        })
    }

    /// This process's registry id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The URL clients are told to connect to.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Whether joins need a reservation: in a deployment of several
    /// processes, a player may only join where matchmaking sent it.
    pub fn requires_reservation(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// Whether this process is in the registry (always, alone).
    pub fn registered(&self) -> bool {
        match &self.backend {
            Backend::Alone(_) => true,
            Backend::Redis(r) => r.registered(self.config.lease) && self.seats.key().is_some(),
        }
    }

    /// Finds (or makes) a seat for `req`.
    pub(crate) async fn matchmake(
        &self,
        rooms: &RoomManager,
        capacity: usize,
        req: MatchRequest,
    ) -> Result<Placement, MatchError> {
        if req.mode != self.config.mode && matches!(self.backend, Backend::Alone(_)) {
            return Err(MatchError::UnknownMode);
        }
        let ttl = self.config.reservation_ttl;
        let (url, claims) = match &self.backend {
            Backend::Alone(pending) => {
                let room = self.place_alone(pending, rooms, capacity, req.room)?;
                let claims = seat::claims(&self.id, room, &req.mode, ttl, req.who);
                let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
                p.seats
                    .insert(claims.jti.clone(), (room, Instant::now() + ttl));
                (self.public_url.clone(), claims)
            }
            Backend::Redis(registry) => {
                if !self.registered() {
                    return Err(MatchError::Unavailable);
                }
                let jti = seat::hex(&random_bytes::<12>());
                let (owner, url, room) = registry.matchmake(&req.mode, req.room, &jti).await?;
                let mut claims = seat::claims(&owner, room, &req.mode, ttl, req.who);
                claims.jti = jti;
                (url, claims)
            }
        };
        let room = claims.room_id();
        let reservation = self
            .seats
            .sign(&claims)
            .map_err(|_| MatchError::Unavailable)?;
        Ok(Placement {
            url,
            room,
            reservation,
            expires_in: ttl.as_secs().max(1),
        })
    }

    /// A room of this process with a free seat, counting reservations.
    fn place_alone(
        &self,
        pending: &Mutex<Pending>,
        rooms: &RoomManager,
        capacity: usize,
        wanted: Option<RoomId>,
    ) -> Result<RoomId, MatchError> {
        let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
        p.prune(Instant::now());
        if p.seats.len() >= self.seats_cap() {
            return Err(MatchError::NoServer);
        }
        let listed = rooms.rooms();
        let taken = |id: RoomId| {
            listed.iter().find(|r| r.id == id).map_or(0, |r| r.players) + p.in_room(id)
        };
        if let Some(id) = wanted {
            if listed.iter().any(|r| r.id == id && !r.open) {
                return Err(MatchError::NoServer);
            }
            return if taken(id) < capacity {
                Ok(id)
            } else {
                Err(MatchError::RoomFull)
            };
        }
        let mut candidates: Vec<RoomId> = listed.iter().filter(|r| r.open).map(|r| r.id).collect();
        candidates.extend(p.seats.values().map(|(r, _)| *r));
        candidates.sort_unstable();
        candidates.dedup();
        if let Some(id) = candidates.into_iter().find(|&id| taken(id) < capacity) {
            return Ok(id);
        }
        Ok(rooms.allocate_id())
    }

    /// Most reservations outstanding at once (alone).
    fn seats_cap(&self) -> usize {
        self.max_pending
    }

    /// A reservation was used to join `room`: it no longer holds a seat
    /// of its own (the player does).
    pub(crate) fn seat_used(&self, jti: &str) {
        match &self.backend {
            Backend::Alone(pending) => {
                let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
                p.seats.remove(jti);
            }
            // The room manager keeps it with the seat (`registry_report`).
            Backend::Redis(_) => {}
        }
    }
}

/// Keeps this process in the registry until it drains or stops: renews
/// its lease and its rooms' every `renew_every`, closes the players of any
/// room another process owns now (close 4002: they matchmake again), and
/// leaves the registry at once when the drain begins.
pub(crate) async fn maintain(shared: Arc<Shared>) {
    let cluster = &shared.cluster;
    let Backend::Redis(registry) = &cluster.backend else {
        return;
    };
    let mut every = tokio::time::interval(cluster.config.renew_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut drain = shared.drain.clone();
    let mut shutdown = shared.shutdown.clone();
    let mut held: HashSet<RoomId> = HashSet::new();
    let mut healthy = None;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = drain.changed() => {}
            _ = shutdown.changed() => {}
        }
        let report = shared.rooms.registry_report();
        let listed: Vec<_> = report.iter().map(|(r, _)| *r).collect();
        if shared.draining() {
            let ids: Vec<RoomId> = listed
                .iter()
                .map(|r| r.id)
                .chain(held.iter().copied())
                .collect();
            match registry
                .leave(&cluster.id, &cluster.config.mode, &ids)
                .await
            {
                Ok(()) => info!(process = %cluster.id, rooms = ids.len(), "left the registry"),
                Err(error) => {
                    warn!(%error, "could not leave the registry; its leases run out instead")
                }
            }
            return;
        }
        let rooms: Vec<(RoomId, usize, Vec<String>)> = report
            .into_iter()
            .filter(|(r, _)| r.open)
            .map(|(r, used)| (r.id, r.players, used))
            .collect();
        let released: Vec<RoomId> = held
            .iter()
            .filter(|id| !rooms.iter().any(|(r, _, _)| r == *id))
            .copied()
            .collect();
        let cfg = &shared.config;
        let open = cfg.stats.open.load(std::sync::atomic::Ordering::Relaxed);
        let key = cluster.seats.key();
        let report = redis::Report {
            id: &cluster.id,
            url: &cluster.public_url,
            mode: &cluster.config.mode,
            capacity: cfg.max_connections,
            room_capacity: cfg.room_capacity,
            ready: open < cfg.max_connections as u64,
            key: key.as_deref().unwrap_or(&cluster.key_candidate),
            rooms: &rooms,
            released: &released,
        };
        match registry.renew(&report).await {
            Ok((key, lost)) => {
                cluster.seats.set_key(&key);
                if healthy != Some(true) {
                    info!(process = %cluster.id, url = %cluster.public_url, rooms = rooms.len(), "registered");
                }
                healthy = Some(true);
                held = rooms.iter().map(|(r, _, _)| *r).collect();
                for room in lost {
                    held.remove(&room);
                    if shared.rooms.evict(room) {
                        warn!(%room, "room now owned by another process: its players are closed (4002)");
                    }
                }
            }
            Err(error) => {
                if healthy != Some(false) {
                    warn!(%error, "registry renewal failed: not ready until it succeeds");
                }
                healthy = Some(false);
            }
        }
    }
}
