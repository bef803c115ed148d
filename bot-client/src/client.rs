//! A minimal typed game client: connect, Hello, send and receive messages.
//!
//! The bots use it, and so do the server's integration tests: it is the one
//! reusable client of this workspace.

use futures_util::{SinkExt, StreamExt};
use snapwire_shared::codec::{self, DecodeError};
use snapwire_shared::protocol::{PROTOCOL_VERSION, SUBPROTOCOL};
use snapwire_shared::{ClientMsg, ServerMsg, Welcome};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

/// The transport of a client connection.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The WebSocket transport failed (including a refused handshake).
    #[error("websocket: {0}")]
    Ws(#[from] tungstenite::Error),
    /// The server sent bytes that do not decode.
    #[error("decode: {0}")]
    Decode(#[from] DecodeError),
    /// The server sent a text frame, which the protocol does not use.
    #[error("unexpected text frame")]
    Text,
    /// The server closed the connection.
    #[error("closed by server: {code} {reason}")]
    Closed {
        /// WebSocket close code (1005 when the frame had none).
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// A message arrived out of the protocol's order.
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
}

/// WebSocket settings for clients: a small read buffer, as on the server
/// (tungstenite's 128 KiB default is allocated per connection and zero-filled
/// on every read; an aoi snapshot is ~150 bytes), and no message size limit
/// beyond the decoder's own.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(codec::SERVER_DECODE_LIMIT))
        .max_frame_size(Some(codec::SERVER_DECODE_LIMIT))
}

/// A connected game client.
#[derive(Debug)]
pub struct GameClient {
    ws: Ws,
    /// Reused encode buffer.
    buf: Vec<u8>,
}

impl GameClient {
    /// Opens the WebSocket (offering `snapwire.v1`) without saying Hello.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
        let (ws, _response) = connect_async_with_config(request, Some(ws_config()), true).await?;
        Ok(GameClient {
            ws,
            buf: Vec::with_capacity(64),
        })
    }

    /// Connects, says Hello, and waits for the Welcome.
    pub async fn join(url: &str, name: &str) -> Result<(Self, Welcome), ClientError> {
        let mut client = Self::connect(url).await?;
        client
            .send(&ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                name: name.to_owned(),
                resume_token: None,
            })
            .await?;
        match client.recv().await? {
            ServerMsg::Welcome(w) => Ok((client, w)),
            _ => Err(ClientError::Unexpected("expected Welcome")),
        }
    }

    /// Sends one message; returns its encoded size in bytes.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<usize, ClientError> {
        self.buf.clear();
        codec::encode_client(msg, &mut self.buf)
            .map_err(|_| ClientError::Unexpected("client message did not encode"))?;
        self.ws
            .send(Message::Binary(self.buf.as_slice().to_vec().into()))
            .await?;
        Ok(self.buf.len())
    }

    /// Sends a raw WebSocket message, well-formed or not (for tests).
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), ClientError> {
        self.ws.send(msg).await?;
        Ok(())
    }

    /// Receives the payload of the next binary message, undecoded.
    pub async fn recv_bytes(&mut self) -> Result<Bytes, ClientError> {
        loop {
            let msg = match self.ws.next().await {
                Some(msg) => msg?,
                None => {
                    return Err(ClientError::Closed {
                        code: 1006,
                        reason: String::new(),
                    });
                }
            };
            match msg {
                Message::Binary(bytes) => return Ok(bytes),
                Message::Text(_) => return Err(ClientError::Text),
                Message::Close(frame) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.as_str().to_owned())
                    });
                    return Err(ClientError::Closed { code, reason });
                }
                // Pings are answered by tungstenite when we next write.
                _ => {}
            }
        }
    }

    /// Receives the next message, with its encoded size in bytes.
    pub async fn recv_sized(&mut self) -> Result<(ServerMsg, usize), ClientError> {
        let bytes = self.recv_bytes().await?;
        Ok((codec::decode_server(&bytes)?, bytes.len()))
    }

    /// Receives the next message.
    pub async fn recv(&mut self) -> Result<ServerMsg, ClientError> {
        Ok(self.recv_sized().await?.0)
    }

    /// Closes the connection politely.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.ws.close(None).await?;
        while let Some(Ok(_)) = self.ws.next().await {}
        Ok(())
    }

    /// The underlying WebSocket, for tests that misbehave on purpose.
    pub fn ws_mut(&mut self) -> &mut Ws {
        &mut self.ws
    }
}
