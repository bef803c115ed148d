//! The HTTP side of the WebSocket upgrade: path and subprotocol checks.

use snapwire_shared::protocol::{PLAY_PATH, SUBPROTOCOL};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};

/// Accepts an upgrade to `/play` that offers the `snapwire.v1` subprotocol,
/// and answers it with that subprotocol; refuses anything else with a plain
/// HTTP error that says what was wrong.
// The signature is tungstenite's `Callback`; the error type is theirs.
#[allow(clippy::result_large_err)]
pub(crate) fn check_upgrade(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    if req.uri().path() != PLAY_PATH {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no such endpoint; the game is at {PLAY_PATH}\n"),
        ));
    }
    let offered = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if !offered {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("missing WebSocket subprotocol: offer Sec-WebSocket-Protocol: {SUBPROTOCOL}\n"),
        ));
    }
    resp.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(SUBPROTOCOL),
    );
    Ok(resp)
}

/// Refuses an upgrade because the server is at `--max-connections`.
#[allow(clippy::result_large_err)] // tungstenite's `Callback` signature
pub(crate) fn refuse_full(_: &Request, _: Response) -> Result<Response, ErrorResponse> {
    Err(unavailable("server full: too many connections\n"))
}

/// Refuses an upgrade because its address is at `--max-connections-per-ip`.
#[allow(clippy::result_large_err)] // tungstenite's `Callback` signature
pub(crate) fn refuse_per_address(_: &Request, _: Response) -> Result<Response, ErrorResponse> {
    Err(unavailable("too many connections from your address\n"))
}

/// 503 with a hint to retry later.
fn unavailable(body: &str) -> ErrorResponse {
    let mut resp = refuse(StatusCode::SERVICE_UNAVAILABLE, body.to_owned());
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    resp
}

fn refuse(status: StatusCode, body: String) -> ErrorResponse {
    let mut resp = ErrorResponse::new(Some(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
