//! One plain HTTP/1.1 request on a game-port connection routed here by its
//! request line (`/matchmake`, the demo page): served by hyper, without
//! keep-alive, so nothing lingers on a game port.

use super::connection::Guards;
use super::transport::Transport;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tracing::debug;

/// Time to send the request and get the answer, at most.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the one request on `transport` with `respond`; `what` names the
/// endpoint in logs.
pub(crate) async fn serve_one<F, Fut>(
    transport: Transport,
    peer: SocketAddr,
    guards: Guards,
    what: &'static str,
    respond: F,
) where
    F: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let answer = respond(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(REQUEST_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(transport), service);
    match tokio::time::timeout(REQUEST_TIMEOUT, served).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => debug!(%peer, %error, endpoint = what, "http connection failed"),
        Err(_) => debug!(%peer, endpoint = what, "http connection timed out"),
    }
    drop(guards);
}
