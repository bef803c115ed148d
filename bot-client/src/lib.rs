//! snapwire-bot: headless clients for snapwire servers.
//!
//! - [`client`]: a typed connection (Hello, send, receive);
//! - [`bot`]: one bot that walks at random, mirrors what it sees and
//!   predicts itself, recording what it measured.

pub mod bot;
pub mod client;

pub use client::{ClientError, GameClient};
