//! The HTTP upgrade: endpoint path and subprotocol negotiation.

mod common;

use common::{TestServer, config, within};
use snapwire_shared::protocol::SUBPROTOCOL;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

async fn refusal(url: String, subprotocol: Option<&'static str>) -> (StatusCode, String) {
    let mut req = url.into_client_request().expect("test urls are valid");
    if let Some(p) = subprotocol {
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
    }
    match within(connect_async(req)).await {
        Err(WsError::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            (resp.status(), body)
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, got an upgrade"),
    }
}

#[tokio::test]
async fn an_upgrade_without_the_subprotocol_is_refused_with_400() {
    let server = TestServer::start(config()).await;
    let (status, body) = refusal(server.url(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains(SUBPROTOCOL),
        "the refusal should name the subprotocol: {body:?}"
    );
    let (status, _) = refusal(server.url(), Some("snapwire.v0, chat")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn an_upgrade_to_another_path_is_refused_with_404() {
    let server = TestServer::start(config()).await;
    let (status, body) = refusal(format!("ws://{}/other", server.addr), Some(SUBPROTOCOL)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("/play"),
        "the refusal should say where the game is: {body:?}"
    );
    server.stop().await;
}

/// An accepted upgrade offering `protocols`, and the subprotocol the
/// server answered with.
async fn upgrade_offering(
    server: &TestServer,
    protocols: &'static str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Option<String>,
) {
    let mut req = server
        .url()
        .into_client_request()
        .expect("test urls are valid");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(protocols),
    );
    let (ws, resp) = within(connect_async(req))
        .await
        .expect("the upgrade should be accepted");
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let chosen = resp
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (ws, chosen)
}

#[tokio::test]
async fn an_upgrade_offering_the_subprotocol_is_accepted_and_echoed() {
    let server = TestServer::start(config()).await;
    let (_ws, chosen) = upgrade_offering(&server, "chat, snapwire.v2").await;
    assert_eq!(chosen.as_deref(), Some(SUBPROTOCOL));
    server.stop().await;
}

/// A version-1 client (it offers `snapwire.v1` and says Hello with
/// version 1) is upgraded, so that its Hello is refused with 1002 and a
/// reason naming both versions, rather than with a bare HTTP 400 its
/// WebSocket API would hide.
#[tokio::test]
async fn a_version_1_client_is_closed_with_1002_naming_both_versions() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let server = TestServer::start(config()).await;
    let (mut ws, chosen) = upgrade_offering(&server, "snapwire.v1").await;
    assert_eq!(chosen.as_deref(), Some("snapwire.v1"));
    // Version 1's Hello: tag 0, version 1, name "old", no tokens.
    ws.send(Message::Binary(
        vec![0, 1, 3, b'o', b'l', b'd', 0, 0].into(),
    ))
    .await
    .expect("Hello is sent");
    let close = within(async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("the close frame has a code");
    assert_eq!(u16::from(close.code), 1002);
    assert_eq!(
        close.reason.as_str(),
        "protocol version 1 not supported; server speaks 2"
    );
    server.stop().await;
}
