//! The loop driver: one loop per thread over non-blocking sockets (mio),
//! each thread owning its bots. No task, no waker, no timer wheel: a bot is
//! a state machine in a `Vec`, its socket a token in the thread's `Poll`,
//! its clock an entry in the thread's heap; the game is the task driver's
//! own [`Play`].
//!
//! Everything is non-blocking, the join included: the server answers a
//! Hello at its next tick, so a blocking join would stall every other bot
//! of the thread for up to a tick, and a serial ramp of thousands of joins
//! would take longer than the ramp.

use crate::bot::{BotConfig, JOIN_TIMEOUT, LEAVE_TIMEOUT, Shared, Window};
use crate::client::{ClientError, ws_config};
use crate::play::Play;
use crate::stats::{Counters, SampleBuf};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use snapwire_shared::codec;
use snapwire_shared::mirror::Mirror;
use snapwire_shared::protocol::{PROTOCOL_VERSION, SUBPROTOCOL};
use snapwire_shared::{ClientMsg, ServerMsg, Welcome};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{ClientHandshake, Request};
use tokio_tungstenite::tungstenite::handshake::{HandshakeError, MidHandshake};
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::{self, Bytes, Message, WebSocket};

/// Readiness events taken per wake-up (as tokio does).
const EVENTS: usize = 1024;
/// Every bot's socket is read (and its writes flushed) this often even
/// without an event: a safety net under the drained-socket shortcut of
/// [`Conn`], at the cost of one empty read per bot per period.
const SWEEP: Duration = Duration::from_secs(1);
/// Until the window is fixed the loop looks for it at least this often.
const WINDOW_POLL: Duration = Duration::from_millis(5);

/// Why the loop driver cannot run a swarm configured so, if it cannot.
pub fn unsupported(cfg: &crate::SwarmConfig) -> Option<&'static str> {
    if cfg.url.starts_with("wss:") {
        Some("the loop driver does not do TLS (wss://); use --driver tasks")
    } else if cfg.matchmake.is_some() {
        Some("the loop driver does not matchmake; use --driver tasks")
    } else if cfg.chaos_drop > 0.0 {
        Some("the loop driver does not do chaos drops; use --driver tasks")
    } else {
        None
    }
}

/// A bot's socket. It remembers when a read came back short, which on a
/// stream socket means the kernel had nothing more: until the next
/// readiness event it answers `WouldBlock` itself instead of asking the
/// kernel (an edge-triggered event comes for any data that arrives later).
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    /// The last read emptied the socket.
    drained: bool,
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.drained {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let read = self.stream.read(buf);
        match &read {
            Ok(n) if *n < buf.len() => self.drained = true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.drained = true,
            _ => {}
        }
        read
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Where a bot's connection is.
#[derive(Debug)]
enum Link {
    /// Not started (the ramp-up has not reached it).
    Idle,
    /// TCP connect in progress.
    Connecting(Conn),
    /// WebSocket upgrade in progress.
    Handshaking(MidHandshake<ClientHandshake<Conn>>),
    /// Hello sent; waiting for Welcome, then the schema.
    Joining {
        ws: WebSocket<Conn>,
        welcome: Option<Welcome>,
    },
    /// Joined: mirrors, predicts and sends inputs.
    Playing {
        ws: WebSocket<Conn>,
        play: Box<Play>,
    },
    /// Leave and close sent; waiting for the server to close.
    Leaving(WebSocket<Conn>),
    /// Finished (joined and left, failed, or disconnected).
    Done,
}

impl Link {
    fn conn(&mut self) -> Option<&mut Conn> {
        match self {
            Link::Connecting(conn) => Some(conn),
            Link::Handshaking(mid) => Some(mid.get_mut().get_mut()),
            Link::Joining { ws, .. } | Link::Playing { ws, .. } | Link::Leaving(ws) => {
                Some(ws.get_mut())
            }
            Link::Idle | Link::Done => None,
        }
    }
}

/// One bot of a loop thread.
#[derive(Debug)]
struct LoopBot {
    cfg: BotConfig,
    /// When the ramp-up starts it.
    start: Instant,
    link: Link,
    c: Counters,
    samples: SampleBuf,
    /// Joining: the join timeout; leaving: the close timeout.
    deadline: Instant,
    /// A write hit `WouldBlock` and waits in tungstenite's buffer.
    unflushed: bool,
    /// Invalidates the bot's older heap entries.
    timer_gen: u32,
}

impl LoopBot {
    /// When the bot's clock next needs the loop.
    fn wake_at(&self) -> Option<Instant> {
        match &self.link {
            Link::Idle => Some(self.start),
            Link::Connecting(_) | Link::Handshaking(_) | Link::Joining { .. } => {
                Some(self.deadline)
            }
            Link::Playing { play, .. } => Some(play.clock_deadline()),
            Link::Leaving(_) => Some(self.deadline),
            Link::Done => None,
        }
    }

    /// A bot that never joined.
    fn fail(&mut self, shared: &Shared, why: String) {
        self.c.failed = 1;
        self.c.last_error = Some(why);
        shared.live_errors.fetch_add(1, Ordering::Relaxed);
        shared.settle();
        self.link = Link::Done;
    }

    /// A joined bot that lost its connection.
    fn disconnect(&mut self, shared: &Shared, e: &ClientError) {
        self.c.disconnected = 1;
        self.c.last_error = Some(e.to_string());
        shared.live_errors.fetch_add(1, Ordering::Relaxed);
        self.link = Link::Done;
    }
}

/// A loop thread: its bots, its poll, its timers.
struct LoopThread<'a> {
    shared: &'a Shared,
    stop: &'a AtomicBool,
    addr: Option<SocketAddr>,
    poll: Poll,
    bots: Vec<LoopBot>,
    /// `(when, bot, generation)`: at most one live entry per bot.
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    /// Reused encode buffer.
    buf: Vec<u8>,
    window: Option<Window>,
    /// Bots told to leave (the window ended).
    leaving: bool,
}

/// Runs `bots` (each with the time the ramp-up starts it) on the calling
/// thread until they have left after the window's end (or `stop` is set),
/// and returns their summed counters.
pub fn run_thread(
    bots: Vec<(Instant, BotConfig)>,
    shared: &Shared,
    stop: &AtomicBool,
) -> io::Result<Counters> {
    let addr = bots.first().and_then(|(_, b)| resolve(&b.url));
    let mut d = LoopThread {
        shared,
        stop,
        addr,
        poll: Poll::new()?,
        bots: bots
            .into_iter()
            .map(|(start, cfg)| LoopBot {
                cfg,
                start,
                link: Link::Idle,
                c: Counters::default(),
                samples: SampleBuf::default(),
                deadline: start,
                unflushed: false,
                timer_gen: 0,
            })
            .collect(),
        timers: BinaryHeap::new(),
        buf: Vec::with_capacity(64),
        window: None,
        leaving: false,
    };
    for (i, b) in d.bots.iter().enumerate() {
        d.timers.push(Reverse((b.start, i, 0)));
    }
    d.run()?;
    let mut total = Counters::default();
    for b in &mut d.bots {
        b.samples.flush(&shared.samples);
        total.add(&b.c);
    }
    Ok(total)
}

/// The first address of a `ws://host:port/...` URL.
fn resolve(url: &str) -> Option<SocketAddr> {
    let req = url.into_client_request().ok()?;
    let uri = req.uri();
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    (host, port).to_socket_addrs().ok()?.next()
}

impl LoopThread<'_> {
    fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        let mut next_sweep = Instant::now() + SWEEP;
        loop {
            let now = Instant::now();
            let mut timeout = self
                .timers
                .peek()
                .map_or(WINDOW_POLL, |Reverse((t, _, _))| {
                    t.saturating_duration_since(now)
                })
                .min(next_sweep.saturating_duration_since(now));
            match self.window {
                None => timeout = timeout.min(WINDOW_POLL),
                Some(w) if !self.leaving => {
                    timeout = timeout.min(w.end.saturating_duration_since(now));
                }
                Some(_) => {}
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(e);
            }
            // One time stamp per wake-up.
            let now = Instant::now();
            if self.window.is_none() {
                self.window = *self.shared.window.borrow();
            }
            for event in events.iter() {
                let i = event.token().0;
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                self.drive(i, now, readable);
            }
            if now >= next_sweep {
                next_sweep = now + SWEEP;
                for i in 0..self.bots.len() {
                    self.drive(i, now, true);
                }
            }
            self.fire_timers(now);
            if !self.leaving && self.window.is_some_and(|w| now >= w.end) {
                self.leave_all(now);
            }
            let all_done = || self.bots.iter().all(|b| matches!(b.link, Link::Done));
            if (self.leaving && all_done()) || self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
    }

    fn counted(&self, now: Instant) -> bool {
        self.window.is_some_and(|w| w.contains(now))
    }

    /// Handles the bots whose clocks are due.
    fn fire_timers(&mut self, now: Instant) {
        while let Some(&Reverse((t, i, timer_gen))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            if self.bots[i].timer_gen != timer_gen {
                continue;
            }
            if self.bots[i].wake_at().is_some_and(|w| w <= now) {
                self.on_clock(i, now);
            }
            if let Some(w) = self.bots[i].wake_at() {
                let timer_gen = self.bots[i].timer_gen;
                self.timers.push(Reverse((w.max(now), i, timer_gen)));
            }
        }
    }

    /// A bot's clock is due: start it, time out its join or its leave, or
    /// send its input because no snapshot came.
    fn on_clock(&mut self, i: usize, now: Instant) {
        let b = &mut self.bots[i];
        match &mut b.link {
            Link::Idle if self.leaving => b.link = Link::Done,
            Link::Idle => self.connect(i, now),
            Link::Connecting(_) | Link::Handshaking(_) | Link::Joining { .. } => {
                b.fail(self.shared, "no Welcome in time".to_owned());
            }
            Link::Playing { .. } => self.send_input(i, now, false),
            Link::Leaving(_) => b.link = Link::Done,
            Link::Done => {}
        }
    }

    fn connect(&mut self, i: usize, now: Instant) {
        let b = &mut self.bots[i];
        b.deadline = now + JOIN_TIMEOUT;
        let Some(addr) = self.addr else {
            let why = format!("cannot resolve {}", b.cfg.url);
            return b.fail(self.shared, why);
        };
        let mut stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => return b.fail(self.shared, format!("connect: {e}")),
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(i), interest)
        {
            return b.fail(self.shared, format!("cannot register the socket: {e}"));
        }
        b.link = Link::Connecting(Conn {
            stream,
            drained: false,
        });
    }

    /// Makes progress on bot `i` after a readiness event (or a sweep):
    /// connect, handshake, join, read and flush.
    fn drive(&mut self, i: usize, now: Instant, readable: bool) {
        let Some(b) = self.bots.get_mut(i) else {
            return;
        };
        if let Some(conn) = b.link.conn()
            && readable
        {
            conn.drained = false;
        }
        // Each step may complete on the data already in hand, so go on
        // until one waits.
        loop {
            let b = &mut self.bots[i];
            match std::mem::replace(&mut b.link, Link::Done) {
                Link::Connecting(conn) => match connected(&conn) {
                    Ok(false) => {
                        b.link = Link::Connecting(conn);
                        return;
                    }
                    Ok(true) => self.handshake(i, conn),
                    Err(e) => return b.fail(self.shared, format!("connect: {e}")),
                },
                Link::Handshaking(mid) => {
                    self.handshaken(i, mid.handshake().map(|(ws, _response)| ws));
                }
                Link::Joining { ws, welcome } => {
                    if !self.join(i, ws, welcome) {
                        return;
                    }
                }
                Link::Playing { ws, play } => return self.play(i, ws, play, now),
                Link::Leaving(ws) => return self.leave(i, ws),
                other => {
                    b.link = other;
                    return;
                }
            }
            if !matches!(
                self.bots[i].link,
                Link::Joining { .. } | Link::Playing { .. }
            ) {
                return;
            }
        }
    }

    fn handshake(&mut self, i: usize, conn: Conn) {
        let b = &mut self.bots[i];
        if let Err(e) = conn.stream.set_nodelay(true) {
            return b.fail(self.shared, format!("connect: {e}"));
        }
        match request(&b.cfg) {
            Ok(req) => {
                let result = tungstenite::client::client_with_config(req, conn, Some(ws_config()));
                self.handshaken(i, result.map(|(ws, _response)| ws));
            }
            Err(e) => b.fail(self.shared, e.to_string()),
        }
    }

    /// Goes on from a (possibly interrupted) WebSocket handshake: once it is
    /// complete, says Hello.
    fn handshaken(
        &mut self,
        i: usize,
        result: Result<WebSocket<Conn>, HandshakeError<ClientHandshake<Conn>>>,
    ) {
        let b = &mut self.bots[i];
        let mut ws = match result {
            Ok(ws) => ws,
            Err(HandshakeError::Interrupted(mid)) => {
                b.link = Link::Handshaking(mid);
                return;
            }
            Err(HandshakeError::Failure(e)) => {
                return b.fail(self.shared, ClientError::from(e).to_string());
            }
        };
        let hello = ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            name: b.cfg.name.clone(),
            resume_token: None,
            auth_token: b.cfg.auth_token.clone(),
        };
        match send(&mut ws, &mut self.buf, &hello, &mut b.unflushed) {
            Ok(_) => {
                b.link = Link::Joining { ws, welcome: None };
            }
            Err(e) => b.fail(self.shared, e.to_string()),
        }
    }

    /// Reads the Welcome and the schema; returns whether the bot joined.
    fn join(&mut self, i: usize, mut ws: WebSocket<Conn>, mut welcome: Option<Welcome>) -> bool {
        let b = &mut self.bots[i];
        if let Err(e) = flush(&mut ws, &mut b.unflushed) {
            b.fail(self.shared, e.to_string());
            return false;
        }
        loop {
            let bytes = match read(&mut ws) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    b.link = Link::Joining { ws, welcome };
                    return false;
                }
                Err(e) => {
                    b.fail(self.shared, e.to_string());
                    return false;
                }
            };
            let msg = match codec::decode_server(&bytes) {
                Ok(msg) => msg,
                Err(e) => {
                    b.fail(self.shared, ClientError::from(e).to_string());
                    return false;
                }
            };
            let Some(w) = welcome.take() else {
                let ServerMsg::Welcome(w) = msg else {
                    b.fail(
                        self.shared,
                        "unexpected message: expected Welcome".to_owned(),
                    );
                    return false;
                };
                welcome = Some(w);
                continue;
            };
            // The descriptor follows the Welcome: everything needed to
            // decode this game's snapshots.
            let layouts = match msg {
                ServerMsg::Schema(s) if s.hash() != w.schema_hash => {
                    Err("schema does not match the Welcome's hash")
                }
                ServerMsg::Schema(s) => s
                    .compile()
                    .map_err(|_| "the server's schema does not compile"),
                _ => Err("expected the schema after Welcome"),
            };
            let layouts = match layouts {
                Ok(l) => Arc::new(l),
                Err(why) => {
                    b.fail(self.shared, format!("unexpected message: {why}"));
                    return false;
                }
            };
            let mirror = b.cfg.mirror.then(|| Mirror::with_layouts(layouts));
            let play = Box::new(Play::new(b.cfg.seed, w, mirror));
            b.c.connected = 1;
            b.c.mirrored = u64::from(b.cfg.mirror);
            self.shared.live_connected.fetch_add(1, Ordering::Relaxed);
            self.shared.settle();
            // The input clock is now a tick away, sooner than the join
            // timeout the heap holds for this bot.
            b.timer_gen = b.timer_gen.wrapping_add(1);
            self.timers
                .push(Reverse((play.clock_deadline(), i, b.timer_gen)));
            b.link = Link::Playing { ws, play };
            return true;
        }
    }

    /// Reads every complete message, then sends the tick's input if a
    /// snapshot made it due.
    fn play(&mut self, i: usize, mut ws: WebSocket<Conn>, mut play: Box<Play>, now: Instant) {
        let (shared, window) = (self.shared, self.window);
        let b = &mut self.bots[i];
        let mut by_snapshot = false;
        let result = flush(&mut ws, &mut b.unflushed).and_then(|()| {
            loop {
                match read(&mut ws)? {
                    Some(bytes) => {
                        by_snapshot |=
                            play.on_frame(&bytes, now, window, &mut b.c, shared, &mut b.samples);
                    }
                    None => break Ok(()),
                }
            }
        });
        if let Err(e) = result {
            return b.disconnect(shared, &e);
        }
        b.link = Link::Playing { ws, play };
        if by_snapshot {
            self.send_input(i, now, true);
        }
    }

    /// Sends the tick's input (and, once a second, a ping) if it is due:
    /// after a snapshot (`by_snapshot`) or when the bot's clock fired.
    fn send_input(&mut self, i: usize, now: Instant, by_snapshot: bool) {
        let counted = self.counted(now);
        let b = &mut self.bots[i];
        let Link::Playing { ws, play } = &mut b.link else {
            return;
        };
        if !play.input_due(now, by_snapshot) {
            return;
        }
        let input = play.next_input(now);
        let mut sent = send(ws, &mut self.buf, &input, &mut b.unflushed);
        if sent.is_ok() && play.ping_due() {
            let ping = play.ping(now);
            sent = send(ws, &mut self.buf, &ping, &mut b.unflushed).map(|n| n + sent.unwrap_or(0));
        }
        match sent {
            Ok(n) if counted => b.c.bytes_out += n as u64,
            Ok(_) => {}
            Err(e) => b.disconnect(self.shared, &e),
        }
    }

    /// The window has ended: every joined bot says Leave and closes;
    /// the others stop.
    fn leave_all(&mut self, now: Instant) {
        self.leaving = true;
        for i in 0..self.bots.len() {
            let b = &mut self.bots[i];
            match std::mem::replace(&mut b.link, Link::Done) {
                Link::Playing { mut ws, .. } => {
                    b.deadline = now + LEAVE_TIMEOUT;
                    let left = send(&mut ws, &mut self.buf, &ClientMsg::Leave, &mut b.unflushed);
                    let closed = match left.map(|_| ws.close(None)) {
                        Ok(Ok(())) => true,
                        Ok(Err(e)) if would_block(&e) => {
                            b.unflushed = true;
                            true
                        }
                        _ => false,
                    };
                    if closed {
                        b.link = Link::Leaving(ws);
                    }
                }
                Link::Done => {}
                Link::Idle => {}
                _ => b.fail(self.shared, "no Welcome before the window's end".to_owned()),
            }
        }
    }

    /// Drives the close handshake until the server closes the connection.
    fn leave(&mut self, i: usize, mut ws: WebSocket<Conn>) {
        if flush(&mut ws, &mut self.bots[i].unflushed).is_err() {
            return;
        }
        loop {
            match ws.read() {
                Ok(_) => {}
                Err(e) if would_block(&e) => {
                    self.bots[i].link = Link::Leaving(ws);
                    return;
                }
                // Closed, as it should be, or broken: done either way.
                Err(_) => return,
            }
        }
    }
}

/// Whether a connect in progress has completed.
fn connected(conn: &Conn) -> io::Result<bool> {
    if let Some(e) = conn.stream.take_error()? {
        return Err(e);
    }
    match conn.stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// The upgrade request, as [`crate::GameClient`] makes it.
fn request(cfg: &BotConfig) -> Result<Request, ClientError> {
    let mut request = cfg.url.as_str().into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(SUBPROTOCOL),
    );
    if let Some(origin) = &cfg.options.origin {
        let origin = HeaderValue::from_str(origin)
            .map_err(|_| ClientError::Unexpected("origin is not a valid header value"))?;
        headers.insert(header::ORIGIN, origin);
    }
    Ok(request)
}

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Queues one message; what the socket does not take now stays in
/// tungstenite's buffer for the next flush. Returns its encoded size.
fn send(
    ws: &mut WebSocket<Conn>,
    buf: &mut Vec<u8>,
    msg: &ClientMsg,
    unflushed: &mut bool,
) -> Result<usize, ClientError> {
    buf.clear();
    codec::encode_client(msg, buf)
        .map_err(|_| ClientError::Unexpected("client message did not encode"))?;
    match ws.write(Message::Binary(Bytes::copy_from_slice(buf))) {
        Ok(()) => {}
        Err(e) if would_block(&e) => *unflushed = true,
        Err(e) => return Err(e.into()),
    }
    Ok(buf.len())
}

/// Writes out what an earlier send left buffered.
fn flush(ws: &mut WebSocket<Conn>, unflushed: &mut bool) -> Result<(), ClientError> {
    if !*unflushed {
        return Ok(());
    }
    match ws.flush() {
        Ok(()) => *unflushed = false,
        Err(e) if would_block(&e) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The next complete binary message, or `None` when the socket has no more
/// for now. A text frame, a close frame and a closed connection are errors,
/// as in [`crate::GameClient::recv_bytes`].
fn read(ws: &mut WebSocket<Conn>) -> Result<Option<Bytes>, ClientError> {
    loop {
        match ws.read() {
            Ok(Message::Binary(bytes)) => return Ok(Some(bytes)),
            Ok(Message::Text(_)) => return Err(ClientError::Text),
            Ok(Message::Close(frame)) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.as_str().to_owned())
                });
                return Err(ClientError::Closed { code, reason });
            }
            // Pings are answered by tungstenite on the next read or write.
            Ok(_) => {}
            Err(e) if would_block(&e) => return Ok(None),
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Err(ClientError::Closed {
                    code: 1006,
                    reason: String::new(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
}
