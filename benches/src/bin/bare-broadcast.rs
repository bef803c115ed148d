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

use anyhow::Context;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use snapwire_shared::codec;
use snapwire_shared::delta::EntityDelta;
use snapwire_shared::protocol::{SUBPROTOCOL, close};
use snapwire_shared::{
    ClientMsg, EntityId, PlayerId, RoomId, ServerEvent, ServerMsg, SessionToken, Snapshot, Tick,
    Welcome, WorldInfo,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
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
}

/// The payload for `tick`: a complete, empty snapshot padded to `size`.
fn payload(tick: Tick, size: usize) -> Bytes {
    let snapshot = |pad: usize| Snapshot {
        tick,
        base_tick: Tick::NONE,
        ack_input_seq: 0,
        delta: EntityDelta::default(),
        events: vec![ServerEvent::PlayerJoined {
            player: PlayerId(1),
            entity: EntityId(1),
            name: "x".repeat(pad),
        }],
    };
    let bare = codec::server_to_vec(&ServerMsg::Snapshot(snapshot(0)))
        .expect("encodes")
        .len();
    let mut pad = size.saturating_sub(bare);
    // The name's length prefix grows by two bytes past 250.
    let mut bytes = codec::server_to_vec(&ServerMsg::Snapshot(snapshot(pad))).expect("encodes");
    while bytes.len() > size && pad > 0 {
        pad -= 1;
        bytes = codec::server_to_vec(&ServerMsg::Snapshot(snapshot(pad))).expect("encodes");
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

async fn serve(stream: TcpStream, mut frames: watch::Receiver<Bytes>, tick_rate: u16) {
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
        return;
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
            _ => return,
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
            move_speed: 200.0,
        },
    });
    let welcome = codec::server_to_vec(&welcome).expect("encodes");
    if ws.send(Message::Binary(welcome.into())).await.is_err() {
        return;
    }
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

fn close_frame() -> tokio_tungstenite::tungstenite::protocol::CloseFrame {
    tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: close::GOING_AWAY.into(),
        reason: close::REASON_SHUTDOWN.into(),
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
        "bare-broadcast on ws://{}/play, {} bytes at {} Hz",
        listener.local_addr()?,
        tx.borrow().len(),
        rate
    );
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut tick = Tick::NONE;
        loop {
            ticker.tick().await;
            tick = tick.next();
            tx.send_replace(payload(tick, size));
        }
    });
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve(stream, rx.clone(), rate));
                }
            }
        }
    }
}
