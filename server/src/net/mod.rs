//! The network side: accepting connections and serving each one.

pub(crate) mod connection;
pub mod echo;
pub(crate) mod handshake;
pub(crate) mod http1;
mod limits;
pub mod listener;
pub(crate) mod page;
mod session;
mod shard;
mod stream;
pub mod transport;

pub use listener::{ServerHandle, Shutdown, run, run_with_admin};

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read chunk of a server connection (see [`ws_config`]).
const READ_BUFFER_BYTES: usize = 512;

/// The WebSocket settings of every server connection.
///
/// tungstenite's default 128 KiB read buffer is allocated per connection and
/// zero-filled before every socket read; measured on a 2-core machine that
/// cost ~80 µs of CPU per message and ~135 KiB per idle connection, against
/// ~10 µs and ~7 KiB with 4 KiB. The zero-fill is still paid per read
/// (one a tick: a short read ends the shard's pass over the socket), and
/// the buffer is kept by every connection, so it is 512 bytes: a tick's
/// worth of client messages is ~60 bytes, and a larger message simply
/// takes more reads.
/// Message and frame size are capped so that an oversized message is
/// refused (close 1009) without being buffered whole.
///
/// A joined connection's frames are written by its shard, a tick's in one
/// write (`stream.rs`); tungstenite writes only the set-up's messages, the
/// goodbye and its own control replies, at once. Its write buffer is capped
/// so that a client that stops reading cannot grow it without bound.
pub(crate) fn ws_config(max_message_bytes: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes))
}

/// Completes when the server starts shutting down (or its signal is gone).
pub(crate) async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here.
    let _ = shutdown.wait_for(|&s| s).await;
}
