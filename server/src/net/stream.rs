//! The byte stream under a game connection's WebSocket, and the socket
//! under it, in either of its two homes.
//!
//! The WebSocket is tungstenite's synchronous one over a non-blocking
//! socket: it never waits, it says `WouldBlock`. While a connection is set
//! up (upgrade, Hello, Welcome) and while it is closed, its task awaits the
//! socket's readiness through tokio's reactor between attempts
//! ([`drive`]). Once joined, the socket leaves the reactor
//! ([`Sock::own`]): its room's shard reads and writes it once per tick
//! (`shard.rs`), and nothing is registered, woken or scheduled for it when
//! its client's bytes arrive.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use tokio::io::Interest;
use tokio_rustls::rustls::{ServerConnection, StreamOwned};
use tokio_tungstenite::tungstenite::handshake::HandshakeError;
use tokio_tungstenite::tungstenite::handshake::server::Callback;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, WebSocket};

/// A game connection's WebSocket.
pub(crate) type Ws = WebSocket<Io>;

/// A connection's TCP socket.
#[derive(Debug)]
pub(crate) struct Sock {
    home: Home,
    /// Every way an operation found the socket not ready since the last
    /// wait, so that [`Sock::ready`] waits for all of them: rustls' flush
    /// finds the write blocked and then tries a read, which blocks too, and
    /// waiting for the read alone would wait for the client to send.
    blocked: Option<Interest>,
    /// Owned: a read this pass took less than it asked for, so the socket
    /// has nothing more (for now); reads say `WouldBlock` until the next
    /// pass instead of asking the kernel again.
    drained: bool,
}

#[derive(Debug)]
enum Home {
    /// Registered with tokio's reactor: the connection's task awaits it.
    Reactor(tokio::net::TcpStream),
    /// Owned by a shard: a plain non-blocking socket, registered nowhere,
    /// read and written once per tick.
    Owned(std::net::TcpStream),
    /// Only while moving from one home to the other, or after a move
    /// failed (every operation then fails).
    Moving,
}

fn moved() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "socket lost in a move")
}

impl Sock {
    pub(crate) fn new(stream: tokio::net::TcpStream) -> Self {
        Sock {
            home: Home::Reactor(stream),
            blocked: None,
            drained: false,
        }
    }

    /// Takes the socket out of the reactor: from now on it is only read and
    /// written when its owner says so, and [`Sock::ready`] fails.
    pub(crate) fn own(&mut self) -> io::Result<()> {
        if let Home::Reactor(_) = self.home
            && let Home::Reactor(stream) = std::mem::replace(&mut self.home, Home::Moving)
        {
            // Non-blocking, as tokio left it.
            self.home = Home::Owned(stream.into_std()?);
        }
        Ok(())
    }

    /// Registers the socket with the reactor again, for a task to await it
    /// (a goodbye). Must be called within the runtime.
    pub(crate) fn register(&mut self) -> io::Result<()> {
        if let Home::Owned(_) = self.home
            && let Home::Owned(stream) = std::mem::replace(&mut self.home, Home::Moving)
        {
            self.home = Home::Reactor(tokio::net::TcpStream::from_std(stream)?);
            // What blocked while the shard owned it is not waited for.
            self.blocked = None;
        }
        Ok(())
    }

    /// A new pass of the shard: reads go to the kernel again.
    pub(crate) fn begin_pass(&mut self) {
        self.drained = false;
    }

    /// Waits until the socket is ready for something the operations since
    /// the last wait could not do. Only a registered socket can be waited
    /// for.
    pub(crate) async fn ready(&mut self) -> io::Result<()> {
        let interest = self.blocked.take().unwrap_or(Interest::READABLE);
        match &self.home {
            Home::Reactor(s) => s.ready(interest).await.map(drop),
            Home::Owned(_) | Home::Moving => Err(moved()),
        }
    }

    /// Ends the sending side (the TCP FIN).
    async fn shutdown_write(&mut self) -> io::Result<()> {
        match &mut self.home {
            Home::Reactor(s) => tokio::io::AsyncWriteExt::shutdown(s).await,
            Home::Owned(s) => s.shutdown(Shutdown::Write),
            Home::Moving => Err(moved()),
        }
    }

    fn note<T>(&mut self, result: io::Result<T>, way: Interest) -> io::Result<T> {
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.blocked = Some(self.blocked.map_or(way, |b| b | way));
        }
        result
    }
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = match &mut self.home {
            Home::Reactor(s) => s.try_read(buf),
            // A short read took all there was: a second read would only be
            // told so by the kernel, a syscall per client and tick.
            Home::Owned(_) if self.drained => Err(io::ErrorKind::WouldBlock.into()),
            Home::Owned(s) => {
                let result = s.read(buf);
                self.drained = matches!(result, Ok(n) if n > 0 && n < buf.len());
                result
            }
            Home::Moving => Err(moved()),
        };
        self.note(result, Interest::READABLE)
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = match &mut self.home {
            Home::Reactor(s) => s.try_write(buf),
            Home::Owned(s) => s.write(buf),
            Home::Moving => Err(moved()),
        };
        self.note(result, Interest::WRITABLE)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the WebSocket reads and writes: the socket, or rustls' synchronous
/// connection over it; bytes read ahead to route the request come first.
///
/// A shard writes a tick's frames itself, framed by the session, in one
/// write ([`Io::write_frames`]). What the socket does not take, of those
/// or of tungstenite's own writes (its pongs and close frames), is kept
/// here in order and written before anything newer, so that frames never
/// interleave.
#[derive(Debug)]
pub(crate) struct Io {
    /// Read ahead and not yet consumed: `prefix[at..]`.
    prefix: Vec<u8>,
    at: usize,
    link: Link,
    /// Written by the shard and not yet taken by the socket:
    /// `unsent[sent..]`. Empty (and unallocated) while the client keeps up.
    unsent: Vec<u8>,
    sent: usize,
    /// Most bytes `unsent` may hold: the WebSocket's write buffer cap.
    max_unsent: usize,
    /// Bytes of tungstenite's own writes (pongs) kept in `unsent` since it
    /// was last empty: see [`MAX_WS_BACKLOG`].
    queued_by_ws: usize,
}

#[derive(Debug)]
enum Link {
    Plain(Sock),
    /// Boxed: the TLS state is large and the plain case common.
    Tls(Box<StreamOwned<ServerConnection, Sock>>),
}

impl Io {
    pub(crate) fn plain(sock: Sock, prefix: Vec<u8>) -> Self {
        Io {
            prefix,
            at: 0,
            link: Link::Plain(sock),
            unsent: Vec::new(),
            sent: 0,
            max_unsent: MAX_UNSENT_BYTES,
            queued_by_ws: 0,
        }
    }

    /// A TLS connection whose handshake is done; `conn` keeps whatever
    /// it has decrypted and not yet handed out.
    pub(crate) fn tls(conn: ServerConnection, sock: Sock, prefix: Vec<u8>) -> Self {
        Io {
            prefix,
            at: 0,
            link: Link::Tls(Box::new(StreamOwned::new(conn, sock))),
            unsent: Vec::new(),
            sent: 0,
            max_unsent: MAX_UNSENT_BYTES,
            queued_by_ws: 0,
        }
    }

    fn owned(&self) -> bool {
        let sock = match &self.link {
            Link::Plain(s) => s,
            Link::Tls(t) => &t.sock,
        };
        matches!(sock.home, Home::Owned(_))
    }

    pub(crate) fn sock(&mut self) -> &mut Sock {
        match &mut self.link {
            Link::Plain(s) => s,
            Link::Tls(t) => &mut t.sock,
        }
    }

    /// Writes a tick's frames with one write; keeps what the socket does
    /// not take. Normally nothing is waiting (the shard writes only when
    /// `flush` said everything before is out); if something is (a pong
    /// tungstenite queued during this tick's reads), the frames queue
    /// behind it, so the stream's order is kept either way.
    pub(crate) fn write_frames(&mut self, frames: &[u8]) -> io::Result<()> {
        match self.write_unsent() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return self.queue(frames);
            }
            Err(e) => return Err(e),
        }
        let n = match self.link_write(frames) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        self.queue(&frames[n..])
    }

    /// Keeps `bytes` to be written after everything kept before them; a
    /// client that takes nothing cannot make this grow past the
    /// WebSocket's write buffer cap (the connection fails instead).
    fn queue(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.unsent.len() - self.sent + bytes.len() > self.max_unsent {
            return Err(io::Error::other("client is not reading"));
        }
        if self.sent > 0 {
            self.unsent.drain(..self.sent);
            self.sent = 0;
        }
        self.unsent.extend_from_slice(bytes);
        Ok(())
    }

    /// Writes what an earlier [`Io::write_frames`] left; `WouldBlock` while
    /// some is left.
    fn write_unsent(&mut self) -> io::Result<()> {
        while self.sent < self.unsent.len() {
            let n = match &mut self.link {
                Link::Plain(s) => s.write(&self.unsent[self.sent..])?,
                Link::Tls(t) => tls_write(t, &self.unsent[self.sent..])?,
            };
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.sent += n;
        }
        if !self.unsent.is_empty() {
            // Its memory goes back: a backlog is rare and brief.
            self.unsent = Vec::new();
            self.sent = 0;
        }
        self.queued_by_ws = 0;
        Ok(())
    }

    fn link_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.link {
            Link::Plain(s) => s.write(buf),
            Link::Tls(t) => tls_write(t, buf),
        }
    }

    /// Ends the sending side: what waits to be written (a close reply
    /// tungstenite handed over without flushing it), TLS's close_notify,
    /// then the TCP FIN.
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        if let Link::Tls(t) = &mut self.link {
            t.conn.send_close_notify();
        }
        drive_io(self, |io| io.flush()).await?;
        self.sock().shutdown_write().await
    }
}

/// rustls' write, where `Ok(0)` for a non-empty buffer means that its own
/// buffer is full and the socket took nothing (its flush blocked, then a
/// read found the client's bytes): the connection is fine, the socket is
/// not ready.
fn tls_write(t: &mut StreamOwned<ServerConnection, Sock>, buf: &[u8]) -> io::Result<usize> {
    match t.write(buf)? {
        0 if !buf.is_empty() => {
            t.sock.blocked = Some(
                t.sock
                    .blocked
                    .map_or(Interest::WRITABLE, |b| b | Interest::WRITABLE),
            );
            Err(io::ErrorKind::WouldBlock.into())
        }
        n => Ok(n),
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.prefix.len() {
            let n = (self.prefix.len() - self.at).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.at..self.at + n]);
            self.at += n;
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
            return Ok(n);
        }
        match &mut self.link {
            Link::Plain(s) => s.read(buf),
            Link::Tls(t) => t.read(buf),
        }
    }
}

/// Most bytes a connection keeps unwritten until its WebSocket is made
/// (which sets its own write buffer cap, `ws_config`'s 1 MiB for `/play`).
const MAX_UNSENT_BYTES: usize = 1 << 20;

/// Most bytes of tungstenite's own writes kept behind a full socket while a
/// shard owns it. There they are only pongs (a joined client's messages
/// are the shard's frames; its close goes out after the socket is back in
/// the reactor), ~100 answers: a client that keeps sending pings without
/// reading would otherwise make the server keep every answer, up to the
/// write buffer cap (1 MiB), for the stall timeout.
const MAX_WS_BACKLOG: usize = 16 * 1024;

/// Every byte tungstenite writes is taken at once: what the socket does not
/// take waits in `unsent`, in order, so that tungstenite itself never holds
/// a half-written frame that a shard's frames could overtake. `flush` says
/// `WouldBlock` while anything waits.
impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match self.write_unsent() {
            Ok(()) => match self.link_write(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        let rest = buf.len() - n;
        if rest > 0 && self.owned() {
            self.queued_by_ws += rest;
            if self.queued_by_ws > MAX_WS_BACKLOG {
                return Err(io::Error::other("client is not reading"));
            }
        }
        match self.queue(&buf[n..]) {
            Ok(()) => Ok(buf.len()),
            // What the socket took is taken; tungstenite keeps the rest.
            Err(_) if n > 0 => Ok(n),
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_unsent()?;
        match &mut self.link {
            Link::Plain(s) => s.flush(),
            Link::Tls(t) => t.flush(),
        }
    }
}

/// The opcodes of the frames a shard writes itself (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy)]
pub(crate) enum OpCode {
    Binary = 0x2,
    Ping = 0x9,
}

/// Appends one final, unmasked (server) frame: the header of RFC 6455
/// §5.2 with the shortest length encoding, then `payload`.
pub(crate) fn frame_into(out: &mut Vec<u8>, opcode: OpCode, payload: &[u8]) {
    out.push(0x80 | opcode as u8);
    match payload.len() {
        // Each arm's range makes its cast exact.
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

pub(crate) fn would_block(error: &WsError) -> bool {
    matches!(error, WsError::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Runs a WebSocket operation until it no longer says `WouldBlock`,
/// waiting for the socket in between. For a task's own connection (set-up
/// and goodbye), never for a shard's: an owned socket cannot be waited for.
pub(crate) async fn drive<T>(
    ws: &mut Ws,
    mut op: impl FnMut(&mut Ws) -> Result<T, WsError>,
) -> Result<T, WsError> {
    loop {
        match op(ws) {
            Err(e) if would_block(&e) => ws.get_mut().sock().ready().await?,
            done => return done,
        }
    }
}

/// [`drive`] for the stream itself.
pub(crate) async fn drive_io<T>(
    io: &mut Io,
    mut op: impl FnMut(&mut Io) -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match op(io) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => io.sock().ready().await?,
            done => return done,
        }
    }
}

/// Queues `msg` and writes it out.
pub(crate) async fn send(
    ws: &mut Ws,
    msg: tokio_tungstenite::tungstenite::Message,
) -> Result<(), WsError> {
    match ws.write(msg) {
        // `WouldBlock` from a write: the frame is queued, not yet written.
        Err(e) if !would_block(&e) => return Err(e),
        _ => {}
    }
    drive(ws, |ws| ws.flush()).await
}

/// The server side of the WebSocket handshake (RFC 6455 §4.2), `callback`
/// deciding on the request.
pub(crate) async fn accept<C: Callback>(
    mut io: Io,
    callback: C,
    config: WebSocketConfig,
) -> Result<Ws, WsError> {
    // What tungstenite would have buffered is buffered here instead.
    io.max_unsent = config.max_write_buffer_size;
    let mut attempt =
        tokio_tungstenite::tungstenite::accept_hdr_with_config(io, callback, Some(config));
    loop {
        match attempt {
            Ok(ws) => return Ok(ws),
            Err(HandshakeError::Failure(e)) => return Err(e),
            Err(HandshakeError::Interrupted(mut mid)) => {
                mid.get_mut().get_mut().sock().ready().await?;
                attempt = mid.handshake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OpCode, frame_into};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode as WsOpCode};

    /// The frames a shard writes itself are the frames tungstenite would
    /// write, at each length encoding's edges.
    #[test]
    fn own_frames_are_tungstenite_frames() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut ours = Vec::new();
            frame_into(&mut ours, OpCode::Binary, &payload);
            let mut theirs = Vec::new();
            Frame::message(payload.clone(), WsOpCode::Data(Data::Binary), true)
                .format(&mut theirs)
                .expect("format");
            assert_eq!(ours, theirs, "binary frame of {len} bytes");
        }
        let mut ours = Vec::new();
        frame_into(&mut ours, OpCode::Ping, b"sw");
        let mut theirs = Vec::new();
        Frame::ping(&b"sw"[..]).format(&mut theirs).expect("format");
        assert_eq!(ours, theirs, "ping frame");
    }
}

#[cfg(test)]
mod order {
    use super::{Io, MAX_WS_BACKLOG, Sock};
    use std::io::{Read, Write};
    use std::time::Duration;

    /// A connected pair on loopback: the client's blocking socket, and the
    /// server's, registered with the reactor.
    fn pair() -> (std::net::TcpStream, Sock) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().expect("accept");
        server.set_nonblocking(true).unwrap();
        (
            client,
            Sock::new(tokio::net::TcpStream::from_std(server).unwrap()),
        )
    }

    /// Writes shard frames until the socket keeps some back; returns how
    /// many bytes were written.
    fn fill(io: &mut Io) -> usize {
        let chunk = vec![b'a'; 64 * 1024];
        let mut written = 0;
        while io.unsent.is_empty() {
            io.write_frames(&chunk).expect("write");
            written += chunk.len();
            assert!(written < 256 << 20, "the socket never filled");
        }
        written
    }

    /// A client that sends pings and reads nothing gets its answers kept
    /// only up to a small bound while a shard owns its socket; then its
    /// connection fails instead of holding up to the write buffer cap.
    #[tokio::test]
    async fn answers_kept_behind_a_full_socket_are_bounded() {
        let (_client, mut sock) = pair();
        sock.own().expect("owned");
        let mut io = Io::plain(sock, Vec::new());
        fill(&mut io);
        let pong = [0x8Au8; 127];
        let mut kept = 0;
        let failed = loop {
            match io.write(&pong) {
                Ok(n) => {
                    assert_eq!(n, pong.len(), "taken whole");
                    kept += n;
                    assert!(kept <= MAX_WS_BACKLOG, "kept {kept} bytes of answers");
                }
                Err(e) => break e,
            }
        };
        assert_eq!(failed.kind(), std::io::ErrorKind::Other, "{failed}");
        assert!(
            kept + pong.len() > MAX_WS_BACKLOG,
            "failed early, at {kept}"
        );
    }

    /// Shutting down sends what waits (a close reply tungstenite handed
    /// over without a flush) before the FIN.
    #[tokio::test]
    async fn shutdown_sends_what_waits_first() {
        let (mut client, sock) = pair();
        let mut io = Io::plain(sock, Vec::new());
        let written = fill(&mut io);
        assert_eq!(io.write(b"BYE").expect("taken whole"), 3);
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            client.read_to_end(&mut all).expect("read");
            all
        });
        tokio::time::timeout(Duration::from_secs(30), io.shutdown())
            .await
            .expect("shutdown should finish once the client reads")
            .expect("shutdown");
        let all = reader.join().expect("reader");
        assert_eq!(all.len(), written + 3);
        assert_eq!(&all[written..], b"BYE");
    }

    /// A wait after a blocked write and then a blocked read (what rustls'
    /// flush does) ends when the client reads, without it sending anything.
    #[tokio::test]
    async fn a_wait_covers_every_way_that_blocked() {
        let (mut client, mut sock) = pair();
        let chunk = vec![b'a'; 64 * 1024];
        let mut written = 0;
        loop {
            match sock.write(&chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
            assert!(written < 256 << 20, "the socket never filled");
        }
        let mut byte = [0u8; 1];
        let read = sock.read(&mut byte).expect_err("the client sent nothing");
        assert_eq!(read.kind(), std::io::ErrorKind::WouldBlock);
        // The client stays open (its EOF would make the socket readable).
        let reader = std::thread::spawn(move || {
            let mut all = vec![0u8; written];
            client.read_exact(&mut all).expect("read");
            client
        });
        tokio::time::timeout(Duration::from_secs(30), sock.ready())
            .await
            .expect("the wait should end once the socket can take more")
            .expect("ready");
        let _client = reader.join().expect("reader");
    }

    /// Over a socket that stops taking bytes, what a shard writes and what
    /// tungstenite writes still reach the client in the order they were
    /// written, whole.
    #[tokio::test]
    async fn bytes_kept_for_a_full_socket_keep_their_order() {
        let (mut client, mut sock) = pair();
        sock.own().expect("owned");
        let mut io = Io::plain(sock, Vec::new());
        // Shard frames until the socket keeps some back.
        let written = fill(&mut io);
        // Then tungstenite's bytes, then the next tick's frames.
        assert_eq!(io.write(b"PONG").expect("taken whole"), 4);
        assert!(
            io.flush().is_err(),
            "a flush says WouldBlock while bytes wait"
        );
        io.write_frames(b"NEXT").expect("queued");
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            client.read_to_end(&mut all).expect("read");
            all
        });
        // Drain what waits (a blocking loop is fine: the client reads).
        while let Err(e) = io.flush() {
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
            std::thread::yield_now();
        }
        drop(io);
        let all = reader.join().expect("reader");
        assert_eq!(all.len(), written + 8);
        assert!(all[..written].iter().all(|&b| b == b'a'));
        assert_eq!(&all[written..], b"PONGNEXT");
    }
}
