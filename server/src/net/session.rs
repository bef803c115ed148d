//! A joined player's connection: what one tick does for it (read the
//! client's messages, check its health, write its snapshot), and its
//! welcome and goodbye.
//!
//! A tick's work never waits: it is run by the room's shard (`shard.rs`)
//! for each of its connections in turn. Reads take whatever the client sent
//! since the last tick, without waiting and without the socket ever waking
//! anything. A snapshot is written only if the socket has taken everything
//! written before; otherwise the tick is skipped for this client (latest
//! wins: the next snapshot is built from the newest frame, as a delta
//! against what this client was actually sent), and a socket that stays
//! full for the stall timeout ends the session.

use super::connection::{Outcome, Ws, decode, read_failure, text_frame};
use super::limits::TokenBucket;
use super::listener::Shared;
use super::stream::{OpCode, frame_into};
use crate::game::{Audience, Outgoing};
use crate::metrics::Tally;
use crate::room::frame::Frame;
use crate::room::{Event, Joined, PlayerKey, RoomCmd, Roster};
use crate::stats::Violation;
use crate::view::{ClientView, ViewScratch};
use snapwire_shared::codec;
use snapwire_shared::protocol::GameMsg;
use snapwire_shared::protocol::close;
use snapwire_shared::{ClientMsg, PlayerId, ServerEvent, ServerMsg, Tick};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tracing::{info, warn};

/// Tells the room when the connection ends, however it ends: the player
/// leaves at once, or (`resumable`) waits for the resume grace.
struct Seat {
    commands: mpsc::Sender<RoomCmd>,
    key: PlayerKey,
    conn: u32,
    /// Whether the player may come back with its session token; true until
    /// the session ends by `Leave` or by breaking a rule.
    resumable: bool,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let leave = RoomCmd::Disconnected {
            player: self.key,
            conn: self.conn,
            resumable: self.resumable,
        };
        if let Err(TrySendError::Full(leave)) = self.commands.try_send(leave) {
            // The room drains its queue every tick; wait for space off-task.
            let commands = self.commands.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = commands.send(leave).await;
                });
            }
        }
    }
}

/// Whether a session that ended this way may be resumed: a dropped or
/// stalled connection may (the usual mobile blip), a `Leave`, a replaced
/// session or a client closed for breaking the rules may not.
fn resumable(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Gone | Outcome::PeerClosed => true,
        Outcome::Close(_, _, Some(kind)) => matches!(kind, Violation::Idle | Violation::Stalled),
        Outcome::Close(code, _, None) => *code == close::GOING_AWAY,
    }
}

/// Reliable events sent with one snapshot at most. A newcomer to a room of
/// 2,000 gets its roster in 8 snapshots; with 64 it took 32, and for that
/// second every newcomer of a join burst queued the others' joins behind
/// its roster (1 KiB per player of peak memory at 2,000).
const MAX_EVENTS_PER_SNAPSHOT: usize = 256;
/// Events are rare once the roster is delivered: keep room for a few (an
/// event is ~40 bytes; 64 kept in two queues cost ~5 KiB per connection).
const KEEP_EVENTS: usize = 8;

/// Where a shard builds its connections' snapshots, one after another:
/// kept from one connection and tick to the next, so that a snapshot
/// allocates only its message.
#[derive(Debug)]
pub(super) struct TickScratch {
    view: ViewScratch,
    /// Holds the largest snapshot the shard has encoded, plus the writer's
    /// worst-case headroom.
    encoded: Vec<u8>,
    /// What the shard sent and received, for its metrics.
    pub(super) tally: Tally,
    /// The frames due to the connection being served this tick (pongs, a
    /// ping, messages, the snapshot), written with one write.
    frames: Vec<u8>,
}

impl TickScratch {
    pub(super) fn new(tally: Tally) -> Self {
        TickScratch {
            view: ViewScratch::default(),
            encoded: Vec::new(),
            tally,
            frames: Vec::new(),
        }
    }
}

/// A joined player's connection state.
pub(super) struct Session {
    peer: SocketAddr,
    shared: Arc<Shared>,
    joined: Joined,
    seat: Seat,
    view: ClientView,
    /// A `ServerDraining` to send with the next snapshot.
    drain_notice: Option<ServerEvent>,
    /// Everyone present at join, announced first, a few per snapshot.
    roster: Roster,
    /// How much of `roster` has been sent.
    roster_sent: usize,
    /// Events waiting for the frame that reflects them, so that a
    /// `PlayerLeft` arrives in the same snapshot as the entity's removal.
    pending_events: VecDeque<(Tick, Event)>,
    /// Most events `pending_events` may hold: the join roster plus the
    /// room's event buffer. Events arrive faster than they can leave only if
    /// the room changes by more than 256 players a tick for a long time.
    backlog_limit: usize,
    /// Events going out with the current snapshot.
    due_events: Vec<ServerEvent>,
    /// Game messages going out with the current snapshot (those for the
    /// viewers of an entity are checked against its view once built).
    due_messages: Vec<Arc<Outgoing>>,
    /// Client message rate limit.
    bucket: TokenBucket,
    /// When the client last sent anything (idle timeout).
    last_heard: Instant,
    /// When the client last answered a WebSocket Ping (stall timeout).
    last_pong: Instant,
    /// When the server last sent a WebSocket Ping.
    last_ping: Instant,
    /// Since when the socket has not taken everything written to it.
    blocked_since: Option<Instant>,
    /// Whether the socket had taken everything written before this tick
    /// (`writable`): only then is anything new queued this tick.
    clear: bool,
    /// Inputs dropped because the room was behind.
    inputs_dropped: u64,
    /// When the last snapshot was written, in the shard tally's clock
    /// (0: none yet), for the gap metric.
    last_snapshot: u64,
}

impl Session {
    pub(super) fn new(peer: SocketAddr, shared: Arc<Shared>, mut joined: Joined) -> Self {
        let seat = Seat {
            commands: joined.commands.clone(),
            key: joined.key,
            conn: joined.conn,
            resumable: true,
        };
        let now = Instant::now();
        let cfg = &shared.config;
        Session {
            peer,
            backlog_limit: joined.roster.len() + crate::room::event_buffer(cfg.room_capacity),
            roster: std::mem::take(&mut joined.roster),
            roster_sent: 0,
            pending_events: VecDeque::new(),
            joined,
            seat,
            drain_notice: None,
            view: ClientView::new(cfg.view_radius),
            due_events: Vec::new(),
            due_messages: Vec::new(),
            bucket: TokenBucket::new(cfg.input_rate, cfg.input_burst.max(1.0)),
            last_heard: now,
            last_pong: now,
            last_ping: now,
            blocked_since: None,
            clear: false,
            inputs_dropped: 0,
            last_snapshot: 0,
            shared,
        }
    }

    fn player(&self) -> PlayerId {
        self.joined.welcome.player
    }

    pub(super) fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub(super) fn joined(&self) -> &Joined {
        &self.joined
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Writes one message, or gives up after the stall timeout: a socket
    /// that accepts nothing for that long belongs to a client that stopped
    /// reading, and its buffers stay bounded meanwhile (tungstenite's write
    /// buffer cap, the kernel's socket buffer).
    async fn write(&self, ws: &mut Ws, msg: Message) -> Result<(), Outcome> {
        match timeout(
            self.shared.config.stall_timeout,
            super::stream::send(ws, msg),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Outcome::Gone),
            Err(_) => Err(self.write_stalled()),
        }
    }

    /// A write that did not complete within the stall timeout: counted,
    /// and the connection is given up (not even a close frame would go out).
    fn write_stalled(&self) -> Outcome {
        self.shared
            .config
            .stats
            .violation(Violation::Stalled, self.peer, "write did not complete");
        Outcome::Gone
    }

    /// Logs the join and sends the Welcome; the shard takes it from here.
    pub(super) async fn start(&mut self, ws: &mut Ws) -> Result<(), Outcome> {
        let (peer, player, room) = (self.peer, self.player(), self.joined.room);
        let resumed = self.joined.resumed;
        info!(%peer, %player, %room, entity = %self.joined.welcome.entity, resumed, "player joined");
        let welcome = ServerMsg::Welcome(self.joined.welcome.clone());
        self.encode_and_write(ws, &welcome).await?;
        // The descriptor, encoded once per game.
        let schema = self.shared.config.game.schema_msg();
        self.write(ws, Message::Binary(Bytes::copy_from_slice(schema)))
            .await
    }

    /// Ends the session: says why to the client (in-band, before the close
    /// frame the caller sends) and tells the room, which keeps the player
    /// for the resume grace if the session may be resumed.
    pub(super) async fn end(mut self: Box<Self>, ws: &mut Ws, outcome: &Outcome) {
        let (peer, player, room) = (self.peer, self.player(), self.joined.room);
        self.seat.resumable = resumable(outcome);
        info!(%peer, %player, %room, inputs_dropped = self.inputs_dropped, last_tick = self.view.base_tick().0, resumable = self.seat.resumable, "player left");
        // In-band as well as in the close frame, for clients whose WebSocket
        // API hides close reasons.
        if let Outcome::Close(code, reason, _) = outcome
            && *code != close::NORMAL
        {
            let kicked = ServerMsg::Kicked {
                reason: reason.to_string(),
            };
            let _ = self.encode_and_write(ws, &kicked).await;
        }
        // Dropping the seat tells the room.
    }

    /// The server is draining: tell the client with its next snapshot.
    pub(super) fn notice_drain(&mut self, deadline: Instant) {
        let left = deadline.saturating_duration_since(Instant::now());
        self.drain_notice = Some(ServerEvent::ServerDraining {
            closes_in_ms: u32::try_from(left.as_millis()).unwrap_or(u32::MAX),
        });
    }

    fn encode(&self, msg: &ServerMsg) -> Result<Vec<u8>, Outcome> {
        codec::server_to_vec(msg).map_err(|error| {
            warn!(peer = %self.peer, %error, "encoding failed");
            Outcome::close(close::INTERNAL_ERROR, "internal error")
        })
    }

    async fn encode_and_write(&self, ws: &mut Ws, msg: &ServerMsg) -> Result<(), Outcome> {
        let bytes = self.encode(msg)?;
        self.write(ws, Message::Binary(bytes.into())).await
    }

    /// Whether the socket has taken everything written to it so far (what
    /// is left of an earlier tick's write is written now), so that a new
    /// message goes out now rather than queueing behind others. Never
    /// waits. A socket that has taken nothing for the stall timeout belongs
    /// to a client that stopped reading: the session ends.
    fn writable(&mut self, ws: &mut Ws, now: Instant) -> Result<bool, Outcome> {
        match ws.flush() {
            Ok(()) => {
                self.blocked_since = None;
                Ok(true)
            }
            Err(e) if !super::stream::would_block(&e) => Err(Outcome::Gone),
            Err(_) => {
                let since = *self.blocked_since.get_or_insert(now);
                if now.duration_since(since) >= self.shared.config.stall_timeout {
                    return Err(self.write_stalled());
                }
                Ok(false)
            }
        }
    }

    /// One tick: read what the client sent, then send it its snapshot of
    /// `frame`, with whatever else is due, in one write. Never waits: what
    /// the socket does not take stays queued, and is written first next
    /// tick (no snapshot joins it until it is out).
    pub(super) fn on_tick(
        &mut self,
        ws: &mut Ws,
        frame: &Arc<Frame>,
        now: Instant,
        scratch: &mut TickScratch,
    ) -> Result<(), Outcome> {
        ws.get_mut().sock().begin_pass();
        scratch.frames.clear();
        // What an earlier tick left unwritten goes first.
        self.clear = self.writable(ws, now)?;
        self.drain_messages(ws, frame.tick, now, scratch)?;
        if !self.view.base_tick().is_some() || frame.tick.is_newer_than(self.view.base_tick()) {
            self.on_frame(frame, now, scratch)?;
        }
        // Else already sent (a connection adopted mid-tick got it then);
        // a Pong may still be due. Nothing is due unless `clear`.
        if scratch.frames.is_empty() {
            return Ok(());
        }
        // The tick's one write.
        ws.get_mut()
            .write_frames(&scratch.frames)
            .map_err(|_| Outcome::Gone)
    }

    /// Handles every message the client has sent since the last tick,
    /// without waiting for more.
    ///
    /// Reads are batched once per tick, not woken per input, which saves a
    /// task wake-up, a poll and a read syscall per client message. The
    /// socket belongs to the shard and is registered nowhere, so incoming
    /// data never schedules anything. An input waits at most one tick
    /// longer to reach the room; the rate limit bounds how much one drain
    /// can find.
    fn drain_messages(
        &mut self,
        ws: &mut Ws,
        tick: Tick,
        now: Instant,
        scratch: &mut TickScratch,
    ) -> Result<(), Outcome> {
        loop {
            match ws.read() {
                Ok(msg) => {
                    if let Message::Binary(b) = &msg {
                        scratch.tally.received(b.len());
                    }
                    self.on_message(msg, tick, now, scratch)?;
                }
                Err(e) if super::stream::would_block(&e) => return Ok(()),
                Err(e) => return Err(read_failure(&e)),
            }
        }
    }

    /// A new frame: check the client's health, then send it its snapshot.
    fn on_frame(
        &mut self,
        frame: &Arc<Frame>,
        now: Instant,
        scratch: &mut TickScratch,
    ) -> Result<(), Outcome> {
        let cfg = &self.shared.config;
        // Checked once per tick rather than with timers per connection:
        // frames arrive 30 times a second anyway.
        if now.duration_since(self.last_heard) >= cfg.idle_timeout {
            return Err(Outcome::violation(
                Violation::Idle,
                close::POLICY_VIOLATION,
                close::REASON_IDLE,
            ));
        }
        if now.duration_since(self.last_pong) >= cfg.stall_timeout {
            return Err(Outcome::violation(
                Violation::Stalled,
                close::POLICY_VIOLATION,
                close::REASON_NOT_READING,
            ));
        }
        // A frame after this connection's admission names the connection in
        // control of the player; another one means the session was resumed
        // on a new connection (or the player is gone).
        if frame.moved {
            return Err(Outcome::close(close::ROOM_MOVED, close::REASON_ROOM_MOVED));
        }
        if frame.tick.is_newer_than(self.joined.welcome.tick)
            && frame.players.get(self.joined.key.0).map(|p| p.conn) != Some(self.joined.conn)
        {
            return Err(Outcome::close(
                close::SESSION_REPLACED,
                close::REASON_REPLACED,
            ));
        }
        loop {
            match self.joined.events.try_recv() {
                Ok(e) => {
                    // Another player's message is not this client's to
                    // queue: only what it will be sent counts against its
                    // backlog.
                    if let (_, Event::Game(m)) = &e
                        && let Audience::Player(p) = m.to
                        && p != self.player()
                    {
                        continue;
                    }
                    if self.pending_events.len() >= self.backlog_limit {
                        return Err(Outcome::violation(
                            Violation::Lagging,
                            close::POLICY_VIOLATION,
                            close::REASON_LAGGING,
                        ));
                    }
                    self.pending_events.push_back(e);
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                Err(TryRecvError::Lagged(_)) => {
                    return Err(Outcome::violation(
                        Violation::Lagging,
                        close::POLICY_VIOLATION,
                        close::REASON_LAGGING,
                    ));
                }
            }
        }
        if !self.clear {
            // Latest wins: no snapshot this tick; the next one is a delta
            // from what this client was last sent.
            return Ok(());
        }
        if now.duration_since(self.last_ping) >= self.shared.config.stall_timeout / 4 {
            self.last_ping = now;
            frame_into(&mut scratch.frames, OpCode::Ping, b"sw");
        }
        // At most MAX_EVENTS_PER_SNAPSHOT ride on one snapshot: a backlog
        // (the roster of a big room on join) is spread over the next few,
        // so no message, and no connection's write buffer, grows with the
        // room (tungstenite keeps the capacity of the largest message).
        self.due_events.extend(self.drain_notice.take());
        while self.due_events.len() < MAX_EVENTS_PER_SNAPSHOT {
            let Some(e) = self.roster.get(self.roster_sent) else {
                // Delivered: let the shared list go.
                if !self.roster.is_empty() {
                    self.roster = Roster::default();
                    self.roster_sent = 0;
                }
                break;
            };
            self.due_events.push(e.event());
            self.roster_sent += 1;
        }
        let me = self.player();
        while self.due_events.len() + self.due_messages.len() < MAX_EVENTS_PER_SNAPSHOT
            && self
                .pending_events
                .front()
                .is_some_and(|(t, _)| !t.is_newer_than(frame.tick))
        {
            match self.pending_events.pop_front().map(|(_, e)| e) {
                Some(Event::Server(e)) => self.due_events.push(Arc::unwrap_or_clone(e)),
                Some(Event::Game(m)) => {
                    if let Audience::Player(p) = m.to
                        && p != me
                    {
                        continue;
                    }
                    if m.immediate {
                        let msg = ServerMsg::Message(GameMsg(m.bytes.to_vec()));
                        let bytes = self.encode(&msg)?;
                        scratch.tally.sent(bytes.len());
                        frame_into(&mut scratch.frames, OpCode::Binary, &bytes);
                    } else {
                        self.due_messages.push(m);
                    }
                }
                None => break,
            }
        }
        // Encoded into the shard's buffer, then copied out at its exact
        // size: one allocation per message, which tungstenite frees once it
        // has framed it. (Encoding into the message's own `Vec` grew it to
        // the writer's worst case and left spare capacity, which `Bytes`
        // turns into a second allocation.)
        let buf = &mut scratch.encoded;
        buf.clear();
        self.view
            .encode_next(frame, self.joined.key.0, &mut scratch.view, buf);
        let view = &self.view;
        let messages: Vec<&[u8]> = self
            .due_messages
            .iter()
            .filter(|m| match m.to {
                Audience::Viewers(e) => view.sees(e),
                _ => true,
            })
            .map(|m| &m.bytes[..])
            .collect();
        let has_messages = !self.shared.config.game.layouts().server_messages.is_empty();
        let messages = has_messages.then_some(&messages[..]);
        if let Err(error) = codec::parts::snapshot_tail(&self.due_events, messages, buf) {
            warn!(peer = %self.peer, player = %self.player(), %error, "snapshot encoding failed");
            return Err(Outcome::close(close::INTERNAL_ERROR, "internal error"));
        }
        self.due_events.clear();
        self.due_messages.clear();
        let bytes = buf.len();
        frame_into(&mut scratch.frames, OpCode::Binary, buf);
        scratch.tally.snapshot(bytes, &mut self.last_snapshot);
        if self.due_events.capacity() > KEEP_EVENTS {
            self.due_events.shrink_to(KEEP_EVENTS);
        }
        if self.pending_events.capacity() > KEEP_EVENTS && self.pending_events.len() <= KEEP_EVENTS
        {
            self.pending_events.shrink_to(KEEP_EVENTS);
        }
        Ok(())
    }

    /// One message from the client.
    fn on_message(
        &mut self,
        msg: Message,
        tick: Tick,
        now: Instant,
        scratch: &mut TickScratch,
    ) -> Result<(), Outcome> {
        let bytes = match msg {
            Message::Binary(b) => b,
            Message::Text(_) => return Err(text_frame()),
            Message::Close(_) => return Err(Outcome::PeerClosed),
            Message::Pong(_) => {
                self.last_pong = now;
                return Ok(());
            }
            // tungstenite answers pings itself; behind a full socket only a
            // few answers are kept (`stream::MAX_WS_BACKLOG`, then the
            // connection fails), so a ping flood costs reads, not memory,
            // and the idle timer does not count it as a sign of life.
            Message::Ping(_) | Message::Frame(_) => return Ok(()),
        };
        self.last_heard = now;
        if !self.bucket.take(now) {
            return Err(Outcome::violation(
                Violation::RateLimited,
                close::POLICY_VIOLATION,
                close::REASON_RATE_LIMIT,
            ));
        }
        match decode(&bytes, self.shared.config.max_message_bytes)? {
            ClientMsg::Input(msg) => {
                let input = self
                    .shared
                    .config
                    .game
                    .check_input(&msg.fields)
                    .map_err(|reason| {
                        Outcome::violation(Violation::InvalidValue, close::INVALID_PAYLOAD, reason)
                    })?;
                match self.joined.commands.try_send(RoomCmd::Input {
                    player: self.joined.key,
                    seq: msg.seq,
                    input,
                }) {
                    Ok(()) => Ok(()),
                    // The room is behind; an input is worth less than a
                    // stalled connection. The next one replaces it.
                    Err(TrySendError::Full(_)) => {
                        self.inputs_dropped += 1;
                        self.shared
                            .config
                            .stats
                            .inputs_dropped
                            .fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                    Err(TrySendError::Closed(_)) => {
                        Err(Outcome::close(close::GOING_AWAY, "room closed"))
                    }
                }
            }
            ClientMsg::Ping { client_time } => {
                // Answered if the socket is keeping up; a client that is
                // not reading loses its pongs, not the server's memory.
                if !self.clear {
                    return Ok(());
                }
                let pong = ServerMsg::Pong {
                    client_time,
                    server_tick: tick,
                };
                let pong = self.encode(&pong)?;
                scratch.tally.sent(pong.len());
                frame_into(&mut scratch.frames, OpCode::Binary, &pong);
                Ok(())
            }
            ClientMsg::Leave => Err(Outcome::close(close::NORMAL, close::REASON_BYE)),
            ClientMsg::Message(GameMsg(bytes)) => {
                let layouts = self.shared.config.game.layouts();
                let mut fields = codec::Fields::default();
                let ty = codec::decode_message(&layouts.client_messages, &bytes, &mut fields)
                    .map_err(|e| {
                        let reason = match e {
                            codec::DecodeError::OutOfRange { field } => {
                                format!("message field {field} out of range")
                            }
                            other => other.to_string(),
                        };
                        Outcome::violation(Violation::InvalidValue, close::INVALID_PAYLOAD, reason)
                    })?;
                let cmd = RoomCmd::Message {
                    player: self.joined.key,
                    ty,
                    fields,
                };
                match self.joined.commands.try_send(cmd) {
                    Ok(()) => Ok(()),
                    // Reliable: never dropped. A room this far behind
                    // cannot take the client's messages.
                    Err(TrySendError::Full(_)) => {
                        Err(Outcome::close(close::TRY_AGAIN_LATER, "room busy"))
                    }
                    Err(TrySendError::Closed(_)) => {
                        Err(Outcome::close(close::GOING_AWAY, "room closed"))
                    }
                }
            }
            ClientMsg::Hello { .. } => Err(Outcome::violation(
                Violation::OutOfOrder,
                close::PROTOCOL_ERROR,
                close::REASON_DUPLICATE_HELLO,
            )),
        }
    }
}
