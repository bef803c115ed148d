//! With a secret configured, a missing, forged or malformed join token is
//! closed with 1008 `invalid token`, never saying which check failed.

mod common;

use common::tokens::{SECRET, authed, hello};
use common::{TestServer, closed_after};
use snapwire_server::stats::Violation;
use snapwire_shared::PlayerId;
use snapwire_shared::auth::{JoinClaims, mint};
use snapwire_shared::protocol::close;
use std::time::Duration;

#[tokio::test]
async fn missing_forged_and_malformed_tokens_are_refused_alike() {
    let server = TestServer::start(authed()).await;
    let expected = (
        close::POLICY_VIOLATION,
        close::REASON_INVALID_TOKEN.to_owned(),
    );
    assert_eq!(
        closed_after(&server, hello(None)).await,
        expected,
        "missing"
    );
    let forged = mint(
        b"not-the-secret-not-the-secret-not",
        &JoinClaims::new(PlayerId(5), "eve", Duration::from_secs(60), None),
    )
    .expect("minting");
    assert_eq!(
        closed_after(&server, hello(Some(forged))).await,
        expected,
        "badly signed"
    );
    assert_eq!(
        closed_after(&server, hello(Some("garbage".into()))).await,
        expected,
        "not a JWT"
    );
    // Signed with the right secret, but for player 0, which does not exist.
    let bad_id = mint(
        SECRET,
        &JoinClaims::new(PlayerId(0), "zero", Duration::from_secs(60), None),
    )
    .expect("minting");
    assert_eq!(
        closed_after(&server, hello(Some(bad_id))).await,
        expected,
        "invalid claims"
    );
    assert_eq!(server.stats().violations(Violation::BadToken), 4);
    server.stop().await;
}
