//! A client that breaks the WebSocket framing rules (RFC 6455) is failed
//! with a close frame, never a bare reset: 1002 and a short reason for
//! framing errors, 1007 for invalid UTF-8; each is counted as a violation,
//! before and after the join; the TCP connection then ends with a FIN.

mod common;

use common::raw::{self, BINARY, CLOSE, CONTINUATION, PING, TEXT, fin, frame, more};
use common::{TestServer, config, expect_close, join, next_snapshot, within};
use snapwire_bot::GameClient;
use snapwire_server::stats::Violation;
use snapwire_shared::protocol::close;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;

/// Each case: the frames a client sends, and the close it must get.
struct Case {
    what: &'static str,
    frames: Vec<Vec<u8>>,
    code: u16,
    reason: &'static str,
}

fn cases() -> Vec<Case> {
    let p1002 = |what, frames, reason| Case {
        what,
        frames,
        code: close::PROTOCOL_ERROR,
        reason,
    };
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(&[0xce, 0xba, 0xff, 0xfe]);
    vec![
        p1002(
            "a new data frame before the fragmented message ended",
            vec![
                frame(more(BINARY), true, b"ab"),
                frame(fin(BINARY), true, b"cd"),
            ],
            "new message before the fragmented one ended",
        ),
        p1002(
            "a continuation frame without a message",
            vec![frame(fin(CONTINUATION), true, b"ab")],
            "continuation frame without a message",
        ),
        p1002(
            "a reserved data opcode",
            vec![frame(fin(0x3), true, b"ab")],
            "unknown opcode",
        ),
        p1002(
            "a reserved control opcode",
            vec![frame(fin(0xb), true, b"")],
            "unknown opcode",
        ),
        p1002(
            "RSV1 set without an extension",
            vec![frame(fin(BINARY) | 0x40, true, b"ab")],
            "reserved bits set",
        ),
        p1002(
            "an unmasked client frame",
            vec![frame(fin(BINARY), false, b"ab")],
            "unmasked client frame",
        ),
        p1002(
            "a ping of 126 bytes",
            vec![frame(fin(PING), true, &[7u8; 126])],
            "control frame too long",
        ),
        p1002(
            "a fragmented ping",
            vec![frame(more(PING), true, b"ab")],
            "fragmented control frame",
        ),
        p1002(
            "a close frame with a one-byte body",
            vec![frame(fin(CLOSE), true, &[3])],
            "invalid close frame",
        ),
        Case {
            what: "a close reason that is not UTF-8",
            frames: vec![frame(fin(CLOSE), true, &bad_reason)],
            code: close::INVALID_PAYLOAD,
            reason: close::REASON_INVALID_UTF8,
        },
        Case {
            what: "a text message that is not UTF-8",
            frames: vec![frame(fin(TEXT), true, &[0xce, 0xba, 0xff])],
            code: close::INVALID_PAYLOAD,
            reason: close::REASON_INVALID_UTF8,
        },
    ]
}

fn counted(server: &TestServer) -> u64 {
    server.stats().violations(Violation::ProtocolError)
        + server.stats().violations(Violation::InvalidUtf8)
}

#[tokio::test]
async fn framing_errors_before_hello_get_their_close_code() {
    let server = TestServer::start(config()).await;
    for (i, case) in cases().into_iter().enumerate() {
        let mut s = raw::upgrade(server.addr, "/play").await;
        for f in &case.frames {
            s.write_all(f).await.expect("send the frame");
        }
        let closed = raw::read_close(&mut s).await;
        assert_eq!(
            (closed.code, closed.reason.as_str()),
            (case.code, case.reason),
            "{}",
            case.what
        );
        assert!(
            closed.clean_eof,
            "{}: the connection should end with a FIN",
            case.what
        );
        assert_eq!(counted(&server), i as u64 + 1, "{} is counted", case.what);
    }
    server.stop().await;
}

#[tokio::test]
async fn framing_errors_after_the_join_get_their_close_code_and_spare_the_others() {
    let server = TestServer::start(config()).await;
    let (mut honest, _) = join(&server, "honest").await;
    for (i, case) in cases().into_iter().enumerate() {
        let (mut c, _) = join(&server, "breaks-the-framing").await;
        next_snapshot(&mut c).await;
        // Past the client library: straight onto its TCP stream.
        let MaybeTlsStream::Plain(tcp) = c.ws_mut().get_mut() else {
            panic!("a plain ws:// connection");
        };
        for f in &case.frames {
            tcp.write_all(f).await.expect("send the frame");
        }
        let (code, reason) = expect_close(&mut c).await;
        assert_eq!(
            (code, reason.as_str()),
            (case.code, case.reason),
            "{}",
            case.what
        );
        assert_eq!(counted(&server), i as u64 + 1, "{} is counted", case.what);
        next_snapshot(&mut honest).await;
    }
    for _ in 0..5 {
        next_snapshot(&mut honest).await;
    }
    server.stop().await;
}

/// A well-formed close from the client is answered and is no violation.
#[tokio::test]
async fn a_clean_close_is_answered_and_not_counted() {
    let server = TestServer::start(config()).await;
    let mut s = raw::upgrade(server.addr, "/play").await;
    let mut body = 1000u16.to_be_bytes().to_vec();
    body.extend_from_slice(b"done");
    s.write_all(&frame(fin(CLOSE), true, &body))
        .await
        .expect("send close");
    let closed = raw::read_close(&mut s).await;
    assert_eq!(closed.code, 1000);
    assert!(closed.clean_eof);
    assert_eq!(counted(&server), 0);
    // And a client that just vanishes gets no frame and no violation.
    let c = within(GameClient::connect(&server.url()))
        .await
        .expect("connect");
    drop(c);
    assert_eq!(counted(&server), 0);
    server.stop().await;
}
