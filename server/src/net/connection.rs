//! One client connection up to the game: admission, upgrade, Hello, join
//! and Welcome; then its room's shard (`shard.rs`) serves the session
//! (`session.rs`), and the close follows (`close_out`).
//!
//! Every resource a client can make the server spend is bounded here or in
//! the session: message size (tungstenite's limits, 1009), message rate
//! (token bucket, 1008), time to Hello, silence (idle timeout), and not
//! reading (a WebSocket Ping must be answered, and every write must
//! complete, within the stall timeout). Violations are counted and logged
//! through [`Stats`](crate::stats::Stats), and never touch another
//! connection.

use super::handshake::check_upgrade;
use super::limits::Admission;
use super::listener::Shared;
use super::session::Session;
use super::shard::Served;
use super::stream::{self, drive, drive_io};
use super::transport;
use crate::room::{JoinError, JoinRequest, Joined};
use crate::stats::{Closed, Violation};
use snapwire_shared::codec;
use snapwire_shared::protocol::{MAX_AUTH_TOKEN_BYTES, MAX_NAME_BYTES, PROTOCOL_VERSION, close};
use snapwire_shared::{ClientMsg, SessionToken};
use std::borrow::Cow;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::debug;

pub(super) use super::stream::Ws;

/// The longest close reason a frame can carry (RFC 6455 §5.5: a control
/// frame's payload is at most 125 bytes, two of them the code).
const MAX_CLOSE_REASON: usize = 123;

/// How long the server waits for the client's side of a close handshake.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How a connection ends.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The server closes with this code and reason; `Some` kind when the
    /// client broke a rule (counted and logged).
    Close(u16, Cow<'static, str>, Option<Violation>),
    /// The peer sent a close frame; flush tungstenite's queued reply.
    PeerClosed,
    /// The transport failed or stalled; nothing more can be sent.
    Gone,
}

impl Outcome {
    pub(super) fn close(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        Outcome::Close(code, reason.into(), None)
    }

    pub(super) fn violation(
        kind: Violation,
        code: u16,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Outcome::Close(code, reason.into(), Some(kind))
    }
}

/// What an admitted connection holds until it is closed, wherever it is
/// being served: its connection slots, its place in the `open` gauge, and
/// the listener's count of live connections (which shutdown waits for).
pub(crate) struct Guards {
    shared: Arc<Shared>,
    _admission: Admission,
    _alive: mpsc::Sender<()>,
}

impl Guards {
    pub(crate) fn new(shared: Arc<Shared>, admission: Admission, alive: mpsc::Sender<()>) -> Self {
        let stats = &shared.config.stats;
        stats.admitted.fetch_add(1, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::Relaxed);
        Guards {
            shared,
            _admission: admission,
            _alive: alive,
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Guards {
    fn drop(&mut self) {
        self.shared
            .config
            .stats
            .open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one accepted and admitted TCP connection up to its join, then
/// hands it to its room's shard; closes it here if it never gets there.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, guards: Guards) {
    let shared = guards.shared.clone();
    let stats = &shared.config.stats;
    // Snapshots are small and latency-sensitive: never wait to coalesce.
    let _ = stream.set_nodelay(true);
    let config = &shared.config;
    let deadline = Instant::now() + config.handshake_timeout;
    let mut shutdown = shared.shutdown.clone();
    // TLS, then the request line, which says where the request goes.
    let routed = async {
        let mut transport = transport::accept(stream, config.tls.as_ref()).await?;
        let line = transport.read_request_line().await?;
        Ok::<_, std::io::Error>((transport, line))
    };
    let (transport, line) = tokio::select! {
        routed = timeout_at(deadline, routed) => match routed {
            Ok(Ok(routed)) => routed,
            Ok(Err(error)) => {
                debug!(%peer, %error, "connection failed before its request");
                return;
            }
            Err(_) => {
                stats.violation(Violation::HandshakeTimeout, peer, "no request in time");
                return;
            }
        },
        () = super::stopped(&mut shutdown) => return,
    };
    match line {
        Some(l)
            if config.conformance_echo && l.method == "GET" && l.path == super::echo::ECHO_PATH =>
        {
            super::echo::serve(transport, peer, guards, deadline).await;
            return;
        }
        Some(l) if l.path == crate::cluster::MATCHMAKE_PATH => {
            crate::cluster::http::serve(transport, peer, guards).await;
            return;
        }
        Some(l) if super::page::is_page_path(&l.path) => {
            let page = config.demo.then(|| config.game.page()).flatten();
            super::page::serve(transport, peer, guards, page).await;
            return;
        }
        _ => {}
    }
    let ws_config = super::ws_config(config.max_message_bytes);
    let mut origin_refused = false;
    let upgrade = async {
        // The error type is tungstenite's `Callback`'s.
        #[allow(clippy::result_large_err)]
        let check = |req: &Request, resp: Response| {
            check_upgrade(req, resp, &config.allowed_origins, &mut origin_refused)
        };
        stream::accept(transport.into_io(), check, ws_config).await
    };
    // Not upgraded yet: on shutdown there is no WebSocket to send 1001 on.
    let upgraded = tokio::select! {
        upgraded = timeout_at(deadline, upgrade) => upgraded,
        () = super::stopped(&mut shutdown) => return,
    };
    let mut ws = match upgraded {
        Ok(Ok(ws)) => ws,
        Ok(Err(error)) => {
            if origin_refused {
                stats.violation(Violation::ForbiddenOrigin, peer, "origin not allowed (403)");
            }
            debug!(%peer, %error, "upgrade refused or failed");
            return;
        }
        Err(_) => {
            stats.violation(Violation::HandshakeTimeout, peer, "upgrade not finished");
            return;
        }
    };
    // Upgraded but not joined: shutdown closes it with 1001 like everyone.
    let hello = tokio::select! {
        hello = await_hello(&mut ws, deadline, config.max_message_bytes) => hello,
        () = super::stopped(&mut shutdown) => {
            Err(Outcome::close(close::GOING_AWAY, close::REASON_SHUTDOWN))
        }
    };
    let outcome = match hello {
        Ok(hello) => match admit(&shared, hello).await {
            Ok(joined) => {
                stats.joined.fetch_add(1, Ordering::Relaxed);
                if joined.resumed {
                    stats.resumed.fetch_add(1, Ordering::Relaxed);
                }
                let mut session = Session::new(peer, shared.clone(), joined);
                // Welcomed: the socket leaves the reactor for its shard.
                let started = match session.start(&mut ws).await {
                    Ok(()) => ws.get_mut().sock().own().map_err(|_| Outcome::Gone),
                    Err(outcome) => Err(outcome),
                };
                match started {
                    Ok(()) => {
                        let served = Box::new(Served {
                            session,
                            ws,
                            guards,
                        });
                        shared.shards.hand_off(&shared, served);
                        return;
                    }
                    Err(outcome) => {
                        Box::new(session).end(&mut ws, &outcome).await;
                        outcome
                    }
                }
            }
            Err(outcome) => outcome,
        },
        Err(outcome) => outcome,
    };
    close_out(&mut ws, peer, &shared, outcome).await;
    drop(guards);
}

/// Closes a connection the way its outcome says: counts a violation, sends
/// the close frame and waits briefly for the client's, or only flushes the
/// reply to the client's close.
pub(super) async fn close_out(ws: &mut Ws, peer: SocketAddr, shared: &Shared, outcome: Outcome) {
    let stats = &shared.config.stats;
    stats.closed(match &outcome {
        Outcome::Close(code, ..) => Closed::Code(*code),
        Outcome::PeerClosed => Closed::Client,
        Outcome::Gone => Closed::NoFrame,
    });
    stats.closing.fetch_add(1, Ordering::Relaxed);
    match outcome {
        Outcome::Close(code, reason, kind) => {
            if let Some(kind) = kind {
                stats.violation(kind, peer, &reason);
            }
            debug!(%peer, code, %reason, "closing connection");
            // After a frame too long or malformed, the reader is stuck
            // inside that frame: what follows is not read as frames.
            let in_step = !matches!(kind, Some(Violation::Oversized | Violation::ProtocolError));
            close_with(ws, code, reason, in_step).await;
        }
        Outcome::PeerClosed => {
            // Our close reply is queued inside tungstenite; send it. Once it
            // is out, tungstenite says the connection is closed.
            let _ = timeout(CLOSE_LINGER, async {
                if let Ok(()) | Err(WsError::ConnectionClosed) = drive(ws, |ws| ws.flush()).await {
                    finish_tcp(ws).await;
                }
            })
            .await;
        }
        Outcome::Gone => {}
    }
    stats.closing.fetch_sub(1, Ordering::Relaxed);
}

/// The outcome of a failed read. A client that broke the WebSocket framing
/// rules (RFC 6455) is failed with 1002 and a short reason, invalid UTF-8
/// (in a text message or a close reason) with 1007, an oversized message
/// with 1009, each counted; only a transport that is really gone (reset,
/// EOF in the middle of the stream, an I/O error) is left without a frame.
pub(super) fn read_failure(error: &WsError) -> Outcome {
    match error {
        WsError::Capacity(_) => Outcome::violation(
            Violation::Oversized,
            close::MESSAGE_TOO_BIG,
            close::REASON_TOO_BIG,
        ),
        WsError::Utf8(_) => Outcome::violation(
            Violation::InvalidUtf8,
            close::INVALID_PAYLOAD,
            close::REASON_INVALID_UTF8,
        ),
        WsError::Protocol(e) => match protocol_reason(e) {
            Some(reason) => {
                Outcome::violation(Violation::ProtocolError, close::PROTOCOL_ERROR, reason)
            }
            None => Outcome::Gone,
        },
        _ => Outcome::Gone,
    }
}

/// The close reason for a framing error a client made; `None` for what
/// only means the connection went away.
fn protocol_reason(error: &ProtocolError) -> Option<&'static str> {
    Some(match error {
        ProtocolError::NonZeroReservedBits => "reserved bits set",
        ProtocolError::UnmaskedFrameFromClient => "unmasked client frame",
        ProtocolError::FragmentedControlFrame => "fragmented control frame",
        ProtocolError::ControlFrameTooBig => "control frame too long",
        ProtocolError::InvalidOpcode(_)
        | ProtocolError::UnknownControlFrameType(_)
        | ProtocolError::UnknownDataFrameType(_) => "unknown opcode",
        ProtocolError::UnexpectedContinueFrame => "continuation frame without a message",
        ProtocolError::ExpectedFragment(_) => "new message before the fragmented one ended",
        ProtocolError::InvalidCloseSequence => "invalid close frame",
        ProtocolError::ReceivedAfterClosing => "frame after close",
        ProtocolError::ResetWithoutClosingHandshake => return None,
        // Handshake and send-side errors do not come from reading frames.
        _ => "protocol error",
    })
}

pub(super) fn text_frame() -> Outcome {
    Outcome::violation(
        Violation::TextFrame,
        close::UNSUPPORTED_DATA,
        close::REASON_BINARY_ONLY,
    )
}

/// Decodes a client message, or says how to close.
pub(super) fn decode(bytes: &[u8], limit: usize) -> Result<ClientMsg, Outcome> {
    // DecodeError's text is fixed and never echoes client bytes.
    codec::decode_client_limited(bytes, limit).map_err(|e| {
        Outcome::violation(
            Violation::Undecodable,
            close::INVALID_PAYLOAD,
            e.to_string(),
        )
    })
}

/// What a valid `Hello` asked for.
struct Hello {
    name: String,
    resume_token: Option<SessionToken>,
    auth_token: Option<String>,
}

/// Joins the room the `Hello` asks for, or resumes its session.
///
/// A resume token is a credential of its own (unguessable, single use,
/// issued to a player who was admitted, valid for the resume grace), so a
/// resume needs no join token. Otherwise, with an auth secret configured,
/// the join token decides who the player is and where they go.
async fn admit(shared: &Shared, hello: Hello) -> Result<Joined, Outcome> {
    if shared.draining() {
        return Err(Outcome::close(close::GOING_AWAY, close::REASON_SHUTDOWN));
    }
    let cluster = &shared.cluster;
    let mut seat = None;
    let joined = if let Some(token) = hello.resume_token {
        shared.rooms.resume(token).await
    } else if let Some(reservation) = hello
        .auth_token
        .as_deref()
        .filter(|t| crate::cluster::seat::Seats::is_reservation(t))
    {
        // A seat from /matchmake: it names the room, and the player when
        // a join token vouched for them at matchmaking.
        let claims = cluster.seats.accept(reservation).map_err(|e| {
            debug!(error = %e, "reservation refused");
            Outcome::violation(
                Violation::BadToken,
                close::POLICY_VIOLATION,
                close::REASON_INVALID_RESERVATION,
            )
        })?;
        if shared.config.auth.is_some() && claims.player().is_none() {
            return Err(Outcome::violation(
                Violation::BadToken,
                close::POLICY_VIOLATION,
                close::REASON_INVALID_TOKEN,
            ));
        }
        let request = JoinRequest {
            name: claims.name.clone().unwrap_or(hello.name),
            player: claims.player(),
            room: Some(claims.room_id()),
            seat: Some(claims.jti.clone()),
        };
        seat = Some(claims);
        shared.rooms.join(request).await
    } else if cluster.requires_reservation() {
        return Err(Outcome::violation(
            Violation::BadToken,
            close::POLICY_VIOLATION,
            close::REASON_RESERVATION_REQUIRED,
        ));
    } else {
        let request = match &shared.config.auth {
            Some(auth) => {
                let identity = hello
                    .auth_token
                    .as_deref()
                    .and_then(|t| auth.verify(t).ok())
                    .ok_or_else(|| {
                        Outcome::violation(
                            Violation::BadToken,
                            close::POLICY_VIOLATION,
                            close::REASON_INVALID_TOKEN,
                        )
                    })?;
                JoinRequest {
                    name: identity.name,
                    player: Some(identity.player),
                    room: identity.room,
                    seat: None,
                }
            }
            None => JoinRequest::named(hello.name),
        };
        shared.rooms.join(request).await
    };
    if let (Ok(_), Some(claims)) = (&joined, &seat) {
        cluster.seat_used(&claims.jti);
    }
    joined.map_err(|e| match e {
        JoinError::ShuttingDown => Outcome::close(close::GOING_AWAY, close::REASON_SHUTDOWN),
        JoinError::RoomGone => Outcome::close(close::INTERNAL_ERROR, e.to_string()),
        JoinError::RoomFull => Outcome::close(close::TRY_AGAIN_LATER, close::REASON_ROOM_FULL),
        JoinError::RoomMoved => Outcome::close(close::ROOM_MOVED, close::REASON_ROOM_MOVED),
        JoinError::InvalidResume => Outcome::violation(
            Violation::BadResume,
            close::POLICY_VIOLATION,
            close::REASON_INVALID_RESUME,
        ),
    })
}

/// Waits for a valid `Hello` until `deadline`.
async fn await_hello(ws: &mut Ws, deadline: Instant, limit: usize) -> Result<Hello, Outcome> {
    loop {
        let msg = match timeout_at(deadline, drive(ws, |ws| ws.read())).await {
            Err(_) => {
                return Err(Outcome::violation(
                    Violation::HandshakeTimeout,
                    close::POLICY_VIOLATION,
                    close::REASON_HELLO_TIMEOUT,
                ));
            }
            Ok(Err(e)) => return Err(read_failure(&e)),
            Ok(Ok(msg)) => msg,
        };
        let bytes = match msg {
            Message::Binary(b) => b,
            Message::Text(_) => return Err(text_frame()),
            Message::Close(_) => return Err(Outcome::PeerClosed),
            _ => continue,
        };
        return match decode(&bytes, limit)? {
            ClientMsg::Hello {
                protocol_version,
                name,
                resume_token,
                auth_token,
            } => {
                if protocol_version != PROTOCOL_VERSION {
                    Err(Outcome::violation(
                        Violation::WrongVersion,
                        close::PROTOCOL_ERROR,
                        format!(
                            "protocol version {protocol_version} not supported; server speaks {PROTOCOL_VERSION}"
                        ),
                    ))
                } else if name.len() > MAX_NAME_BYTES {
                    Err(Outcome::violation(
                        Violation::InvalidValue,
                        close::INVALID_PAYLOAD,
                        format!("name longer than {MAX_NAME_BYTES} bytes"),
                    ))
                } else if auth_token
                    .as_ref()
                    .is_some_and(|t| t.len() > MAX_AUTH_TOKEN_BYTES)
                {
                    Err(Outcome::violation(
                        Violation::InvalidValue,
                        close::INVALID_PAYLOAD,
                        format!("auth token longer than {MAX_AUTH_TOKEN_BYTES} bytes"),
                    ))
                } else {
                    Ok(Hello {
                        name,
                        resume_token,
                        auth_token,
                    })
                }
            }
            _ => Err(Outcome::violation(
                Violation::OutOfOrder,
                close::PROTOCOL_ERROR,
                close::REASON_HELLO_FIRST,
            )),
        };
    }
}

/// Sends a close frame and waits briefly for the client's answer, so that
/// the close frame is read before the TCP connection goes away. Where the
/// client's stream can no longer be read as frames (`in_step` false), its
/// bytes are read and discarded instead, after the FIN.
async fn close_with(ws: &mut Ws, code: u16, reason: Cow<'static, str>, in_step: bool) {
    // RFC 6455 allows 123 bytes of reason; a game's own (input refusals
    // name its fields) may be longer: cut at a character boundary.
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason[..end].into(),
    };
    let _ = timeout(CLOSE_LINGER, async {
        let sent = match ws.close(Some(frame)) {
            Err(e) if !stream::would_block(&e) => Err(e),
            // Queued; `WouldBlock` if not all of it is written yet.
            _ => drive(ws, |ws| ws.flush()).await,
        };
        if sent.is_ok() && in_step {
            // The client's frames until its close (then tungstenite says
            // the connection is closed).
            while drive(ws, |ws| ws.read()).await.is_ok() {}
        }
        finish_tcp(ws).await;
    })
    .await;
}

/// Ends the TCP side once the close frames are out: the server's FIN first
/// (RFC 6455 §7.1.1), then whatever the client still sends is read and
/// discarded until it closes too. Dropping a socket that has unread bytes
/// makes the kernel send a reset, and a reset can make the client's kernel
/// discard the close frame before the client read it: after a framing
/// error the client's next frames are usually still arriving.
async fn finish_tcp(ws: &mut Ws) {
    let io = ws.get_mut();
    if io.shutdown().await.is_err() {
        return;
    }
    // The buffer lives in each read, not in this future: a mass
    // disconnect holds one such future per connection for the linger.
    while let Ok(1..) = drive_io(io, |io| io.read(&mut [0u8; 512])).await {}
}
