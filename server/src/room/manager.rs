//! Join-or-create, and disposal of empty rooms.

use super::frame::Frame;
use super::task::{Room, RoomSettings};
use super::{PlayerKey, RoomCmd, Roster};
use crate::metrics::RoomStatus;
use snapwire_shared::{PlayerId, RoomId, SessionToken, Tick, Welcome};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tracing::info;

/// What a connection gets back from a successful join.
#[derive(Debug)]
pub struct Joined {
    /// The room joined.
    pub room: RoomId,
    /// The player's slot, for commands and for looking itself up in frames.
    pub key: PlayerKey,
    /// This connection's number; frames name the connection in control.
    pub conn: u32,
    /// Whether this continues an existing player (resume or takeover).
    pub resumed: bool,
    /// The message to send the client first.
    pub welcome: Welcome,
    /// `PlayerJoined` for everyone already present, to send first.
    pub roster: Roster,
    /// The room's frames, newest wins.
    pub frames: watch::Receiver<Arc<Frame>>,
    /// Notified (`notify_waiters`) after each frame is published; waiters
    /// are woken in the order they registered.
    pub tick: Arc<Notify>,
    /// The room's reliable events from the moment of joining, each with the
    /// tick whose frame first reflects it.
    pub events: broadcast::Receiver<(Tick, super::Event)>,
    /// The room's command channel, for inputs and the final leave.
    pub(crate) commands: mpsc::Sender<RoomCmd>,
}

impl Joined {
    fn new(room: RoomId, a: Admission, commands: mpsc::Sender<RoomCmd>) -> Self {
        Joined {
            room,
            key: a.key,
            conn: a.conn,
            resumed: a.resumed,
            welcome: a.welcome,
            roster: a.roster,
            frames: a.frames,
            tick: a.tick,
            events: a.events,
            commands,
        }
    }
}

/// The room's half of [`Joined`]: everything but the command channel, which
/// the manager adds.
#[derive(Debug)]
pub(crate) struct Admission {
    pub(crate) key: PlayerKey,
    pub(crate) conn: u32,
    pub(crate) resumed: bool,
    pub(crate) welcome: Welcome,
    pub(crate) roster: Roster,
    pub(crate) frames: watch::Receiver<Arc<Frame>>,
    pub(crate) tick: Arc<Notify>,
    pub(crate) events: broadcast::Receiver<(Tick, super::Event)>,
}

/// Why a join failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The server is shutting down and creates no rooms.
    #[error("server shutting down")]
    ShuttingDown,
    /// The room stopped between reservation and join (should not happen).
    #[error("room unavailable")]
    RoomGone,
    /// The room asked for (by a join token) has no free seat.
    #[error("room full")]
    RoomFull,
    /// The resume token is unknown, spent, or its grace has passed.
    #[error("invalid resume token")]
    InvalidResume,
    /// The room has moved to another process (scale-out).
    #[error("room moved")]
    RoomMoved,
}

/// Who joins, and where.
#[derive(Debug, Clone, Default)]
pub struct JoinRequest {
    /// Display name.
    pub name: String,
    /// The player's id, from a verified join token; `None`: the server
    /// assigns one. A player already in the room is taken over.
    pub player: Option<PlayerId>,
    /// The room to join (created if it does not exist); `None`: the first
    /// room with space.
    pub room: Option<RoomId>,
    /// The seat reservation (its id) this join uses, if any: recorded with
    /// the seat, under the same lock, so that the registry is told the
    /// player and the used reservation together (never both, never neither).
    pub seat: Option<String>,
}

impl JoinRequest {
    /// An anonymous player, placed in the first room with space.
    pub fn named(name: impl Into<String>) -> Self {
        JoinRequest {
            name: name.into(),
            ..JoinRequest::default()
        }
    }
}

/// The rooms of one server.
///
/// Every room's occupancy is tracked here, under one lock, and a seat is
/// reserved before the join is sent to the room. A room only stops once the
/// manager has seen it empty with no reservation in flight, so a join can
/// never be sent to a room that is going away.
#[derive(Debug)]
pub struct RoomManager {
    /// Rooms by id, in creation order (the first with space is filled first).
    rooms: Mutex<Rooms>,
    /// Settings every new room gets.
    settings: RoomSettings,
    /// Source of player ids, unique across rooms.
    next_player: AtomicU32,
    /// Told to rooms so they stop when the server does.
    shutdown: watch::Receiver<bool>,
}

#[derive(Debug, Default)]
struct Rooms {
    by_id: BTreeMap<RoomId, RoomEntry>,
    next_id: u32,
}

impl Rooms {
    /// The next id after the last one handed out that no room has (join
    /// tokens name rooms of their own).
    fn next_free_id(&mut self) -> RoomId {
        loop {
            self.next_id = self.next_id.wrapping_add(1).max(1);
            let id = RoomId(self.next_id);
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }
}

#[derive(Debug)]
struct RoomEntry {
    /// The room's command channel.
    commands: mpsc::Sender<RoomCmd>,
    /// Seats taken or reserved.
    occupancy: usize,
    /// What the room reports; kept here so that a room whose task died
    /// (a panic in the game's rules) still shows, not ticking.
    status: Arc<RoomStatus>,
    /// Another process owns the room now; nobody new joins it here.
    moved: bool,
    /// Reservations used for seats here since the registry was last told.
    seats_used: Vec<String>,
}

impl RoomEntry {
    /// Whether it takes players: its task runs and it has not moved.
    fn open(&self) -> bool {
        !self.moved && !self.commands.is_closed()
    }
}

/// A summary of one room, for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomInfo {
    /// Which room.
    pub id: RoomId,
    /// Seats taken or reserved.
    pub players: usize,
    /// Whether it takes new players (its task runs and it has not moved).
    pub open: bool,
}

impl RoomManager {
    /// A manager with no rooms yet.
    pub fn new(settings: RoomSettings, shutdown: watch::Receiver<bool>) -> Arc<Self> {
        Arc::new(RoomManager {
            rooms: Mutex::new(Rooms::default()),
            settings,
            next_player: AtomicU32::new(1),
            shutdown,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rooms> {
        // The critical sections below cannot panic halfway through a change.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts a player in the room it asks for, or the first room with
    /// space, creating one if needed.
    pub async fn join(self: &Arc<Self>, request: JoinRequest) -> Result<Joined, JoinError> {
        if *self.shutdown.borrow() {
            return Err(JoinError::ShuttingDown);
        }
        let (room, commands) = self.reserve(request.room, request.seat)?;
        let player = request
            .player
            .unwrap_or_else(|| PlayerId(self.next_player.fetch_add(1, Ordering::Relaxed)));
        let (reply, answer) = oneshot::channel();
        let sent = commands
            .send(RoomCmd::Join {
                player,
                name: request.name,
                reply,
            })
            .await;
        match (sent, answer.await) {
            (Ok(()), Ok(a)) => Ok(Joined::new(room, a, commands)),
            _ => {
                self.release_seats(room, 1);
                Err(JoinError::RoomGone)
            }
        }
    }

    /// Gives the player that `token` resumes to a new connection.
    pub async fn resume(self: &Arc<Self>, token: SessionToken) -> Result<Joined, JoinError> {
        if *self.shutdown.borrow() {
            return Err(JoinError::ShuttingDown);
        }
        // The room's id is the token's first four bytes (see the room).
        let mut id = [0u8; 4];
        id.copy_from_slice(&token.0[..4]);
        let room = RoomId(u32::from_le_bytes(id));
        let commands = self
            .lock()
            .by_id
            .get(&room)
            .map(|r| r.commands.clone())
            .ok_or(JoinError::InvalidResume)?;
        let (reply, answer) = oneshot::channel();
        if commands
            .send(RoomCmd::Resume { token, reply })
            .await
            .is_err()
        {
            return Err(JoinError::InvalidResume);
        }
        match answer.await {
            Ok(Some(a)) => Ok(Joined::new(room, a, commands)),
            _ => Err(JoinError::InvalidResume),
        }
    }

    fn reserve(
        self: &Arc<Self>,
        wanted: Option<RoomId>,
        seat: Option<String>,
    ) -> Result<(RoomId, mpsc::Sender<RoomCmd>), JoinError> {
        let mut rooms = self.lock();
        let capacity = self.settings.capacity.max(1);
        // A room whose task is gone (its game rules panicked) stays listed,
        // not ticking, for `/healthz`, but takes nobody.
        let existing = match wanted {
            Some(id) => match rooms.by_id.get_mut(&id) {
                Some(entry) if entry.moved => return Err(JoinError::RoomMoved),
                Some(entry) if entry.commands.is_closed() => return Err(JoinError::RoomGone),
                Some(entry) if entry.occupancy >= capacity => return Err(JoinError::RoomFull),
                Some(entry) => Some((id, entry)),
                None => None,
            },
            None => rooms
                .by_id
                .iter_mut()
                .find(|(_, r)| r.occupancy < capacity && r.open())
                .map(|(id, r)| (*id, r)),
        };
        if let Some((id, entry)) = existing {
            entry.occupancy += 1;
            entry.seats_used.extend(seat);
            return Ok((id, entry.commands.clone()));
        }
        let id = match wanted {
            Some(id) => id,
            None => rooms.next_free_id(),
        };
        // Room commands are drained once per tick: room for a few inputs per
        // player per tick plus joins and leaves.
        let (tx, rx) = mpsc::channel(capacity.saturating_mul(4).max(1024));
        let status = self
            .settings
            .telemetry
            .room(id, capacity, self.settings.tick_rate);
        let room = Room::new(id, self.settings.clone(), status.clone());
        tokio::spawn(room.run(rx, self.clone(), self.shutdown.clone()));
        rooms.by_id.insert(
            id,
            RoomEntry {
                commands: tx.clone(),
                occupancy: 1,
                status,
                moved: false,
                seats_used: seat.into_iter().collect(),
            },
        );
        info!(room = %id, capacity, "room created");
        Ok((id, tx))
    }

    /// Frees seats taken by [`RoomManager::join`]: the room calls this when
    /// players are gone for good (left, or not resumed within the grace).
    pub(crate) fn release_seats(&self, room: RoomId, seats: usize) {
        if let Some(entry) = self.lock().by_id.get_mut(&room) {
            entry.occupancy = entry.occupancy.saturating_sub(seats);
        }
    }

    /// Called by an empty room after its grace time: removes it unless a
    /// seat was reserved meanwhile. True means the room must stop.
    pub(crate) fn try_dispose(&self, room: RoomId) -> bool {
        let mut rooms = self.lock();
        match rooms.by_id.get(&room) {
            Some(entry) if entry.occupancy > 0 => false,
            _ => {
                rooms.by_id.remove(&room);
                info!(room = %room, "room disposed");
                true
            }
        }
    }

    /// An id no room has and no other call of this returned, for a room
    /// that matchmaking places before its first player arrives.
    pub fn allocate_id(&self) -> RoomId {
        self.lock().next_free_id()
    }

    /// The registry gave `room` to another process: its players are closed
    /// with 4002 and nobody new joins it here. False if there is no such
    /// room or it had moved already.
    pub fn evict(&self, room: RoomId) -> bool {
        let mut rooms = self.lock();
        let Some(entry) = rooms.by_id.get_mut(&room) else {
            return false;
        };
        if entry.moved {
            return false;
        }
        entry.moved = true;
        let commands = entry.commands.clone();
        drop(rooms);
        if let Err(TrySendError::Full(cmd)) = commands.try_send(RoomCmd::Moved) {
            tokio::spawn(async move {
                let _ = commands.send(cmd).await;
            });
        }
        true
    }

    /// Every room's status, by id.
    pub fn statuses(&self) -> Vec<Arc<RoomStatus>> {
        self.lock()
            .by_id
            .values()
            .map(|r| r.status.clone())
            .collect()
    }

    /// What the registry is told: every room with its occupancy, and the
    /// reservations used for it since the last call (taken), read together.
    pub(crate) fn registry_report(&self) -> Vec<(RoomInfo, Vec<String>)> {
        self.lock()
            .by_id
            .iter_mut()
            .map(|(&id, r)| {
                let info = RoomInfo {
                    id,
                    players: r.occupancy,
                    open: r.open(),
                };
                (info, std::mem::take(&mut r.seats_used))
            })
            .collect()
    }

    /// The rooms and their occupancy, in creation order.
    pub fn rooms(&self) -> Vec<RoomInfo> {
        self.lock()
            .by_id
            .iter()
            .map(|(&id, r)| RoomInfo {
                id,
                players: r.occupancy,
                open: r.open(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::GameSpec;
    use crate::game::arena::Arena;
    use std::time::Duration;

    fn settings(capacity: usize) -> RoomSettings {
        RoomSettings {
            tick_rate: 30,
            world_size: 1000.0,
            view_radius: 300.0,
            capacity,
            empty_grace: Duration::from_secs(1),
            resume_grace: Duration::from_secs(10),
            game: Arc::new(GameSpec::new(|| Arena).unwrap()),
            telemetry: Arc::new(crate::metrics::RoomTelemetry::new(Duration::from_millis(
                33,
            ))),
        }
    }

    /// What a connection's end tells the room.
    async fn disconnect(j: &Joined, resumable: bool) {
        j.commands
            .send(RoomCmd::Disconnected {
                player: j.key,
                conn: j.conn,
                resumable,
            })
            .await
            .expect("the room is running");
    }

    async fn leave(m: &RoomManager, j: &Joined) {
        let before = occupancy(m, j.room);
        disconnect(j, false).await;
        // The room frees the seat on its next tick.
        eventually(|| occupancy(m, j.room) < before).await;
    }

    async fn join(m: &Arc<RoomManager>, name: &str) -> Joined {
        m.join(JoinRequest::named(name))
            .await
            .expect("join should succeed")
    }

    fn occupancy(m: &RoomManager, room: RoomId) -> usize {
        m.rooms()
            .iter()
            .find(|r| r.id == room)
            .map_or(0, |r| r.players)
    }

    /// Lets virtual time pass until `cond` holds; fails after a minute of it.
    async fn eventually(mut cond: impl FnMut() -> bool) {
        for _ in 0..1200 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("condition never held");
    }

    #[tokio::test(start_paused = true)]
    async fn joins_fill_the_first_room_with_space_then_open_another() {
        let (_stop, stopped) = watch::channel(false);
        let m = RoomManager::new(settings(2), stopped);
        let a = join(&m, "a").await;
        let b = join(&m, "b").await;
        let c = join(&m, "c").await;
        assert_eq!(a.room, b.room);
        assert_ne!(a.room, c.room);
        assert_eq!(
            m.rooms(),
            vec![
                RoomInfo {
                    id: a.room,
                    players: 2,
                    open: true,
                },
                RoomInfo {
                    id: c.room,
                    players: 1,
                    open: true,
                }
            ]
        );
        // A seat freed in the first room is taken before the second room's.
        leave(&m, &b).await;
        let d = join(&m, "d").await;
        assert_eq!(d.room, a.room);
    }

    #[tokio::test(start_paused = true)]
    async fn empty_rooms_are_disposed_after_the_grace_time() {
        let (_stop, stopped) = watch::channel(false);
        let m = RoomManager::new(settings(1), stopped);
        let a = join(&m, "a").await;
        let b = join(&m, "b").await;
        leave(&m, &b).await;
        let emptied = tokio::time::Instant::now();
        eventually(|| m.rooms().len() == 1).await;
        assert!(
            emptied.elapsed() >= Duration::from_secs(1),
            "not before the grace time"
        );
        assert_eq!(
            m.rooms(),
            vec![RoomInfo {
                id: a.room,
                players: 1,
                open: true,
            }]
        );
        // The occupied room is never disposed.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(m.rooms().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_player_keeps_its_seat_for_the_resume_grace() {
        let (_stop, stopped) = watch::channel(false);
        let m = RoomManager::new(settings(1), stopped);
        let a = join(&m, "a").await;
        disconnect(&a, true).await;
        // Full meanwhile: a newcomer goes to a second room.
        let b = join(&m, "b").await;
        assert_ne!(b.room, a.room);
        // A resume finds the player; its old token is then spent.
        let back = m
            .resume(a.welcome.session_token)
            .await
            .expect("resume within the grace");
        assert_eq!((back.key, back.welcome.entity), (a.key, a.welcome.entity));
        assert_ne!(back.conn, a.conn);
        assert_eq!(
            m.resume(a.welcome.session_token).await.err(),
            Some(JoinError::InvalidResume)
        );
        // Dropped again and never resumed: the seat frees after the grace.
        disconnect(&back, true).await;
        let again = tokio::time::Instant::now();
        eventually(|| occupancy(&m, a.room) == 0).await;
        assert!(
            again.elapsed() >= Duration::from_secs(10),
            "not before the grace"
        );
        assert_eq!(
            m.resume(back.welcome.session_token).await.err(),
            Some(JoinError::InvalidResume)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn newcomers_of_one_tick_learn_of_each_other() {
        let (_stop, stopped) = watch::channel(false);
        let m = RoomManager::new(settings(10), stopped);
        let first = join(&m, "first").await;
        // Three joins queued before the room's next tick: handled in one.
        let (a, b, c) = tokio::join!(join(&m, "a"), join(&m, "b"), join(&m, "c"));
        let mut joined = [&a, &b, &c];
        joined.sort_by_key(|j| j.key.0);
        for (i, j) in joined.iter().enumerate() {
            let mut listed: Vec<PlayerId> = (0..j.roster.len())
                .filter_map(|k| j.roster.get(k).map(|e| e.player))
                .collect();
            listed.sort_unstable();
            let mut expected: Vec<PlayerId> = std::iter::once(first.welcome.player)
                .chain(joined[..i].iter().map(|e| e.welcome.player))
                .collect();
            expected.sort_unstable();
            assert_eq!(listed, expected, "roster of the newcomer #{i} of the tick");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_join_after_shutdown() {
        let (stop, stopped) = watch::channel(false);
        let m = RoomManager::new(settings(1), stopped);
        stop.send_replace(true);
        assert_eq!(
            m.join(JoinRequest::named("late")).await.err(),
            Some(JoinError::ShuttingDown)
        );
    }
}
