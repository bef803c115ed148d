//! Identifier newtypes shared by the server and its clients.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A replicated entity, unique within its room for the room's lifetime.
///
/// The server stores entities in a `slab::Slab`, whose slots are reused; the
/// id is not the slot. Ids come from a per-room counter that only grows, so a
/// client never mistakes a new entity in a reused slot for the old one: it
/// sees the old id removed and a new id spawned. `0` is never issued.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct EntityId(pub u32);

/// A connected player, unique within one server process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PlayerId(pub u32);

/// A room (one simulation), unique within one server process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoomId(pub u32);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

impl fmt::Display for PlayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A simulation tick number.
///
/// Ticks wrap around at `u32::MAX` (4.5 years at 30 Hz, but a protocol should
/// not care), so they are compared with serial-number arithmetic: `a` is newer
/// than `b` when `a - b` (wrapping) is in `1..2^31`. `Tick::NONE` (0) means
/// "no tick": a snapshot with `base_tick == Tick::NONE` is a full snapshot.
/// [`Tick::next`] skips 0, so a real tick is never `NONE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tick(pub u32);

impl Tick {
    /// "No baseline": the snapshot that carries it is complete on its own.
    pub const NONE: Tick = Tick(0);
    /// The first tick a room simulates.
    pub const FIRST: Tick = Tick(1);

    /// The tick after this one, skipping [`Tick::NONE`] on wrap-around.
    #[must_use]
    pub fn next(self) -> Tick {
        match self.0.wrapping_add(1) {
            0 => Tick(1),
            n => Tick(n),
        }
    }

    /// Signed distance `self - earlier` in ticks, correct across wrap-around
    /// as long as the two are less than 2^31 ticks apart.
    pub fn since(self, earlier: Tick) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// Whether `self` comes after `other` in wrapping order.
    pub fn is_newer_than(self, other: Tick) -> bool {
        self.since(other) > 0
    }

    /// Whether this is a real tick rather than [`Tick::NONE`].
    pub fn is_some(self) -> bool {
        self != Tick::NONE
    }
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// Proof of identity for resuming a dropped session; issued in `Welcome`.
///
/// 16 raw bytes: the room's id (4 bytes, so that a resume finds its room)
/// and 96 random bits from the thread's CSPRNG. Clients must treat it as
/// opaque.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionToken(pub [u8; 16]);

impl fmt::Debug for SessionToken {
    // Never print a credential into logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_skips_none_on_wrap() {
        assert_eq!(Tick(u32::MAX).next(), Tick(1));
        assert_eq!(Tick(5).next(), Tick(6));
        assert!(Tick(u32::MAX).next().is_some());
    }

    #[test]
    fn ordering_survives_wrap_around() {
        let old = Tick(u32::MAX - 2);
        let new = old.next().next().next().next(); // crosses the wrap
        assert_eq!(new, Tick(2));
        assert!(new.is_newer_than(old));
        assert!(!old.is_newer_than(new));
        // Four steps, but the skipped 0 still counts in the arithmetic.
        assert_eq!(new.since(old), 5);
        assert_eq!(old.since(new), -5);
    }

    #[test]
    fn a_tick_is_not_newer_than_itself() {
        assert!(!Tick(7).is_newer_than(Tick(7)));
        assert_eq!(Tick(7).since(Tick(7)), 0);
    }

    #[test]
    fn token_debug_hides_the_secret() {
        let t = SessionToken([0xab; 16]);
        assert_eq!(format!("{t:?}"), "SessionToken(..)");
    }
}
