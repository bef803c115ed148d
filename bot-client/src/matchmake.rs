//! Starting from a matchmaking URL: `POST /matchmake`, then join the
//! process it names with the seat reservation it hands out.

use crate::client::{ClientError, ClientOptions, GameClient, Join};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use snapwire_shared::RoomId;
use snapwire_shared::Welcome;
use std::time::Duration;
use tokio::net::TcpStream;

/// Longest answer read, bytes.
const MAX_ANSWER: usize = 16 * 1024;
/// Time for the whole request.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where to matchmake, and for what.
#[derive(Clone, Debug)]
pub struct Matchmaker {
    /// `http://HOST:PORT/matchmake` (or `https://` with a TLS config).
    pub url: String,
    /// The game mode.
    pub mode: String,
}

/// What `/matchmake` answered.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Placement {
    /// The WebSocket URL of the process that holds the room.
    pub url: String,
    /// The room.
    pub room: u32,
    /// The seat reservation, for `Hello::auth_token`.
    pub reservation: String,
    /// Seconds it is valid.
    pub expires_in: u64,
}

#[derive(Serialize)]
struct Ask<'a> {
    mode: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

/// Why matchmaking failed.
#[derive(Debug, thiserror::Error)]
pub enum MatchmakeError {
    /// The URL is not `http(s)://HOST:PORT/...`.
    #[error("bad matchmaking URL: {0}")]
    Url(String),
    /// Connecting or talking HTTP failed.
    #[error("matchmaking request failed: {0}")]
    Io(String),
    /// The server answered with an error status.
    #[error("matchmaking refused: {status} {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its JSON body.
        body: String,
    },
    /// The answer was not the expected JSON.
    #[error("unexpected matchmaking answer: {0}")]
    Answer(String),
    /// No answer in time.
    #[error("matchmaking timed out")]
    Timeout,
}

impl Matchmaker {
    /// Asks for a seat in `room` (any room when `None`), as the player a
    /// join token names when given.
    pub async fn place(
        &self,
        room: Option<RoomId>,
        token: Option<&str>,
        options: &ClientOptions,
    ) -> Result<Placement, MatchmakeError> {
        let body = serde_json::to_vec(&Ask {
            mode: &self.mode,
            room: room.map(|r| r.0),
            token,
        })
        .map_err(|e| MatchmakeError::Answer(e.to_string()))?;
        tokio::time::timeout(TIMEOUT, self.post(body, options))
            .await
            .unwrap_or(Err(MatchmakeError::Timeout))
    }

    /// Matchmakes, then joins where it says as `name`: a game client that
    /// starts from the matchmaking URL.
    pub async fn join(
        &self,
        name: &str,
        room: Option<RoomId>,
        token: Option<&str>,
        options: &ClientOptions,
    ) -> Result<(GameClient, Welcome), ClientError> {
        let placed = self
            .place(room, token, options)
            .await
            .map_err(|e| ClientError::Matchmake(e.to_string()))?;
        let join = Join {
            name: name.to_owned(),
            resume_token: None,
            auth_token: Some(placed.reservation),
        };
        GameClient::join_with(&placed.url, options, join).await
    }

    async fn post(
        &self,
        body: Vec<u8>,
        options: &ClientOptions,
    ) -> Result<Placement, MatchmakeError> {
        let uri: hyper::Uri = self
            .url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| MatchmakeError::Url(e.to_string()))?;
        let host = uri
            .host()
            .ok_or_else(|| MatchmakeError::Url("no host".into()))?
            .trim_matches(['[', ']'])
            .to_owned();
        let tls = match uri.scheme_str() {
            Some("http") => None,
            Some("https") => Some(options.tls.clone().ok_or_else(|| {
                MatchmakeError::Url("https:// matchmaking needs a CA (--ca)".into())
            })?),
            _ => return Err(MatchmakeError::Url("expected http:// or https://".into())),
        };
        let port = uri
            .port_u16()
            .unwrap_or(if tls.is_some() { 443 } else { 80 });
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| MatchmakeError::Io(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let request = Request::post(uri.path())
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| MatchmakeError::Url(e.to_string()))?;
        let (status, bytes) = match tls {
            None => exchange(TokioIo::new(tcp), request).await?,
            Some(config) => {
                let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host)
                    .map_err(|e| MatchmakeError::Url(e.to_string()))?;
                let stream = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| MatchmakeError::Io(e.to_string()))?;
                exchange(TokioIo::new(stream), request).await?
            }
        };
        if status != StatusCode::OK {
            return Err(MatchmakeError::Refused {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| MatchmakeError::Answer(e.to_string()))
    }
}

/// Sends one request on a fresh HTTP/1.1 connection and reads the answer.
async fn exchange<T>(
    io: TokioIo<T>,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), MatchmakeError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io_err = |e: hyper::Error| MatchmakeError::Io(e.to_string());
    let (mut send, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(io_err)?;
    let conn = tokio::spawn(conn);
    let response = send.send_request(request).await.map_err(io_err)?;
    let status = response.status();
    let bytes = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| MatchmakeError::Io(e.to_string()))?
        .to_bytes();
    conn.abort();
    Ok((status, bytes))
}
