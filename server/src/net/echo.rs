//! `--conformance-echo`: a plain WebSocket echo at `/echo`, so that the
//! Autobahn conformance suite can drive snapwire's WebSocket layer (framing,
//! fragments, control frames, UTF-8, close handshake) without a game: the
//! same synchronous tungstenite over the same non-blocking stream
//! (`stream.rs`) as `/play`.
//!
//! Off by default; routed by the request line (`connection.rs`), since
//! tungstenite takes its size limits when the WebSocket is made and the
//! echo's are not `/play`'s. It shares `/play`'s read-error mapping and close path
//! (`connection.rs`), so the close codes it earns are the ones game clients
//! get; only the size limits are generous, because the suite sends messages
//! of up to 16 MiB.

use super::connection::{Guards, Outcome, close_out, read_failure};
use super::stream::{self, drive};
use super::transport::Transport;
use snapwire_shared::protocol::close;
use std::net::SocketAddr;
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tracing::debug;

/// Where the echo is served.
pub const ECHO_PATH: &str = "/echo";
/// The echo's WebSocket settings: large enough for every Autobahn case
/// (16 MiB messages), still bounded.
fn echo_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(32 << 20))
        .max_write_buffer_size(96 << 20)
}

#[allow(clippy::result_large_err)] // tungstenite's `Callback` signature
fn check_echo(req: &Request, resp: Response) -> Result<Response, ErrorResponse> {
    if req.uri().path() == ECHO_PATH {
        return Ok(resp);
    }
    Err(super::handshake::refuse(
        StatusCode::NOT_FOUND,
        "no such endpoint\n".to_owned(),
    ))
}

/// Upgrades and echoes every text and binary message back until the
/// client closes, breaks the protocol, or the server shuts down (1001).
pub(super) async fn serve(
    transport: Transport,
    peer: SocketAddr,
    guards: Guards,
    deadline: Instant,
) {
    let shared = guards.shared().clone();
    let upgrade = stream::accept(transport.into_io(), check_echo, echo_config());
    let mut ws = match timeout_at(deadline, upgrade).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(error)) => {
            debug!(%peer, %error, "echo upgrade failed");
            return;
        }
        Err(_) => return,
    };
    let mut shutdown = shared.shutdown.clone();
    let outcome = loop {
        let msg = tokio::select! {
            msg = drive(&mut ws, |ws| ws.read()) => msg,
            () = super::stopped(&mut shutdown) => {
                break Outcome::close(close::GOING_AWAY, close::REASON_SHUTDOWN);
            }
        };
        match msg {
            Err(e) => break read_failure(&e),
            Ok(Message::Close(_)) => break Outcome::PeerClosed,
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if stream::send(&mut ws, m).await.is_err() {
                    break Outcome::Gone;
                }
            }
            // tungstenite answers pings itself.
            Ok(_) => {}
        }
    };
    close_out(&mut ws, peer, &shared, outcome).await;
    drop(guards);
}
