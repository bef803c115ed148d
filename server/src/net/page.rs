//! The game's web page at `GET /` on the game port: a self-contained HTML
//! file (the TypeScript SDK's build output, script inlined) that joins the
//! game from a browser. `--no-demo` turns it off.

use super::connection::Guards;
use super::transport::Transport;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use snapwire_shared::protocol::PLAY_PATH;
use std::net::SocketAddr;

/// The paths the page answers on.
pub(crate) fn is_page_path(path: &str) -> bool {
    matches!(path, "/" | "/index.html")
}

/// What the page may load: its own inline script and style, and a
/// WebSocket (or fetch) to the server it came from; nothing else.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// Serves one request for the page.
pub(crate) async fn serve(
    transport: Transport,
    peer: SocketAddr,
    guards: Guards,
    html: Option<&'static str>,
) {
    super::http1::serve_one(transport, peer, guards, "page", move |req| {
        std::future::ready(respond(&req, html))
    })
    .await;
}

fn respond(req: &Request<Incoming>, html: Option<&'static str>) -> Response<Full<Bytes>> {
    let head = req.method() == Method::HEAD;
    if req.headers().contains_key(header::UPGRADE) {
        return plain(
            StatusCode::NOT_FOUND,
            format!("no such endpoint; the game is at {PLAY_PATH}\n"),
        );
    }
    let Some(html) = html.filter(|_| is_page_path(req.uri().path())) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!("no page here; the game is at {PLAY_PATH}\n"),
        );
    };
    if req.method() != Method::GET && !head {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into());
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let body = if head {
        Bytes::new()
    } else {
        Bytes::from_static(html.as_bytes())
    };
    let mut r = Response::new(Full::new(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(html.len()));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
