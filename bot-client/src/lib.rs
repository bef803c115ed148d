//! snapwire-bot: headless clients and a load-testing swarm for snapwire.
//!
//! - [`client`]: a typed connection (Hello, send, receive);
//! - [`bot`]: one bot that walks at random, mirrors what it sees, predicts
//!   itself and measures;
//! - [`matchmake`]: `POST /matchmake`, for starting from a matchmaking URL;
//! - [`swarm`]: thousands of bots on one runtime, with a steady window;
//! - [`stats`]: the report (the metrics of `docs/WORKLOAD.md`) and thresholds.

pub mod bot;
pub mod client;
pub mod matchmake;
pub mod stats;
pub mod swarm;

pub use client::{ClientError, GameClient};
pub use stats::{Report, Thresholds};
pub use swarm::{SwarmConfig, run_swarm};
