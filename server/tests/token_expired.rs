//! An expired join token is refused like any other bad token: 1008
//! `invalid token`.

mod common;

use common::tokens::{SECRET, authed, hello};
use common::{TestServer, closed_after};
use snapwire_server::stats::Violation;
use snapwire_shared::PlayerId;
use snapwire_shared::auth::{JoinClaims, mint};
use snapwire_shared::protocol::close;
use std::time::Duration;

#[tokio::test]
async fn an_expired_token_is_refused() {
    let server = TestServer::start(authed()).await;
    let expired = JoinClaims {
        exp: 1_000_000_000, // 2001, well past the 60 s leeway
        ..JoinClaims::new(PlayerId(5), "late", Duration::ZERO, None)
    };
    let expired = mint(SECRET, &expired).expect("minting");
    assert_eq!(
        closed_after(&server, hello(Some(expired))).await,
        (
            close::POLICY_VIOLATION,
            close::REASON_INVALID_TOKEN.to_owned()
        )
    );
    assert_eq!(server.stats().violations(Violation::BadToken), 1);
    server.stop().await;
}
