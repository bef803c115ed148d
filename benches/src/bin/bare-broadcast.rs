//! `bare-broadcast`: the transport done the obvious way, with no game.
//!
//! A baseline for snapwire's CPU per delivered snapshot. It accepts the bot
//! swarm's connections like snapwire does (same tokio-tungstenite settings,
//! one task per socket), answers Hello with a Welcome, reads and discards
//! every input, and sends every client one fixed-size payload per tick. The
//! payload is a valid complete snapshot (`base_tick` 0, no entities) padded
//! with one event to `--payload-bytes`, so bots decode it without errors.
//! The load sweep runs it with the size snapwire's snapshots actually have:
//! the ratio of the two servers' CPU per delivered message is what the game
//! (views, deltas, encoding, rooms) adds on top of the transport.
//!
//! Two modes measure what is below that. Both do the same handshake and
//! then serve every joined socket from one pass per tick, with one write of
//! a frame built once per tick: no task per connection, no per-message
//! WebSocket machinery.
//!
//! `--mode batched` is the floor: one plain thread (no tokio) that, once per
//! tick, walks every connection in join order over non-blocking
//! `std::net::TcpStream`s. For each it reads until `WouldBlock`, parsing the
//! client's frame headers (payloads are skipped, partial frames carried
//! across reads; a close, EOF or error drops the connection), then makes one
//! `write` of the tick's pre-framed message; a partial write's remainder is
//! finished before the next message, and a client whose last message is
//! still unfinished skips this tick's (latest wins). Then it sleeps until the
//! next tick's deadline. No epoll, no wake-ups, no per-connection task: what
//! one TCP connection per client costs on this machine with nothing above
//! the kernel's system calls. A design that serves a room's clients from one
//! loop per tick can approach it; none using one socket per client can go
//! below it. The handshake, Hello and Welcome go through tokio-tungstenite
//! as in the other modes, over a tap that runs the same frame parser on
//! every byte read, so the raw socket leaves tokio
//! (`tokio::net::TcpStream::into_std`) with the parser exactly where the
//! socket is, whatever tungstenite had buffered. On SIGUSR1, and on exit,
//! the tick thread prints one `bare-broadcast window: {json}` line to
//! stderr with what the server did since the last one: messages delivered
//! (fully written), skipped and dropped connections, and the server-side
//! gap between two messages fully written to one connection and the time
//! from a tick's deadline to each message's last byte (p50/p99); the load
//! sweep signals it at the swarm's window marks.
//!
//! `--mode loop` is the same pass driven by the reactor: one tokio task,
//! woken by a tokio interval, reads (discarded unparsed) and writes every
//! socket through tokio's readiness flags, each socket still registered
//! with epoll.

use anyhow::Context;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use snapwire_shared::codec;
use snapwire_shared::protocol::{SUBPROTOCOL, close};
use snapwire_shared::{
    ClientMsg, EntityId, PlayerId, RoomId, ServerEvent, ServerMsg, SessionToken, Tick, Welcome,
    WorldInfo,
};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Bytes, Message};

#[derive(Debug, Parser)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7778")]
    listen: SocketAddr,
    /// Size of the payload sent to every client every tick, bytes.
    #[arg(long, default_value_t = 130)]
    payload_bytes: usize,
    /// Payloads per second.
    #[arg(long, default_value_t = 30)]
    tick_rate: u16,
    /// How connections are served once joined.
    #[arg(long, value_enum, default_value_t = Mode::Tasks)]
    mode: Mode,
    /// `--mode batched`: stop reading a socket at a read that returns less
    /// than it asked for (all there was), instead of reading again until
    /// `WouldBlock`; saves one syscall per client and tick, as snapwire's
    /// shards do.
    #[arg(long)]
    short_read: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Mode {
    /// One tokio-tungstenite task per socket: the obvious way.
    Tasks,
    /// One tokio task writes every socket each tick, through the reactor.
    Loop,
    /// One plain thread walks every raw socket each tick: the floor.
    Batched,
}

/// The payload for `tick`: a complete, empty snapshot padded to `size`.
fn payload(tick: Tick, size: usize) -> Bytes {
    // The arena's shape: no room state (so no state change), no entities
    // (three empty delta lists), one event carrying the padding, and no
    // message list (the arena has no messages).
    let snapshot = |pad: usize| {
        let mut out = Vec::new();
        codec::parts::snapshot_head(tick, Tick::NONE, 0, &mut out);
        out.extend_from_slice(&[0, 0, 0]);
        let events = [ServerEvent::PlayerJoined {
            player: PlayerId(1),
            entity: EntityId(1),
            name: "x".repeat(pad),
        }];
        codec::parts::snapshot_tail(&events, None, &mut out).expect("encodes");
        out
    };
    let bare = snapshot(0).len();
    let mut pad = size.saturating_sub(bare);
    // The name's length prefix grows by two bytes past 250.
    let mut bytes = snapshot(pad);
    while bytes.len() > size && pad > 0 {
        pad -= 1;
        bytes = snapshot(pad);
    }
    Bytes::from(bytes)
}

#[allow(clippy::result_large_err)] // tungstenite's `Callback` signature
fn accept_any(_: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    resp.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    Ok(resp)
}

type Ws = WebSocketStream<TcpStream>;

/// The largest client frame payload accepted, as `max_frame_size` below.
const MAX_FRAME: u64 = 4096;

/// The upgrade, the client's Hello and our Welcome; `None` if the client
/// went away or broke the protocol meanwhile.
async fn join<S>(stream: S, tick_rate: u16) -> Option<WebSocketStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The same transport settings as snapwire-server.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(4096))
        .max_frame_size(Some(MAX_FRAME as usize));
    let Ok(mut ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, accept_any, Some(config)).await
    else {
        return None;
    };
    // Hello, then Welcome.
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b)))
                if matches!(codec::decode_client(&b), Ok(ClientMsg::Hello { .. })) =>
            {
                break;
            }
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
    let welcome = ServerMsg::Welcome(Welcome {
        player: PlayerId(1),
        entity: EntityId(1),
        room: RoomId(1),
        tick_rate,
        tick: Tick::NONE,
        session_token: SessionToken([0; 16]),
        world: WorldInfo {
            size: 1000.0,
            view_radius: 0.0,
        },
        schema_hash: arena_schema().hash(),
    });
    let welcome = codec::server_to_vec(&welcome).expect("encodes");
    ws.send(Message::Binary(welcome.into())).await.ok()?;
    // The arena's descriptor, as snapwire sends it after Welcome, so that
    // the same bots (which decode by it) can be pointed here.
    let schema = codec::server_to_vec(&ServerMsg::Schema(arena_schema())).expect("encodes");
    ws.send(Message::Binary(schema.into())).await.ok()?;
    Some(ws)
}

/// The arena's schema, which snapwire's default game sends.
fn arena_schema() -> snapwire_shared::Schema {
    snapwire_server::game::schema_of::<snapwire_server::game::arena::Arena>()
}

/// `--mode tasks`: this connection's own task sends every frame and wakes
/// for every client message.
async fn serve(stream: TcpStream, mut frames: watch::Receiver<Bytes>, tick_rate: u16) {
    let Some(mut ws) = join(stream, tick_rate).await else {
        return;
    };
    frames.borrow_and_update();
    loop {
        tokio::select! {
            changed = frames.changed() => {
                if changed.is_err() {
                    break;
                }
                let bytes = frames.borrow_and_update().clone();
                if ws.send(Message::Binary(bytes)).await.is_err() {
                    return;
                }
            }
            msg = ws.next() => match msg {
                // Inputs and pings are read and discarded.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                _ => return,
            }
        }
    }
    let _ = ws.close(Some(close_frame())).await;
}

/// `--mode loop`: a joined client's raw socket, and how much of a frame
/// the last write left unsent.
struct Raw {
    stream: TcpStream,
    rest: Option<(Bytes, usize)>,
}

impl Raw {
    /// Reads and discards whatever the client sent, then sends `frame`
    /// unless the last one is still going out (latest wins). Never waits:
    /// tokio's readiness flags make a read or write on a socket with
    /// nothing to do return at once, mostly without a system call. `false`
    /// when the connection is gone.
    fn serve(&mut self, frame: &Bytes, scratch: &mut [u8]) -> bool {
        loop {
            match self.stream.try_read(scratch) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        let (bytes, from) = self.rest.take().unwrap_or_else(|| (frame.clone(), 0));
        match self.stream.try_write(&bytes[from..]) {
            Ok(n) if from + n < bytes.len() => self.rest = Some((bytes, from + n)),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // Nothing of a new frame went out: skip it; a started one
                // must finish first.
                if from > 0 {
                    self.rest = Some((bytes, from));
                }
            }
            Err(_) => return false,
        }
        true
    }
}

/// `--mode loop`: every joined socket, served in one pass per tick.
async fn drive(mut joined: mpsc::Receiver<Ws>, tick_rate: u16, size: usize) {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(tick_rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut conns: Vec<Raw> = Vec::new();
    let mut scratch = vec![0; 4096];
    let mut tick = Tick::NONE;
    loop {
        ticker.tick().await;
        tick = tick.next();
        while let Ok(ws) = joined.try_recv() {
            conns.push(Raw {
                stream: ws.into_inner(),
                rest: None,
            });
        }
        let frame = server_frame(tick, size);
        conns.retain_mut(|c| c.serve(&frame, &mut scratch));
    }
}

/// `tick`'s payload as one server-to-client (unmasked) binary frame.
fn server_frame(tick: Tick, size: usize) -> Bytes {
    let mut frame = Vec::with_capacity(size + 10);
    Frame::message(payload(tick, size), OpCode::Data(Data::Binary), true)
        .format(&mut frame)
        .expect("writing to a Vec cannot fail");
    Bytes::from(frame)
}

/// `--mode batched`: where a client's byte stream is. It skips the HTTP
/// request, then follows the WebSocket frames by their headers alone,
/// skipping payloads; partial headers and payloads carry over to the next
/// bytes.
#[derive(Debug, Default)]
struct Frames {
    /// How much of the request's closing `\r\n\r\n` has been seen; 4 once
    /// frames have begun.
    http: u8,
    /// The current frame's header, so far.
    head: [u8; 14],
    /// Bytes of `head` filled.
    have: usize,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    /// A close frame or a protocol violation was seen: no more reading.
    gone: bool,
    /// Frames whose header was complete.
    frames: u64,
}

impl Frames {
    /// Length of a client frame header given its second byte.
    fn header_len(b1: u8) -> usize {
        let ext = match b1 & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
    }

    /// Follows `data`, the next bytes the client sent. `false` once the
    /// client has closed or broken the protocol (unmasked, oversized).
    fn feed(&mut self, mut data: &[u8]) -> bool {
        while self.http < 4 {
            let Some((&b, rest)) = data.split_first() else {
                return !self.gone;
            };
            data = rest;
            self.http = match (self.http, b) {
                (0 | 2, b'\r') | (1 | 3, b'\n') => self.http + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
        }
        while !data.is_empty() && !self.gone {
            if self.skip > 0 {
                let n = self.skip.min(data.len() as u64) as usize;
                self.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            let need = if self.have < 2 {
                2
            } else {
                Self::header_len(self.head[1])
            };
            let take = (need - self.have).min(data.len());
            self.head[self.have..self.have + take].copy_from_slice(&data[..take]);
            self.have += take;
            data = &data[take..];
            if self.have < 2 || self.have < Self::header_len(self.head[1]) {
                continue;
            }
            let (b0, b1) = (self.head[0], self.head[1]);
            let len = match b1 & 0x7f {
                126 => u64::from(u16::from_be_bytes([self.head[2], self.head[3]])),
                127 => u64::from_be_bytes(self.head[2..10].try_into().expect("8 bytes")),
                n => u64::from(n),
            };
            // Client frames must be masked; opcode 8 is close.
            self.gone = b1 & 0x80 == 0 || b0 & 0x0f == 0x8 || len > MAX_FRAME;
            self.skip = len;
            self.have = 0;
            self.frames += 1;
        }
        !self.gone
    }
}

/// `--mode batched`: a socket whose every byte read is also fed to
/// [`Frames`], so that the tick loop knows where the stream is after
/// tokio-tungstenite's handshake, whatever tungstenite had read ahead.
struct Tap<S> {
    inner: S,
    frames: Frames,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.frames.feed(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// `--mode batched`: a joined client as the tick thread holds it.
struct Conn {
    stream: std::net::TcpStream,
    frames: Frames,
    /// A message partly written: the frame, how far it went, and the
    /// deadline of the tick it was for.
    rest: Option<(Bytes, usize, Instant)>,
    /// When the last message to this client was fully written.
    last: Option<Instant>,
}

/// A histogram of durations in 0.1 ms buckets up to 2 s.
struct Hist(Vec<u64>);

impl Hist {
    const BUCKETS: usize = 20_000;

    fn new() -> Self {
        Hist(vec![0; Self::BUCKETS + 1])
    }

    fn record(&mut self, d: Duration) {
        let i = (d.as_micros() / 100).min(Self::BUCKETS as u128) as usize;
        self.0[i] += 1;
    }

    /// The `q`-quantile in ms (the bucket's upper edge), or `None` if empty.
    fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total: u64 = self.0.iter().sum();
        if total == 0 {
            return None;
        }
        let target = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.0.iter().enumerate() {
            seen += n;
            if seen >= target {
                return Some((i + 1) as f64 * 0.1);
            }
        }
        None
    }

    fn reset(&mut self) {
        self.0.fill(0);
    }
}

/// What the tick thread did since its last report.
struct Stats {
    since: Instant,
    ticks: u64,
    /// Deadlines passed by more than a period before the thread woke.
    missed_ticks: u64,
    joined: u64,
    /// Messages fully written.
    delivered: u64,
    /// Ticks a client got no message: the last one still unfinished, or
    /// the socket's buffer full.
    skipped: u64,
    dropped: u64,
    frames_in: u64,
    bytes_in: u64,
    /// Between two messages fully written to one client.
    gap: Hist,
    /// From a tick's deadline to the last byte of its message.
    tick_to_send: Hist,
    /// One pass over every connection.
    pass: Hist,
}

impl Stats {
    fn new() -> Self {
        Stats {
            since: Instant::now(),
            ticks: 0,
            missed_ticks: 0,
            joined: 0,
            delivered: 0,
            skipped: 0,
            dropped: 0,
            frames_in: 0,
            bytes_in: 0,
            gap: Hist::new(),
            tick_to_send: Hist::new(),
            pass: Hist::new(),
        }
    }

    /// One JSON line to stderr, then start over.
    fn report(&mut self, connections: usize) {
        let ms = |h: &Hist, q| {
            h.quantile_ms(q)
                .map_or("null".into(), |v| format!("{v:.1}"))
        };
        eprintln!(
            "bare-broadcast window: {{\"seconds\":{:.3},\"ticks\":{},\"missed_ticks\":{},\
             \"connections\":{},\"joined\":{},\"delivered\":{},\"skipped\":{},\
             \"dropped\":{},\"frames_in\":{},\"bytes_in\":{},\
             \"gap_ms\":{{\"p50\":{},\"p99\":{}}},\
             \"tick_to_send_ms\":{{\"p50\":{},\"p99\":{}}},\
             \"pass_ms\":{{\"p50\":{},\"p99\":{}}}}}",
            self.since.elapsed().as_secs_f64(),
            self.ticks,
            self.missed_ticks,
            connections,
            self.joined,
            self.delivered,
            self.skipped,
            self.dropped,
            self.frames_in,
            self.bytes_in,
            ms(&self.gap, 0.5),
            ms(&self.gap, 0.99),
            ms(&self.tick_to_send, 0.5),
            ms(&self.tick_to_send, 0.99),
            ms(&self.pass, 0.5),
            ms(&self.pass, 0.99),
        );
        self.since = Instant::now();
        self.ticks = 0;
        self.missed_ticks = 0;
        self.joined = 0;
        self.delivered = 0;
        self.skipped = 0;
        self.dropped = 0;
        self.frames_in = 0;
        self.bytes_in = 0;
        self.gap.reset();
        self.tick_to_send.reset();
        self.pass.reset();
    }
}

impl Conn {
    /// Reads until `WouldBlock`, following the frames; `false` when the
    /// client closed, went away or broke the protocol.
    fn read(&mut self, scratch: &mut [u8], stats: &mut Stats, short_read: bool) -> bool {
        if self.frames.gone {
            return false;
        }
        loop {
            match self.stream.read(scratch) {
                Ok(0) => return false,
                Ok(n) => {
                    stats.bytes_in += n as u64;
                    let before = self.frames.frames;
                    let alive = self.frames.feed(&scratch[..n]);
                    stats.frames_in += self.frames.frames - before;
                    if !alive {
                        return false;
                    }
                    if short_read && n < scratch.len() {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// One `write` of `bytes`: how many went (0 if the socket's buffer is
    /// full), `None` if the connection is gone.
    fn write(&mut self, bytes: &[u8]) -> Option<usize> {
        loop {
            match self.stream.write(bytes) {
                Ok(0) => return None,
                Ok(n) => return Some(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Some(0),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }

    /// A message for the tick due at `due` has been fully written.
    fn delivered(&mut self, due: Instant, stats: &mut Stats) {
        let now = Instant::now();
        stats.delivered += 1;
        stats
            .tick_to_send
            .record(now.saturating_duration_since(due));
        if let Some(last) = self.last.replace(now) {
            stats.gap.record(now - last);
        }
    }

    /// This client's turn in the tick due at `due`: read what it sent,
    /// finish the last message if unfinished, then send `frame` with one
    /// write unless the last one is still unfinished (latest wins).
    /// `false` when the connection is gone.
    fn serve(
        &mut self,
        frame: &Bytes,
        due: Instant,
        scratch: &mut [u8],
        stats: &mut Stats,
        short_read: bool,
    ) -> bool {
        if !self.read(scratch, stats, short_read) {
            return false;
        }
        if let Some((bytes, from, was_due)) = self.rest.take() {
            let Some(n) = self.write(&bytes[from..]) else {
                return false;
            };
            if from + n < bytes.len() {
                self.rest = Some((bytes, from + n, was_due));
                stats.skipped += 1;
                return true;
            }
            self.delivered(was_due, stats);
        }
        let Some(n) = self.write(frame) else {
            return false;
        };
        if n == frame.len() {
            self.delivered(due, stats);
        } else if n > 0 {
            self.rest = Some((frame.clone(), n, due));
        } else {
            stats.skipped += 1;
        }
        true
    }
}

/// `--mode batched`: asks of the tick thread from the async side.
#[derive(Default)]
struct Flags {
    /// Print the stats and start over (SIGUSR1).
    report: AtomicBool,
    /// Print the stats and end (SIGINT).
    stop: AtomicBool,
}

/// `--mode batched`: the tick thread. Each tick, on a fixed-rate schedule:
/// take in the newly joined, then serve every connection in join order.
fn tick_thread(
    joined: std::sync::mpsc::Receiver<Conn>,
    rate: u16,
    size: usize,
    short_read: bool,
    flags: &Flags,
) {
    let period = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    let mut k: u32 = 0;
    let mut conns: Vec<Conn> = Vec::new();
    let mut scratch = vec![0; 4096];
    let mut tick = Tick::NONE;
    let mut stats = Stats::new();
    loop {
        k += 1;
        let mut due = start + period * k;
        let now = Instant::now();
        if let Some(wait) = due.checked_duration_since(now) {
            std::thread::sleep(wait);
        } else if now - due >= period {
            // More than a period behind: on to the latest deadline passed.
            let behind = ((now - due).as_nanos() / period.as_nanos()) as u32;
            k += behind;
            stats.missed_ticks += u64::from(behind);
            due = start + period * k;
        }
        if flags.stop.load(Ordering::Relaxed) {
            break;
        }
        if flags.report.swap(false, Ordering::Relaxed) {
            stats.report(conns.len());
        }
        tick = tick.next();
        stats.ticks += 1;
        while let Ok(conn) = joined.try_recv() {
            conns.push(conn);
            stats.joined += 1;
        }
        let frame = server_frame(tick, size);
        let began = Instant::now();
        let before = conns.len();
        conns.retain_mut(|c| c.serve(&frame, due, &mut scratch, &mut stats, short_read));
        stats.dropped += (before - conns.len()) as u64;
        stats.pass.record(began.elapsed());
    }
    stats.report(conns.len());
}

/// `--mode batched`: the handshake, Hello and Welcome as in the other
/// modes, then the raw socket leaves tokio for the tick thread.
async fn hand_over(stream: TcpStream, rate: u16, to_thread: std::sync::mpsc::Sender<Conn>) {
    let tap = Tap {
        inner: stream,
        frames: Frames::default(),
    };
    let Some(ws) = join(tap, rate).await else {
        return;
    };
    // Nothing is left to send (tungstenite's write buffer is 0 and every
    // send was flushed); whatever it read ahead, `frames` has followed.
    let Tap { inner, frames } = ws.into_inner();
    // Deregistered from the reactor; still non-blocking.
    let Ok(stream) = inner.into_std() else {
        return;
    };
    let _ = to_thread.send(Conn {
        stream,
        frames,
        rest: None,
        last: None,
    });
}

fn close_frame() -> tokio_tungstenite::tungstenite::protocol::CloseFrame {
    tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: close::GOING_AWAY.into(),
        reason: close::REASON_SHUTDOWN.into(),
    }
}

/// `--mode tasks`: publishes each tick's payload to every connection task.
async fn publish(tx: watch::Sender<Bytes>, rate: u16, size: usize) {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut tick = Tick::NONE;
    loop {
        ticker.tick().await;
        tick = tick.next();
        tx.send_replace(payload(tick, size));
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let listener = TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    let (tx, rx) = watch::channel(payload(Tick::FIRST, cli.payload_bytes));
    let (size, rate) = (cli.payload_bytes, cli.tick_rate.max(1));
    eprintln!(
        "bare-broadcast on ws://{}/play, {} bytes at {} Hz, {:?}",
        listener.local_addr()?,
        tx.borrow().len(),
        rate,
        cli.mode
    );
    // Bounded: the loop drains it every tick, accepts wait meanwhile.
    let (to_loop, joined) = mpsc::channel(1024);
    // Unbounded: the tick thread drains it every tick.
    let (to_thread, from_accepts) = std::sync::mpsc::channel();
    let flags = Arc::new(Flags::default());
    let mut thread = None;
    match cli.mode {
        Mode::Loop => drop(tokio::spawn(drive(joined, rate, size))),
        Mode::Tasks => drop(tokio::spawn(publish(tx, rate, size))),
        Mode::Batched => {
            let flags = flags.clone();
            let short_read = cli.short_read;
            thread = Some(
                std::thread::Builder::new()
                    .name("tick".into())
                    .spawn(move || tick_thread(from_accepts, rate, size, short_read, &flags))?,
            );
        }
    }
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = usr1.recv() => flags.report.store(true, Ordering::Relaxed),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                match cli.mode {
                    Mode::Batched => drop(tokio::spawn(hand_over(stream, rate, to_thread.clone()))),
                    Mode::Tasks => drop(tokio::spawn(serve(stream, rx.clone(), rate))),
                    Mode::Loop => {
                        let to_loop = to_loop.clone();
                        tokio::spawn(async move {
                            if let Some(ws) = join(stream, rate).await {
                                let _ = to_loop.send(ws).await;
                            }
                        });
                    }
                }
            }
        }
    }
    if let Some(thread) = thread {
        flags.stop.store(true, Ordering::Relaxed);
        let _ = thread.join();
    }
    Ok(())
}
