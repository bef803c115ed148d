//! snapwire-server: an authoritative, fixed-tick game state-sync server.
//!
//! - [`net`]: the WebSocket listener; a task per connection up to its join,
//!   then one task per room and worker that serves its connections each tick;
//! - [`room`]: rooms, each a task that owns its world and ticks it;
//! - [`game`]: the game API ([`game::Game`], its [`game::World`]) and the
//!   built-in arena;
//! - [`sim`]: the spatial grid views are queried on (no I/O);
//! - [`view`]: per-client area of interest, delta and encoding (no I/O);
//! - [`cli`]: the command line, for the binary and for games of their own;
//! - [`auth`]: signed join tokens (HS256 JWTs);
//! - [`cluster`]: scale-out: the registry (alone, or in Redis) and `/matchmake`;
//! - [`devcert`]: a self-signed certificate for local `wss://`;
//! - [`stats`]: counters of connections and client violations;
//! - [`metrics`]: the Prometheus registry, read at scrape time;
//! - [`admin`]: the admin listener (`/metrics`, `/healthz`, `/readyz`, `/rooms`).
//!
//! Embed it with [`run`] (or [`ServerHandle`] to run it in the background);
//! the `snapwire-server` binary is a thin CLI over it.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod devcert;
pub mod game;
pub mod metrics;
pub mod net;
pub mod room;
pub mod sim;
pub mod stats;
pub mod view;

pub use config::Config;
pub use net::{ServerHandle, Shutdown, run, run_with_admin};
