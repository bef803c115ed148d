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
//! `--mode loop` measures the floor below that: after the same handshake,
//! one task drives every socket, once per tick, with non-blocking reads
//! (discarded unparsed) and one write of a frame built once per tick. No
//! task per connection, no per-message WebSocket machinery: what one TCP
//! connection per client costs on this machine with no overhead above the
//! kernel's. A design that serves a room's clients from one loop per tick
//! can approach it; none using one socket per client can go below it.

use anyhow::Context;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use snapwire_shared::codec;
use snapwire_shared::protocol::{SUBPROTOCOL, close};
use snapwire_shared::{
    ClientMsg, EntityId, PlayerId, RoomId, ServerEvent, ServerMsg, SessionToken, Tick, Welcome,
    WorldInfo,
};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;
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
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Mode {
    /// One tokio-tungstenite task per socket: the obvious way.
    Tasks,
    /// One task writes every socket each tick: the floor of the transport.
    Loop,
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

/// The upgrade, the client's Hello and our Welcome; `None` if the client
/// went away or broke the protocol meanwhile.
async fn join(stream: TcpStream, tick_rate: u16) -> Option<Ws> {
    let _ = stream.set_nodelay(true);
    // The same transport settings as snapwire-server.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(4096))
        .max_frame_size(Some(4096));
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
        // One server-to-client (unmasked) binary frame, built once a tick.
        let mut frame = Vec::with_capacity(size + 10);
        Frame::message(payload(tick, size), OpCode::Data(Data::Binary), true)
            .format(&mut frame)
            .expect("writing to a Vec cannot fail");
        let frame = Bytes::from(frame);
        conns.retain_mut(|c| c.serve(&frame, &mut scratch));
    }
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
    match cli.mode {
        Mode::Loop => drop(tokio::spawn(drive(joined, rate, size))),
        Mode::Tasks => drop(tokio::spawn(publish(tx, rate, size))),
    }
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                match cli.mode {
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
}
