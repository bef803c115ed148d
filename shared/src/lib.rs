//! snapwire-shared: what the server and every client agree on.
//!
//! - [`protocol`]: the messages ([`ClientMsg`], [`ServerMsg`]) and constants;
//! - [`codec`]: the one place they become bytes (bincode 2, through serde);
//! - [`quant`] and [`delta`]: fixed-point state and field-wise deltas;
//! - [`auth`]: the claims of the signed join tokens a game backend mints;
//! - [`arena`]: the built-in game's movement rule, run by the server and
//!   predicted by clients with the same code;
//! - [`mirror`]: a client-side mirror that applies snapshots, interpolates
//!   remote entities and predicts the local one.

pub mod arena;
pub mod auth;
pub mod codec;
pub mod delta;
pub mod ids;
pub mod mirror;
pub mod protocol;
pub mod quant;
mod varint;

#[cfg(test)]
pub(crate) mod testing;

pub use ids::{EntityId, PlayerId, RoomId, SessionToken, Tick};
pub use protocol::{ClientMsg, InputCmd, ServerEvent, ServerMsg, Snapshot, Welcome, WorldInfo};
pub use quant::{Body, NetEntity};
