//! snapwire-shared: what the server and every client agree on.
//!
//! - [`protocol`]: the messages ([`ClientMsg`], [`ServerMsg`]) and constants;
//! - [`schema`]: the descriptor of a game's kinds, state, input and messages;
//! - [`field`]: how the game's Rust types become slots (the derives of
//!   `snapwire-derive`, re-exported here, implement its traits);
//! - [`table`] and [`delta`]: replicated state in slots, field-wise deltas;
//! - [`codec`]: the one place messages become bytes (bincode 2's encoding);
//! - [`auth`]: the claims of the signed join tokens a game backend mints;
//! - [`arena`]: the built-in game's types and movement rule, run by the
//!   server and predicted by clients with the same code;
//! - [`mirror`]: a client-side mirror that applies snapshots from the schema
//!   alone and interpolates remote entities.

// The derives name this crate by its absolute path, also from inside it.
extern crate self as snapwire_shared;

pub mod arena;
pub mod auth;
pub mod codec;
pub mod delta;
pub mod field;
pub mod ids;
pub mod mirror;
pub mod protocol;
pub mod schema;
pub mod table;
mod varint;

#[cfg(test)]
pub(crate) mod testing;

pub use arena::{InputCmd, Walker};
pub use field::{
    EntitySet, FieldAttrs, MessageSet, NetEnum, NetField, NoMessages, NoState, Replicate,
};
pub use ids::{EntityId, PlayerId, RoomId, SessionToken, Tick};
pub use protocol::{ClientMsg, ServerEvent, ServerMsg, Snapshot, Welcome, WorldInfo};
pub use schema::Schema;
pub use snapwire_derive::{Entities, Messages, NetEnum, Replicate};
