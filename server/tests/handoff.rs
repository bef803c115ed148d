//! A joined connection's socket moves from its set-up task (tokio's
//! reactor) to its room's shard, which reads it once per tick. Nothing a
//! client sent before the move may be lost in it: here the Hello, a game
//! Ping and a WebSocket Ping go out in one TCP write right after the
//! upgrade, so that everything after the Hello is already in the
//! WebSocket's read buffer when the socket changes hands. Both pings must
//! still be answered, by the shard. (Frames sent with the upgrade request
//! itself, before its answer, are refused: RFC 6455 §4.1 has the client
//! wait for the answer.)

mod common;

use common::raw::{BINARY, PING, fin, frame, read_frame};
use common::{TestServer, config, within};
use snapwire_shared::protocol::{PROTOCOL_VERSION, SUBPROTOCOL};
use snapwire_shared::{ClientMsg, ServerMsg, codec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PONG: u8 = 0xA;

#[tokio::test]
async fn bytes_sent_with_the_hello_survive_the_move_to_the_shard() {
    let server = TestServer::start(config()).await;
    let addr = server.addr;
    let request = format!(
        "GET /play HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
    );
    let hello = codec::client_to_vec(&ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "early".into(),
        resume_token: None,
        auth_token: None,
    })
    .expect("encode Hello");
    let ping = codec::client_to_vec(&ClientMsg::Ping {
        client_time: 0xC0FFEE,
    })
    .expect("encode Ping");
    let mut frames = frame(fin(BINARY), true, &hello);
    frames.extend(frame(fin(BINARY), true, &ping));
    frames.extend(frame(fin(PING), true, b"early"));

    let mut s = within(TcpStream::connect(addr)).await.expect("connect");
    within(async {
        s.write_all(request.as_bytes()).await.expect("the upgrade");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(s.read_u8().await.expect("the upgrade answer"));
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        s.write_all(&frames)
            .await
            .expect("one write of three frames");
        let (mut welcomed, mut game_pong, mut ws_pong, mut snapshots) = (false, false, false, 0);
        // Until both pings are answered and snapshots flow.
        while !(game_pong && ws_pong && snapshots >= 2) {
            let (opcode, payload) = read_frame(&mut s).await;
            match opcode {
                PONG => {
                    assert_eq!(payload, b"early", "the WebSocket Pong echoes the Ping");
                    ws_pong = true;
                }
                BINARY => match codec::decode_server(&payload).expect("a server message") {
                    ServerMsg::Welcome(_) => welcomed = true,
                    ServerMsg::Pong { client_time, .. } => {
                        assert!(welcomed, "the Pong comes after the Welcome");
                        assert_eq!(client_time, 0xC0FFEE);
                        game_pong = true;
                    }
                    ServerMsg::Snapshot(_) => snapshots += 1,
                    _ => {}
                },
                // The server's own keep-alive.
                PING => {}
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    })
    .await;
    server.stop().await;
}
