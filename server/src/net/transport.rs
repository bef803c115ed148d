//! The byte stream under the WebSocket: plain TCP, or TLS over it (rustls).

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// The certificate file is missing, unreadable or holds no certificate.
    #[error("cannot read certificate chain from {path}: {detail}")]
    Certificate {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The key file is missing, unreadable or holds no private key.
    #[error("cannot read private key from {path}: {detail}")]
    Key {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// rustls refused the pair (for example a key that does not match).
    #[error("invalid certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Loads a PEM certificate chain (leaf first) and a PEM private key into a
/// rustls server configuration (TLS 1.2 and 1.3, ring, ALPN `http/1.1`).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsConfigError> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsConfigError::Certificate {
            path: cert.display().to_string(),
            detail: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsConfigError::Certificate {
            path: cert.display().to_string(),
            detail: "no CERTIFICATE block".into(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsConfigError::Key {
        path: key.display().to_string(),
        detail: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A connection's stream: what the WebSocket (or a `/matchmake` request)
/// runs on. Bytes read ahead to route the request (its request line) are
/// kept in `prefix` and read again first.
#[derive(Debug)]
pub struct Transport {
    stream: Stream,
    /// Read ahead and not yet consumed: `prefix[at..]`.
    prefix: Vec<u8>,
    at: usize,
}

#[derive(Debug)]
enum Stream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`; boxed, as the TLS state is large and the plain case common.
    Tls(Box<TlsStream<TcpStream>>),
}

/// The first line of an HTTP request, enough to route it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestLine {
    /// `GET`, `POST`, ...
    pub(crate) method: String,
    /// The path, without the query.
    pub(crate) path: String,
}

/// Longest request line read to route a request; longer ones go to the
/// WebSocket handshake, which refuses them.
const MAX_REQUEST_LINE: usize = 8 * 1024;

impl Transport {
    /// Reads until the request line is complete (or [`MAX_REQUEST_LINE`]
    /// bytes, or the end), keeping every byte read for the next reader.
    /// `None` when what arrived is not an HTTP request line.
    pub(crate) async fn read_request_line(&mut self) -> io::Result<Option<RequestLine>> {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = self.prefix.windows(2).position(|w| w == b"\r\n") {
                return Ok(parse_request_line(&self.prefix[..end]));
            }
            if self.prefix.len() >= MAX_REQUEST_LINE {
                return Ok(None);
            }
            let n = match &mut self.stream {
                Stream::Plain(s) => s.read(&mut chunk).await?,
                Stream::Tls(s) => s.read(&mut chunk).await?,
            };
            if n == 0 {
                return Ok(None);
            }
            self.prefix.extend_from_slice(&chunk[..n]);
        }
    }
}

impl Transport {
    /// The stream for a synchronous WebSocket (`stream.rs`), keeping what
    /// was read ahead and what TLS has decrypted but not handed out.
    pub(crate) fn into_io(self) -> super::stream::Io {
        use super::stream::{Io, Sock};
        let prefix = if self.at == 0 {
            self.prefix
        } else {
            self.prefix[self.at..].to_vec()
        };
        match self.stream {
            Stream::Plain(s) => Io::plain(Sock::new(s), prefix),
            Stream::Tls(s) => {
                let (s, conn) = (*s).into_inner();
                Io::tls(conn, Sock::new(s), prefix)
            }
        }
    }
}

fn parse_request_line(line: &[u8]) -> Option<RequestLine> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    let path = target.split('?').next().unwrap_or(target);
    Some(RequestLine {
        method: method.to_owned(),
        path: path.to_owned(),
    })
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.prefix.len() {
            let n = (this.prefix.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            if this.at == this.prefix.len() {
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        match &mut this.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Wraps an accepted TCP stream: a TLS handshake when `tls` is set.
pub(crate) async fn accept(
    stream: TcpStream,
    tls: Option<&Arc<rustls::ServerConfig>>,
) -> io::Result<Transport> {
    let stream = match tls {
        None => Stream::Plain(stream),
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
            Stream::Tls(Box::new(acceptor.accept(stream).await?))
        }
    };
    Ok(Transport {
        stream,
        prefix: Vec::new(),
        at: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_request_line;

    #[test]
    fn request_lines_are_routed_by_method_and_path() {
        let l = parse_request_line(b"POST /matchmake?x=1 HTTP/1.1").expect("a request line");
        assert_eq!((l.method.as_str(), l.path.as_str()), ("POST", "/matchmake"));
        assert!(parse_request_line(b"GET /play").is_none());
        assert!(parse_request_line(b"\x16\x03\x01 binary").is_none());
    }
}
