//! The origin allowlist: a browser handshake from another origin gets HTTP
//! 403; listed origins and native clients (no `Origin`) play.

mod common;

use common::{TestServer, config, next_snapshot, within};
use snapwire_bot::client::{ClientOptions, Join};
use snapwire_bot::{ClientError, GameClient};
use snapwire_server::Config;
use snapwire_server::stats::Violation;
use tokio_tungstenite::tungstenite;

fn with_origin(origin: Option<&str>) -> ClientOptions {
    ClientOptions {
        tls: None,
        origin: origin.map(str::to_owned),
    }
}

#[tokio::test]
async fn other_origins_are_refused_with_403() {
    let server = TestServer::start(Config {
        allowed_origins: vec!["https://game.example".into()],
        ..config()
    })
    .await;
    match within(GameClient::connect_with(
        &server.url(),
        &with_origin(Some("https://evil.example")),
    ))
    .await
    {
        Err(ClientError::Ws(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected HTTP 403, got {other:?}"),
    }
    assert_eq!(server.stats().violations(Violation::ForbiddenOrigin), 1);
    for allowed in [Some("https://game.example"), None] {
        let (mut c, _) = within(GameClient::join_with(
            &server.url(),
            &with_origin(allowed),
            Join::named("ok"),
        ))
        .await
        .unwrap_or_else(|e| panic!("origin {allowed:?} should join: {e}"));
        next_snapshot(&mut c).await;
    }
    server.stop().await;
}
