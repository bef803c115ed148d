//! `POST /matchmake` on the game port: JSON in, JSON out, one request per
//! connection ([`crate::net::http1`]).
//!
//! Request: `{"mode": "arena", "room": 42, "token": "<join token>"}` (`room`
//! optional; `token` required when the server checks join tokens). Answer:
//! `{"url", "room", "reservation", "expires_in"}`, or an error status with
//! `{"error": "..."}`. Browsers may call it from the allowed origins
//! (`--allowed-origin`; any when none is set), with a CORS preflight.

use super::{MatchError, MatchRequest};
use crate::net::connection::Guards;
use crate::net::transport::Transport;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use snapwire_shared::RoomId;
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest request body, bytes.
const MAX_BODY: usize = 4096;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    mode: String,
    #[serde(default)]
    room: Option<u32>,
    #[serde(default)]
    token: Option<String>,
}

/// Serves one HTTP request on a connection routed here by its request line.
pub(crate) async fn serve(transport: Transport, peer: SocketAddr, guards: Guards) {
    let shared = guards.shared().clone();
    crate::net::http1::serve_one(transport, peer, guards, "matchmake", move |req| {
        let shared = shared.clone();
        async move { respond(req, &shared).await }
    })
    .await;
}

async fn respond(
    req: Request<Incoming>,
    shared: &Arc<crate::net::listener::Shared>,
) -> Response<Full<Bytes>> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed = match &origin {
        None => None,
        Some(o)
            if crate::net::handshake::origin_allowed_value(o, &shared.config.allowed_origins) =>
        {
            Some(o.clone())
        }
        Some(_) => {
            return json(
                StatusCode::FORBIDDEN,
                error_body("origin not allowed"),
                None,
            );
        }
    };
    if req.uri().path() != super::MATCHMAKE_PATH {
        return json(StatusCode::NOT_FOUND, error_body("not found"), allowed);
    }
    if req.method() == Method::OPTIONS {
        let mut r = json(StatusCode::NO_CONTENT, String::new(), allowed);
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return r;
    }
    if req.method() != Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            error_body("POST only"),
            allowed,
        );
    }
    let bytes = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                error_body("body too large or cut"),
                allowed,
            );
        }
    };
    let body: Body = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(_) => {
            return json(
                StatusCode::BAD_REQUEST,
                error_body(
                    "expected JSON {\"mode\": string, \"room\"?: number, \"token\"?: string}",
                ),
                allowed,
            );
        }
    };
    if shared.draining() {
        let e = MatchError::Draining;
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            error_body(&e.to_string()),
            allowed,
        );
    }
    let mut room = body.room.filter(|&r| r != 0).map(RoomId);
    if body.room == Some(0) {
        return json(
            StatusCode::BAD_REQUEST,
            error_body("room ids start at 1"),
            allowed,
        );
    }
    let who = match &shared.config.auth {
        Some(auth) => match body.token.as_deref().map(|t| auth.verify(t)) {
            Some(Ok(id)) => {
                if let Some(r) = id.room {
                    if room.is_some_and(|asked| asked != r) {
                        return json(
                            StatusCode::FORBIDDEN,
                            error_body("the join token names another room"),
                            allowed,
                        );
                    }
                    room = Some(r);
                }
                Some((id.player, id.name))
            }
            _ => {
                return json(
                    StatusCode::UNAUTHORIZED,
                    error_body("invalid token"),
                    allowed,
                );
            }
        },
        None => None,
    };
    let request = MatchRequest {
        mode: body.mode,
        room,
        who,
    };
    let placed = shared
        .cluster
        .matchmake(&shared.rooms, shared.config.room_capacity, request)
        .await;
    match placed {
        Ok(p) => {
            let body = serde_json::json!({
                "url": p.url,
                "room": p.room.0,
                "reservation": p.reservation,
                "expires_in": p.expires_in,
            });
            json(StatusCode::OK, body.to_string(), allowed)
        }
        Err(e) => {
            let status = match e {
                MatchError::UnknownMode | MatchError::WrongMode => StatusCode::NOT_FOUND,
                MatchError::RoomFull => StatusCode::CONFLICT,
                MatchError::NoServer | MatchError::Unavailable | MatchError::Draining => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            };
            json(status, error_body(&e.to_string()), allowed)
        }
    }
}

fn error_body(why: &str) -> String {
    serde_json::json!({ "error": why }).to_string()
}

fn json(status: StatusCode, body: String, origin: Option<HeaderValue>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    r
}
