//! The admin listener: `/metrics`, `/healthz`, `/readyz` and `/rooms`, on
//! an address of its own (`--admin-listen`, loopback by default) so that
//! metrics and room lists are never public by accident.
//!
//! HTTP/1.1 by hyper; every request is a cheap read of shared state, so a
//! connection is served on its own small task, with a header timeout and a
//! cap on concurrent connections.

use crate::net::listener::Shared;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

/// Admin connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 64;
/// Time a client has to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The exposition format `/metrics` answers with.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves the admin endpoints on `listener` until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "admin accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let answer = respond(&req, &shared);
                async move { Ok::<_, Infallible>(answer) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = served {
                debug!(%peer, %error, "admin connection ended");
            }
            drop(permit);
        });
    }
}

fn respond<B>(req: &Request<B>, shared: &Shared) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match req.uri().path() {
        "/metrics" => {
            let mut r = Response::new(Full::new(Bytes::from(shared.metrics.encode())));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
            r
        }
        "/healthz" => {
            let after = shared.config.stalled_room_after;
            let stalled: Vec<_> = shared
                .rooms
                .statuses()
                .into_iter()
                .filter(|r| shared.metrics.rooms.stalled(r, after))
                .collect();
            if stalled.is_empty() {
                text(StatusCode::OK, "ok\n")
            } else {
                let ids: Vec<String> = stalled.iter().map(|r| r.id.0.to_string()).collect();
                let body = format!("rooms not ticking: {}\n", ids.join(", "));
                text(StatusCode::SERVICE_UNAVAILABLE, &body)
            }
        }
        "/readyz" => match not_ready(shared) {
            None => text(StatusCode::OK, "ready\n"),
            Some(why) => text(StatusCode::SERVICE_UNAVAILABLE, why),
        },
        "/rooms" => {
            let mut r = Response::new(Full::new(Bytes::from(rooms_json(shared))));
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: /metrics, /healthz, /readyz, /rooms\n",
        ),
    }
}

/// Why the server takes no new players now, if it does not.
fn not_ready(shared: &Shared) -> Option<&'static str> {
    if shared.draining() {
        return Some("draining\n");
    }
    let open = shared.config.stats.open.load(Ordering::Relaxed);
    if open >= shared.config.max_connections as u64 {
        return Some("at --max-connections\n");
    }
    if !shared.cluster.registered() {
        return Some("registry unavailable\n");
    }
    None
}

/// One object per room: id, players, capacity, tick, tick rate, age and
/// the last tick's duration.
fn rooms_json(shared: &Shared) -> String {
    let rooms: Vec<serde_json::Value> = shared
        .rooms
        .statuses()
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id.0,
                "players": r.players(),
                "capacity": r.capacity,
                "tick": r.tick(),
                "tick_rate": r.tick_rate,
                "age_s": r.created.elapsed().as_secs_f64(),
                "last_tick_ms": r.last_tick_duration().as_secs_f64() * 1e3,
            })
        })
        .collect();
    let mut body = serde_json::Value::Array(rooms).to_string();
    body.push('\n');
    body
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
