//! `POST /matchmake` on one process (no Redis): placement, reservations
//! and their refusals, errors, CORS.

mod common;

use common::matchmaking::{self, join, join_refused, place, refused};
use common::{TestServer, config, tokens};
use snapwire_bot::client::ClientOptions;
use snapwire_server::Config;
use snapwire_server::cluster::ClusterConfig;
use snapwire_shared::protocol::close;
use std::time::Duration;

#[tokio::test]
async fn one_process_matchmakes_for_itself_and_fills_a_room_before_opening_another() {
    let server = TestServer::start(Config {
        room_capacity: 2,
        ..config()
    })
    .await;
    let m = matchmaking::at(server.handle().addr());
    let a = place(&m, None).await;
    assert_eq!(a.url, server.url(), "it names itself");
    assert!(a.expires_in >= 1);
    let b = place(&m, None).await;
    assert_eq!(
        b.room, a.room,
        "a reserved seat counts before its player arrives"
    );
    let c = place(&m, None).await;
    assert_ne!(
        c.room, a.room,
        "the first room is full with two reservations"
    );
    let (_ca, wa) = join(&a).await;
    let (_cb, wb) = join(&b).await;
    let (_cc, wc) = join(&c).await;
    assert_eq!((wa.room.0, wb.room.0, wc.room.0), (a.room, b.room, c.room));
    // A named room: created, then full.
    let named = place(&m, Some(900)).await;
    assert_eq!(named.room, 900);
    let (_cn, wn) = join(&named).await;
    assert_eq!(wn.room.0, 900);
    place(&m, Some(900)).await;
    assert_eq!(refused(&m, Some(900), None).await, 409, "room 900 is full");
    // A Rust client starts from the matchmaking URL in one call.
    let (_rust, w) = common::within(m.join("rusty", None, None, &ClientOptions::default()))
        .await
        .expect("matchmade and joined");
    assert_eq!(w.room.0, c.room, "the second room has a free seat");
    // Alone, a plain Hello still joins, as before matchmaking existed.
    let (_plain, _) = common::join(&server, "plain").await;
}

#[tokio::test]
async fn used_foreign_and_expired_reservations_are_refused_with_1008() {
    let short = Config {
        cluster: ClusterConfig {
            reservation_ttl: Duration::from_secs(1),
            ..ClusterConfig::default()
        },
        ..config()
    };
    let server = TestServer::start(short).await;
    let other = TestServer::start(config()).await;
    let m = matchmaking::at(server.handle().addr());
    let p = place(&m, None).await;
    let (_client, _) = join(&p).await;
    let used = join_refused(&p).await;
    assert_eq!(
        used,
        (
            close::POLICY_VIOLATION,
            close::REASON_INVALID_RESERVATION.into()
        )
    );
    // Another process's reservation, brought here.
    let mut foreign = place(&matchmaking::at(other.handle().addr()), None).await;
    foreign.url = server.url();
    assert_eq!(
        join_refused(&foreign).await,
        (
            close::POLICY_VIOLATION,
            close::REASON_INVALID_RESERVATION.into()
        )
    );
    // A reservation's expiry is whole seconds: after two, a one-second one is over.
    let late = place(&m, None).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        join_refused(&late).await,
        (
            close::POLICY_VIOLATION,
            close::REASON_INVALID_RESERVATION.into()
        )
    );
    // A made-up token that only looks like a reservation.
    let mut forged = place(&m, None).await;
    let mut parts: Vec<String> = forged.reservation.split('.').map(str::to_owned).collect();
    parts[2] = "AAAA".into();
    forged.reservation = parts.join(".");
    assert_eq!(join_refused(&forged).await.0, close::POLICY_VIOLATION);
}

#[tokio::test]
async fn bad_requests_get_clear_statuses() {
    let server = TestServer::start(config()).await;
    let addr = server.handle().addr();
    let mut wrong_mode = matchmaking::at(addr);
    wrong_mode.mode = "chess".into();
    assert_eq!(refused(&wrong_mode, None, None).await, 404);
    assert_eq!(refused(&matchmaking::at(addr), Some(0), None).await, 400);
    let (status, body) = post(addr, "/matchmake", "not json", None).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = post(addr, "/matchmake", &"x".repeat(5000), None).await;
    assert_eq!(status, 413);
    let (status, _) = common::http_raw(addr, "GET /matchmake HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn browsers_of_allowed_origins_may_matchmake() {
    let server = TestServer::start(Config {
        allowed_origins: vec!["https://game.example".into()],
        ..config()
    })
    .await;
    let addr = server.handle().addr();
    let (status, head) = common::http_raw(
        addr,
        "OPTIONS /matchmake HTTP/1.1\r\nHost: x\r\nOrigin: https://game.example\r\n\
         Access-Control-Request-Method: POST\r\n\r\n",
    )
    .await;
    assert_eq!(status, 204);
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("access-control-allow-origin: https://game.example"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-methods: post"),
        "{head}"
    );
    let body = r#"{"mode":"arena"}"#;
    let (status, _) = post(addr, "/matchmake", body, Some("https://game.example")).await;
    assert_eq!(status, 200);
    let (status, _) = post(addr, "/matchmake", body, Some("https://evil.example")).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn with_join_tokens_matchmaking_needs_one_and_the_reservation_carries_the_player() {
    let server = TestServer::start(tokens::authed()).await;
    let m = matchmaking::at(server.handle().addr());
    assert_eq!(refused(&m, None, None).await, 401);
    assert_eq!(refused(&m, None, Some("not.a.token")).await, 401);
    let token = tokens::token(4242, "ann", Some(31));
    assert_eq!(
        refused(&m, Some(30), Some(&token)).await,
        403,
        "the token names room 31"
    );
    let placed = common::within(m.place(None, Some(&token), &ClientOptions::default()))
        .await
        .expect("placed");
    assert_eq!(placed.room, 31, "the token's room");
    let (_c, welcome) = join(&placed).await;
    assert_eq!(welcome.player.0, 4242);
}

/// A POST with `body`, and an `Origin` when given: status and body.
async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &str,
    origin: Option<&str>,
) -> (u16, String) {
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{origin}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, answer) = common::http_raw(addr, &request).await;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
