//! The game's web page at `GET /` on the game port, and `--no-demo`.

mod common;

use common::{TestServer, config, http_raw};
use snapwire_server::Config;
use snapwire_server::game::arena;

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let (head, _) = answer.split_once("\r\n\r\n")?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn the_arena_serves_its_page_at_the_root_of_the_game_port() {
    let server = TestServer::start(config()).await;
    let addr = server.handle().addr();
    for path in ["/", "/index.html"] {
        let (status, answer) = http_raw(addr, &get(path)).await;
        assert_eq!(status, 200, "{path}: {answer}");
        let body = answer.split_once("\r\n\r\n").expect("a body").1;
        assert_eq!(body, arena::PAGE, "{path} is the SDK's built page");
        assert_eq!(
            header(&answer, "content-type"),
            Some("text/html; charset=utf-8")
        );
        let csp = header(&answer, "content-security-policy").expect("a CSP");
        assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    }
    assert!(
        arena::PAGE.contains("<script"),
        "the page carries its script"
    );
    // HEAD: the headers alone; other methods: 405; other paths: not the page.
    let (status, answer) = http_raw(addr, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&answer, "content-length"),
        Some(arena::PAGE.len().to_string().as_str())
    );
    assert!(answer.ends_with("\r\n\r\n"), "no body: {answer:?}");
    let (status, answer) = http_raw(
        addr,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(header(&answer, "allow"), Some("GET, HEAD"));
    // A WebSocket upgrade to the page's path is pointed at /play.
    let upgrade = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let (status, answer) = http_raw(addr, upgrade).await;
    assert_eq!(status, 404);
    assert!(answer.contains("the game is at /play"), "{answer}");
    // The game still plays beside it.
    let (_client, welcome) = common::join(&server, "after-the-page").await;
    assert!(welcome.entity.0 != 0);
}

#[tokio::test]
async fn no_demo_turns_the_page_off() {
    let server = TestServer::start(Config {
        demo: false,
        ..config()
    })
    .await;
    let (status, answer) = http_raw(server.handle().addr(), &get("/")).await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer.contains("the game is at /play"), "{answer}");
}
