//! snapwire-bot: headless clients and a load-testing swarm for snapwire.
//!
//! - [`client`]: a typed connection (Hello, send, receive);
//! - [`bot`]: one bot that walks at random, mirrors what it sees, predicts
//!   itself and measures, as a tokio task (the task driver);
//! - `play`: that bot's game without its transport, shared by both drivers;
//! - [`event_loop`]: the loop driver, one loop per thread over the bots'
//!   non-blocking sockets;
//! - [`matchmake`]: `POST /matchmake`, for starting from a matchmaking URL;
//! - [`swarm`]: thousands of bots on either driver, with a steady window;
//! - [`stats`]: the report (the metrics of `docs/WORKLOAD.md`) and thresholds.

pub mod bot;
pub mod client;
pub mod event_loop;
pub mod matchmake;
mod play;
pub mod stats;
pub mod swarm;

pub use client::{ClientError, GameClient};
pub use stats::{Report, Thresholds};
pub use swarm::{Driver, SwarmConfig, run_swarm};
