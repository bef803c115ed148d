//! A room's joined connections, served without a task each.
//!
//! After its Welcome, a connection's socket leaves tokio's reactor and is
//! handed to one of its room's shards: a task per room and runtime worker
//! that wakes once per tick and serves each of its connections in turn
//! (read what the client sent until the socket has no more, then one write
//! of its snapshot and whatever else is due), with tungstenite's
//! synchronous WebSocket over the non-blocking socket, which never waits
//! (`session.rs`, `stream.rs`).
//!
//! One wake-up per shard and tick replaces one per connection and tick,
//! and no socket is registered with the reactor while it is served: no
//! epoll event, waker or readiness bookkeeping per client message. The
//! per-connection work left is the game's and the kernel's.
//! Connections are served in the same order every tick (the order they
//! joined), so each client's snapshots stay one tick apart however long the
//! tick's sends take. A multi-threaded runtime gets one shard per worker
//! for each room, so a big room's sends still use every core.
//!
//! When a session ends, a short task of its own says goodbye (`Kicked`, the
//! close frame, a brief wait for the client's) so that the shard never
//! waits on one client.

use super::connection::{Guards, Outcome, Ws, close_out};
use super::listener::Shared;
use super::session::{Session, TickScratch};
use crate::metrics::ShardCounters;
use crate::room::RoomCmd;
use crate::room::frame::Frame;
use snapwire_shared::RoomId;
use snapwire_shared::protocol::close;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::error::SendError;
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

/// A joined connection, as a shard holds it.
pub(super) struct Served {
    pub(super) session: Session,
    pub(super) ws: Ws,
    /// Released when the connection is closed.
    pub(super) guards: Guards,
}

impl Served {
    /// Ends the session on a task of its own.
    fn finish(self: Box<Self>, outcome: Outcome) {
        let Served {
            session,
            mut ws,
            guards,
        } = *self;
        // Boxed, not inline in the task's future: the future lasts for the
        // close's linger, and a mass disconnect holds one per connection.
        let session = Box::new(session);
        tokio::spawn(async move {
            let (peer, shared) = (session.peer(), session.shared().clone());
            // Back in the reactor, for this task to await it; if that
            // fails, nothing more can be sent.
            let outcome = match ws.get_mut().sock().register() {
                Ok(()) => outcome,
                Err(_) => Outcome::Gone,
            };
            session.end(&mut ws, &outcome).await;
            close_out(&mut ws, peer, &shared, outcome).await;
            drop(guards);
        });
    }
}

/// Hands a joined connection to its shard.
///
/// Queues are unbounded: each holds only connections that were admitted
/// (within `--max-connections`), each at most once, until the shard's next
/// wake-up.
type Inbox = mpsc::UnboundedSender<Box<Served>>;

/// The live shards of every room, by room.
#[derive(Debug, Default)]
pub(crate) struct Shards {
    rooms: Mutex<HashMap<RoomId, RoomShards>>,
}

#[derive(Debug)]
struct RoomShards {
    /// The room's tick signal: tells this room from an older one with the
    /// same id whose shards have not noticed yet that it is gone.
    tick: Arc<Notify>,
    inboxes: Arc<[Inbox]>,
}

impl Shards {
    /// Gives `served` to a shard of its room, starting the room's shards if
    /// they are not running.
    pub(super) fn hand_off(&self, shared: &Arc<Shared>, served: Box<Served>) {
        let joined = served.session.joined();
        let inbox = {
            let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
            let live = rooms.get(&joined.room).filter(|r| {
                Arc::ptr_eq(&r.tick, &joined.tick) && r.inboxes.iter().all(|i| !i.is_closed())
            });
            let inboxes = match live {
                Some(r) => r.inboxes.clone(),
                None => {
                    let inboxes = Shard::start(shared, &served.session);
                    rooms.insert(
                        joined.room,
                        RoomShards {
                            tick: joined.tick.clone(),
                            inboxes: inboxes.clone(),
                        },
                    );
                    inboxes
                }
            };
            // Connection numbers count up in each room: round robin.
            inboxes[joined.conn as usize % inboxes.len()].clone()
        };
        if let Err(SendError(served)) = inbox.send(served) {
            served.finish(Outcome::close(close::GOING_AWAY, "room closed"));
        }
    }

    /// Forgets a room's shards, if they are still the ones registered.
    fn forget(&self, room: RoomId, tick: &Arc<Notify>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if rooms.get(&room).is_some_and(|r| Arc::ptr_eq(&r.tick, tick)) {
            rooms.remove(&room);
        }
    }
}

/// One shard: some of a room's connections, served once per tick.
struct Shard {
    shared: Arc<Shared>,
    room: RoomId,
    frames: watch::Receiver<Arc<Frame>>,
    tick: Arc<Notify>,
    /// Completes `closed()` when the room has stopped.
    commands: mpsc::Sender<RoomCmd>,
    inbox: mpsc::UnboundedReceiver<Box<Served>>,
    /// In the order they joined: the order they are served. Boxed: a
    /// session is about a kilobyte, and each departure shifts those after it.
    #[allow(clippy::vec_box)]
    served: Vec<Box<Served>>,
    /// When draining: when connections will be closed.
    drain: Option<Instant>,
    /// Where each connection's snapshot is built, one after another.
    scratch: TickScratch,
    /// Where the shard publishes its tally once per tick.
    counters: Arc<ShardCounters>,
}

impl Shard {
    /// Starts a room's shards, one per runtime worker.
    fn start(shared: &Arc<Shared>, session: &Session) -> Arc<[Inbox]> {
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        let joined = session.joined();
        (0..workers.max(1))
            .map(|_| {
                let (inbox, rx) = mpsc::unbounded_channel();
                let (counters, tally) = shared.metrics.shards.add();
                let shard = Shard {
                    counters,
                    shared: shared.clone(),
                    room: joined.room,
                    frames: joined.frames.clone(),
                    tick: joined.tick.clone(),
                    commands: joined.commands.clone(),
                    inbox: rx,
                    served: Vec::new(),
                    drain: None,
                    scratch: TickScratch::new(tally),
                };
                // Outside tokio's cooperative budget: a tick's pass makes
                // several socket polls per connection, and past the budget
                // (128 per wake-up) tokio would answer "not ready" to the
                // rest of the pass. The pass is bounded by itself: one
                // visit per connection, then the shard waits for the tick
                // (other tasks on its worker wait for the pass, as they
                // would for the same work spread over many tasks).
                tokio::spawn(tokio::task::unconstrained(shard.run()));
                inbox
            })
            .collect()
    }

    async fn run(mut self) {
        let mut shutdown = self.shared.shutdown.clone();
        let mut drain = self.shared.drain.clone();
        let (tick, commands) = (self.tick.clone(), self.commands.clone());
        let reason = loop {
            // Register for the room's next tick before looking for a frame
            // published meanwhile, so that neither is missed.
            let next_tick = tick.notified();
            tokio::pin!(next_tick);
            next_tick.as_mut().enable();
            let Ok(published) = self.frames.has_changed() else {
                break "room closed";
            };
            tokio::select! {
                biased;
                _ = super::stopped(&mut shutdown) => break close::REASON_SHUTDOWN,
                () = commands.closed() => break "room closed",
                Ok(()) = drain.changed() => {
                    self.drain = *drain.borrow_and_update();
                    if let Some(deadline) = self.drain {
                        for s in &mut self.served {
                            s.session.notice_drain(deadline);
                        }
                    }
                }
                () = std::future::ready(()), if published => self.serve_tick(),
                () = &mut next_tick => self.serve_tick(),
                Some(served) = self.inbox.recv() => {
                    self.adopt(served);
                    while let Ok(served) = self.inbox.try_recv() {
                        self.adopt(served);
                    }
                }
            }
        };
        // Whoever is here or on the way is closed with the reason.
        self.inbox.close();
        while let Ok(served) = self.inbox.try_recv() {
            self.served.push(served);
        }
        for served in self.served.drain(..) {
            served.finish(Outcome::close(close::GOING_AWAY, reason));
        }
        self.publish();
        self.shared.metrics.shards.retire(&self.counters);
        self.shared.shards.forget(self.room, &self.tick);
    }

    /// Takes a newly joined connection; it gets its first snapshot now if
    /// the room has published a frame since it joined.
    fn adopt(&mut self, mut served: Box<Served>) {
        if let Some(deadline) = self.drain {
            served.session.notice_drain(deadline);
        }
        let frame = self.frames.borrow().clone();
        self.scratch.tally.begin_pass(frame.published);
        if frame
            .tick
            .is_newer_than(served.session.joined().welcome.tick)
            && let Err(outcome) =
                served
                    .session
                    .on_tick(&mut served.ws, &frame, Instant::now(), &mut self.scratch)
        {
            served.finish(outcome);
            return;
        }
        self.served.push(served);
        self.publish();
    }

    /// Makes this shard's counts visible to scrapes: a few plain stores,
    /// once per tick, instead of an atomic per message.
    fn publish(&self) {
        self.counters
            .publish(&self.scratch.tally, self.served.len());
    }

    /// Serves every connection the newest frame, in order; closes those
    /// whose session ended.
    fn serve_tick(&mut self) {
        let frame = self.frames.borrow_and_update().clone();
        let now = Instant::now();
        self.scratch.tally.begin_pass(frame.published);
        // `extract_if` visits every connection in order, serving each, and
        // takes out those whose session ended, keeping the others' order.
        let mut ended = Vec::new();
        let scratch = &mut self.scratch;
        let finished = self.served.extract_if(.., |s| {
            match s.session.on_tick(&mut s.ws, &frame, now, scratch) {
                Ok(()) => false,
                Err(outcome) => {
                    ended.push(outcome);
                    true
                }
            }
        });
        let finished: Vec<_> = finished.collect();
        for (served, outcome) in finished.into_iter().zip(ended) {
            served.finish(outcome);
        }
        self.publish();
    }
}
