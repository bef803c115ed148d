//! A session token resumes once: used again, or made up, it is refused
//! with 1008 `invalid resume token`.

mod common;

use common::{
    TestServer, closed_after, full_view_with_grace, join_and_drop, next_snapshot, resume,
};
use snapwire_shared::protocol::{PROTOCOL_VERSION, close};
use snapwire_shared::{ClientMsg, SessionToken};
use std::time::Duration;

#[tokio::test]
async fn a_session_token_is_spent_by_its_first_use() {
    let server = TestServer::start(full_view_with_grace(Duration::from_secs(10))).await;
    let first = join_and_drop(&server, "p").await;
    let (mut back, _second) = resume(&server, first.session_token)
        .await
        .expect("the first resume succeeds");
    next_snapshot(&mut back).await;
    drop(back);
    // The old token again: refused, even though the player can be resumed.
    let hello = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        name: String::new(),
        resume_token: Some(first.session_token),
        auth_token: None,
    };
    assert_eq!(
        closed_after(&server, hello).await,
        (
            close::POLICY_VIOLATION,
            close::REASON_INVALID_RESUME.to_owned()
        )
    );
    // A made-up token is refused the same way.
    let made_up = SessionToken([7; 16]);
    assert!(resume(&server, made_up).await.is_err());
    server.stop().await;
}
