//! The HTTP side of the WebSocket upgrade: path, origin and subprotocol
//! checks.

use snapwire_shared::protocol::{OLD_SUBPROTOCOLS, PLAY_PATH, SUBPROTOCOL};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};

/// Whether a handshake's `Origin` may connect: any when the allowlist is
/// empty; none but the listed ones when a browser sends one; always when
/// there is no `Origin` at all (native clients send none).
pub(crate) fn origin_allowed(req: &Request, allowed: &[String]) -> bool {
    match req.headers().get(header::ORIGIN) {
        None => true,
        Some(origin) => origin_allowed_value(origin, allowed),
    }
}

/// Whether a request's `Origin` header is one of `allowed` (any when empty).
pub(crate) fn origin_allowed_value(origin: &HeaderValue, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim().trim_end_matches('/');
    allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

/// Accepts an upgrade to `/play` from an allowed origin that offers the
/// `snapwire.v2` subprotocol, and answers it with that subprotocol (an
/// older version's is answered too, so that its `Hello` gets a close frame
/// naming both versions rather than a bare HTTP error); refuses
/// anything else with a plain HTTP error that says what was wrong. A refused
/// origin (counted as a violation, unlike a client bug) sets
/// `origin_refused`.
// The error type is tungstenite's.
#[allow(clippy::result_large_err)]
pub(crate) fn check_upgrade(
    req: &Request,
    mut resp: Response,
    allowed_origins: &[String],
    origin_refused: &mut bool,
) -> Result<Response, ErrorResponse> {
    if req.uri().path() != PLAY_PATH {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("no such endpoint; the game is at {PLAY_PATH}\n"),
        ));
    }
    if !origin_allowed(req, allowed_origins) {
        *origin_refused = true;
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "origin not allowed\n".to_owned(),
        ));
    }
    let offered: Vec<&str> = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let chosen = std::iter::once(SUBPROTOCOL)
        .chain(OLD_SUBPROTOCOLS.iter().copied())
        .find(|p| offered.contains(p));
    let Some(chosen) = chosen else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("missing WebSocket subprotocol: offer Sec-WebSocket-Protocol: {SUBPROTOCOL}\n"),
        ));
    };
    resp.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(chosen),
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

/// A plain-text HTTP refusal of an upgrade.
pub(super) fn refuse(status: StatusCode, body: String) -> ErrorResponse {
    let mut resp = ErrorResponse::new(Some(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: Option<&str>) -> Request {
        let mut b = Request::builder().uri("/play");
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(()).expect("a valid request")
    }

    #[test]
    fn origins_are_matched_exactly_ignoring_case_and_a_final_slash() {
        let allowed = vec!["https://game.example".to_owned()];
        assert!(origin_allowed(&request(None), &allowed));
        assert!(origin_allowed(
            &request(Some("https://game.example")),
            &allowed
        ));
        assert!(origin_allowed(
            &request(Some("HTTPS://Game.Example/")),
            &allowed
        ));
        assert!(!origin_allowed(
            &request(Some("https://evil.example")),
            &allowed
        ));
        assert!(!origin_allowed(
            &request(Some("https://game.example.evil.example")),
            &allowed
        ));
        assert!(!origin_allowed(&request(Some("null")), &allowed));
        assert!(origin_allowed(&request(Some("https://evil.example")), &[]));
    }
}
