//! A minimal typed game client: connect, Hello, send and receive messages.
//!
//! The bots use it, and so do the server's integration tests: it is the one
//! reusable client of this workspace.

use futures_util::{SinkExt, StreamExt};
use snapwire_shared::codec::{self, DecodeError};
use snapwire_shared::mirror::{Applied, Mirror, MirrorError};
use snapwire_shared::protocol::{PROTOCOL_VERSION, SUBPROTOCOL};
use snapwire_shared::schema::Layouts;
use snapwire_shared::{ClientMsg, Schema, ServerMsg, SessionToken, Snapshot, Welcome};
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};

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
    /// Matchmaking found no seat, or could not be reached.
    #[error("{0}")]
    Matchmake(String),
    /// A message arrived out of the protocol's order.
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
}

/// WebSocket settings for clients: a small read buffer, as on the server
/// (tungstenite's 128 KiB default is allocated per connection and zero-filled
/// on every read; an aoi snapshot is ~150 bytes, a full-view one a few KiB,
/// read in a few chunks), and no message size limit beyond the decoder's own.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(2 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(codec::SERVER_DECODE_LIMIT))
        .max_frame_size(Some(codec::SERVER_DECODE_LIMIT))
}

/// How to connect, beyond the URL.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// TLS settings for `wss://`; `None`: trust the web PKI roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// An `Origin` header, as a browser sends (native clients send none).
    pub origin: Option<String>,
}

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The file is missing, unreadable, or not PEM.
    #[error("cannot read CA certificates from {path}: {detail}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// A certificate that rustls does not accept as a trust anchor, or none.
    #[error("no usable CA certificate in {0}")]
    Unusable(String),
}

/// A TLS client configuration that trusts only the CA certificates (or the
/// self-signed server certificate) in a PEM file.
pub fn tls_trusting(ca_pem: &Path) -> Result<Arc<rustls::ClientConfig>, CaError> {
    let certs = CertificateDer::pem_file_iter(ca_pem)
        .and_then(|c| c.collect::<Result<Vec<_>, _>>())
        .map_err(|e| CaError::Read {
            path: ca_pem.display().to_string(),
            detail: e.to_string(),
        })?;
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(CaError::Unusable(ca_pem.display().to_string()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CaError::Unusable(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// What a `Hello` carries besides the protocol version.
#[derive(Clone, Debug, Default)]
pub struct Join {
    /// Display name (ignored by a server that takes names from join tokens).
    pub name: String,
    /// Resume this session instead of joining anew.
    pub resume_token: Option<SessionToken>,
    /// A signed join token, for servers that require one.
    pub auth_token: Option<String>,
}

impl Join {
    /// A plain join with a display name.
    pub fn named(name: impl Into<String>) -> Self {
        Join {
            name: name.into(),
            ..Join::default()
        }
    }
}

/// A connected game client.
#[derive(Debug)]
pub struct GameClient {
    ws: Ws,
    /// Reused encode buffer.
    buf: Vec<u8>,
    /// The game's schema, from the message after `Welcome`.
    schema: Option<(Arc<Schema>, Arc<Layouts>)>,
    /// The client's own mirror, for [`GameClient::apply`].
    mirror: Option<Mirror>,
}

impl GameClient {
    /// Opens the WebSocket (offering `snapwire.v2`) without saying Hello.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        Self::connect_with(url, &ClientOptions::default()).await
    }

    /// Opens the WebSocket with `options` (TLS, `Origin`).
    pub async fn connect_with(url: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        let mut request = url.into_client_request()?;
        let headers = request.headers_mut();
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        if let Some(origin) = &options.origin {
            let origin = HeaderValue::from_str(origin)
                .map_err(|_| ClientError::Unexpected("origin is not a valid header value"))?;
            headers.insert(header::ORIGIN, origin);
        }
        let connector = options.tls.clone().map(Connector::Rustls);
        let (ws, _response) =
            connect_async_tls_with_config(request, Some(ws_config()), true, connector).await?;
        Ok(GameClient {
            ws,
            buf: Vec::with_capacity(64),
            schema: None,
            mirror: None,
        })
    }

    /// Connects, says Hello, and waits for the Welcome.
    pub async fn join(url: &str, name: &str) -> Result<(Self, Welcome), ClientError> {
        Self::join_with(url, &ClientOptions::default(), Join::named(name)).await
    }

    /// Connects with `options`, says Hello as `join` asks, and waits for
    /// the Welcome.
    pub async fn join_with(
        url: &str,
        options: &ClientOptions,
        join: Join,
    ) -> Result<(Self, Welcome), ClientError> {
        let mut client = Self::connect_with(url, options).await?;
        client
            .send(&ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                name: join.name,
                resume_token: join.resume_token,
                auth_token: join.auth_token,
            })
            .await?;
        let welcome = match client.recv().await? {
            ServerMsg::Welcome(w) => w,
            _ => return Err(ClientError::Unexpected("expected Welcome")),
        };
        // The descriptor follows the Welcome: everything needed to decode
        // this game's snapshots.
        let schema = match client.recv().await? {
            ServerMsg::Schema(s) => s,
            _ => return Err(ClientError::Unexpected("expected the schema after Welcome")),
        };
        if schema.hash() != welcome.schema_hash {
            return Err(ClientError::Unexpected(
                "schema does not match the Welcome's hash",
            ));
        }
        let layouts = schema
            .compile()
            .map_err(|_| ClientError::Unexpected("the server's schema does not compile"))?;
        let layouts = Arc::new(layouts);
        client.mirror = Some(Mirror::with_layouts(layouts.clone()));
        client.schema = Some((Arc::new(schema), layouts));
        Ok((client, welcome))
    }

    /// The game's schema, once joined.
    pub fn schema(&self) -> Option<&Arc<Schema>> {
        self.schema.as_ref().map(|(s, _)| s)
    }

    /// An empty mirror for the game's snapshots, built from the schema the
    /// server sent (no type of the game needed).
    pub fn new_mirror(&self) -> Mirror {
        let layouts = self
            .schema
            .as_ref()
            .map(|(_, l)| l.clone())
            .unwrap_or_default();
        Mirror::with_layouts(layouts)
    }

    /// Applies a snapshot to the client's own mirror (made at join).
    pub fn apply(&mut self, snap: &Snapshot) -> Result<Applied, MirrorError> {
        match self.mirror.as_mut() {
            Some(m) => m.apply(snap),
            None => Err(MirrorError::Stale {
                have: snap.tick,
                got: snap.tick,
            }),
        }
    }

    /// The client's own mirror, as the snapshots applied so far left it.
    pub fn view(&self) -> Option<&Mirror> {
        self.mirror.as_ref()
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
