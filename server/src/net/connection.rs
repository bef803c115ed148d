//! One client connection: upgrade, Hello, join, then one task that reads
//! inputs and writes snapshots.
//!
//! Reading and writing share one task and one `select!`: the task wakes for
//! a client message or for a new frame, whichever comes first. While a
//! snapshot is being written the client's next input waits in the socket,
//! which is harmless; frames published meanwhile are not queued, the
//! next write takes the newest one (latest wins), and the delta is against
//! what this client was actually sent.

use super::handshake::check_upgrade;
use super::listener::Shared;
use crate::room::{JoinError, Joined, RoomCmd, RoomManager};
use crate::view::ClientView;
use futures_util::{SinkExt, StreamExt};
use snapwire_shared::codec::{self, DecodeError};
use snapwire_shared::protocol::{MAX_NAME_BYTES, PROTOCOL_VERSION, close};
use snapwire_shared::{ClientMsg, ServerEvent, ServerMsg, Tick};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};
use tracing::{debug, info, warn};

type Ws = WebSocketStream<TcpStream>;

/// How long the server waits for the client's side of a close handshake.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How a connection ends.
#[derive(Debug)]
enum Outcome {
    /// The server closes with this code and reason.
    Close(u16, Cow<'static, str>),
    /// The peer sent a close frame; flush tungstenite's queued reply.
    PeerClosed,
    /// The transport failed; nothing more to send.
    Gone,
}

impl Outcome {
    fn close(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        Outcome::Close(code, reason.into())
    }
}

/// Serves one accepted TCP connection to the end.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    // Snapshots are small and latency-sensitive: never wait to coalesce.
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + shared.config.handshake_timeout;
    let ws_config = super::ws_config(shared.config.max_message_bytes);
    let mut ws = match timeout_at(
        deadline,
        accept_hdr_async_with_config(stream, check_upgrade, Some(ws_config)),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        Ok(Err(error)) => {
            debug!(%peer, %error, "upgrade refused or failed");
            return;
        }
        Err(_) => {
            debug!(%peer, "upgrade timed out");
            return;
        }
    };
    let outcome = match await_hello(&mut ws, deadline).await {
        Ok(name) => match shared.rooms.join(name).await {
            Ok(joined) => play(&mut ws, peer, &shared, joined).await,
            Err(e @ JoinError::ShuttingDown) => Outcome::close(close::GOING_AWAY, e.to_string()),
            Err(e @ JoinError::RoomGone) => Outcome::close(close::INTERNAL_ERROR, e.to_string()),
        },
        Err(outcome) => outcome,
    };
    match outcome {
        Outcome::Close(code, reason) => {
            debug!(%peer, code, %reason, "closing connection");
            close_with(&mut ws, code, reason).await;
        }
        Outcome::PeerClosed => {
            // Our close reply is queued inside tungstenite; send it.
            let _ = timeout(CLOSE_LINGER, ws.flush()).await;
        }
        Outcome::Gone => {}
    }
}

/// The outcome of a failed read: an oversized message gets 1009, anything
/// else means the transport is gone.
fn read_failure(error: &WsError) -> Outcome {
    match error {
        WsError::Capacity(_) => Outcome::close(close::MESSAGE_TOO_BIG, close::REASON_TOO_BIG),
        _ => Outcome::Gone,
    }
}

/// Waits for a valid `Hello` until `deadline`; returns the player's name.
async fn await_hello(ws: &mut Ws, deadline: Instant) -> Result<String, Outcome> {
    loop {
        let msg = match timeout_at(deadline, ws.next()).await {
            Err(_) => {
                return Err(Outcome::close(
                    close::POLICY_VIOLATION,
                    close::REASON_HELLO_TIMEOUT,
                ));
            }
            Ok(None) => return Err(Outcome::Gone),
            Ok(Some(Err(e))) => return Err(read_failure(&e)),
            Ok(Some(Ok(msg))) => msg,
        };
        let bytes = match msg {
            Message::Binary(b) => b,
            Message::Text(_) => {
                return Err(Outcome::close(
                    close::UNSUPPORTED_DATA,
                    close::REASON_BINARY_ONLY,
                ));
            }
            Message::Close(_) => return Err(Outcome::PeerClosed),
            _ => continue,
        };
        return match codec::decode_client(&bytes) {
            Err(e) => Err(decode_failure(e)),
            Ok(ClientMsg::Hello {
                protocol_version,
                name,
                resume_token: _,
            }) => {
                if protocol_version != PROTOCOL_VERSION {
                    Err(Outcome::close(
                        close::PROTOCOL_ERROR,
                        format!(
                            "protocol version {protocol_version} not supported; server speaks {PROTOCOL_VERSION}"
                        ),
                    ))
                } else if name.len() > MAX_NAME_BYTES {
                    Err(Outcome::close(
                        close::INVALID_PAYLOAD,
                        format!("name longer than {MAX_NAME_BYTES} bytes"),
                    ))
                } else {
                    // Resuming a session comes with reconnection support; until
                    // then a resume token is ignored and the player joins anew.
                    Ok(name)
                }
            }
            Ok(_) => Err(Outcome::close(
                close::PROTOCOL_ERROR,
                close::REASON_HELLO_FIRST,
            )),
        };
    }
}

fn decode_failure(e: DecodeError) -> Outcome {
    // DecodeError's text is fixed and never echoes client bytes.
    Outcome::close(close::INVALID_PAYLOAD, e.to_string())
}

/// Leaves the room when the connection ends, however it ends.
struct Seat {
    rooms: Arc<RoomManager>,
    joined_room: snapwire_shared::RoomId,
    commands: tokio::sync::mpsc::Sender<RoomCmd>,
    key: crate::room::PlayerKey,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let leave = RoomCmd::Leave { player: self.key };
        if let Err(TrySendError::Full(leave)) = self.commands.try_send(leave) {
            // The room drains its queue every tick; wait for space off-task.
            let commands = self.commands.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = commands.send(leave).await;
                });
            }
        }
        self.rooms.release(self.joined_room);
    }
}

/// The game session: Welcome, then inputs in and snapshots out.
async fn play(ws: &mut Ws, peer: SocketAddr, shared: &Shared, joined: Joined) -> Outcome {
    let Joined {
        room,
        key,
        welcome,
        roster,
        mut frames,
        mut events,
        commands,
    } = joined;
    let _seat = Seat {
        rooms: shared.rooms.clone(),
        joined_room: room,
        commands: commands.clone(),
        key,
    };
    let player = welcome.player;
    info!(%peer, %player, %room, entity = %welcome.entity, "player joined");
    if send(ws, &ServerMsg::Welcome(welcome)).await.is_err() {
        return Outcome::Gone;
    }
    let mut shutdown = shared.shutdown.clone();
    let mut view = ClientView::new(shared.config.view_radius);
    // Events wait here until the frame that reflects them is sent, so that a
    // PlayerLeft arrives in the same snapshot as the entity's removal.
    let mut pending_events: VecDeque<(Tick, ServerEvent)> =
        roster.into_iter().map(|e| (Tick::NONE, e)).collect();
    let mut due_events: Vec<ServerEvent> = Vec::new();
    let mut buf = Vec::with_capacity(512);
    let mut inputs_dropped: u64 = 0;
    let outcome = 'session: loop {
        tokio::select! {
            biased;
            _ = super::stopped(&mut shutdown) => break Outcome::close(close::GOING_AWAY, close::REASON_SHUTDOWN),
            changed = frames.changed() => {
                if changed.is_err() {
                    break Outcome::close(close::GOING_AWAY, "room closed");
                }
                let frame = frames.borrow_and_update().clone();
                loop {
                    match events.try_recv() {
                        Ok(e) => pending_events.push_back(e),
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                        Err(TryRecvError::Lagged(_)) => break 'session lagging(peer, player),
                    }
                }
                while pending_events.front().is_some_and(|(t, _)| !t.is_newer_than(frame.tick)) {
                    due_events.extend(pending_events.pop_front().map(|(_, e)| e));
                }
                buf.clear();
                if let Err(error) = view.encode_next(&frame, key.0, &due_events, &mut buf) {
                    warn!(%peer, %player, %error, "snapshot encoding failed");
                    break Outcome::close(close::INTERNAL_ERROR, "internal error");
                }
                due_events.clear();
                if ws.send(Message::Binary(buf.as_slice().to_vec().into())).await.is_err() {
                    break Outcome::Gone;
                }
                // The first snapshot carries the whole roster and every entity
                // in view; do not keep that much capacity for the small deltas
                // that follow (thousands of connections would each hold it).
                shrink_after_burst(&mut buf, &mut due_events, &mut pending_events);
            }
            msg = ws.next() => {
                let bytes = match msg {
                    None => break Outcome::Gone,
                    Some(Err(e)) => break read_failure(&e),
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Text(_))) => break Outcome::close(close::UNSUPPORTED_DATA, close::REASON_BINARY_ONLY),
                    Some(Ok(Message::Close(_))) => break Outcome::PeerClosed,
                    // Pings are answered by tungstenite itself.
                    Some(Ok(_)) => continue,
                };
                match codec::decode_client(&bytes) {
                    Err(e) => break decode_failure(e),
                    Ok(ClientMsg::Input(cmd)) => match cmd.sanitised() {
                        Err(e) => break Outcome::close(close::INVALID_PAYLOAD, e.to_string()),
                        Ok(cmd) => match commands.try_send(RoomCmd::Input { player: key, cmd }) {
                            Ok(()) => {}
                            // The room is behind; an input is worth less than
                            // a stalled connection. The next one replaces it.
                            Err(TrySendError::Full(_)) => inputs_dropped += 1,
                            Err(TrySendError::Closed(_)) => break Outcome::close(close::GOING_AWAY, "room closed"),
                        },
                    },
                    Ok(ClientMsg::Ping { client_time }) => {
                        let server_tick = frames.borrow().tick;
                        if send(ws, &ServerMsg::Pong { client_time, server_tick }).await.is_err() {
                            break Outcome::Gone;
                        }
                    }
                    Ok(ClientMsg::Leave) => break Outcome::close(close::NORMAL, close::REASON_BYE),
                    Ok(ClientMsg::Hello { .. }) => break Outcome::close(close::PROTOCOL_ERROR, close::REASON_DUPLICATE_HELLO),
                }
            }
        }
    };
    info!(%peer, %player, %room, inputs_dropped, last_tick = view.base_tick().0, "player left");
    if let Outcome::Close(code, reason) = &outcome {
        if *code != close::NORMAL {
            // In-band as well as in the close frame, for clients whose
            // WebSocket API hides close reasons.
            let _ = send(
                ws,
                &ServerMsg::Kicked {
                    reason: reason.to_string(),
                },
            )
            .await;
        }
    }
    outcome
}

/// Capacity kept by a connection's reusable buffers between snapshots.
const KEEP_BYTES: usize = 2048;
const KEEP_EVENTS: usize = 16;

fn shrink_after_burst(buf: &mut Vec<u8>, due: &mut Vec<ServerEvent>, pending: &mut VecDeque<(Tick, ServerEvent)>) {
    if buf.capacity() > KEEP_BYTES {
        buf.shrink_to(KEEP_BYTES);
    }
    if due.capacity() > KEEP_EVENTS {
        due.shrink_to(KEEP_EVENTS);
    }
    if pending.capacity() > KEEP_EVENTS && pending.len() <= KEEP_EVENTS {
        pending.shrink_to(KEEP_EVENTS);
    }
}

fn lagging(peer: SocketAddr, player: snapwire_shared::PlayerId) -> Outcome {
    warn!(%peer, %player, "client fell too far behind on reliable events");
    Outcome::close(close::POLICY_VIOLATION, close::REASON_LAGGING)
}

async fn send(ws: &mut Ws, msg: &ServerMsg) -> Result<(), ()> {
    let bytes = codec::server_to_vec(msg).map_err(|error| warn!(%error, "encoding failed"))?;
    ws.send(Message::Binary(bytes.into())).await.map_err(|_| ())
}

/// Sends a close frame and waits briefly for the client's answer, so that
/// the close frame is read before the TCP connection goes away.
async fn close_with(ws: &mut Ws, code: u16, reason: Cow<'static, str>) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.as_ref().into(),
    };
    let _ = timeout(CLOSE_LINGER, async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}
