//! Fixed-point quantisation of replicated state.
//!
//! Entities are diffed and sent in fixed point, never as floats, so that
//! "unchanged" is exact and a delta is a small integer:
//!
//! | field | unit on the wire | resolution | range |
//! | --- | --- | --- | --- |
//! | position `x`, `y` | `i32`, 1/16 world unit | 0.0625 units | exact to ±1,048,576 units (f32 limit); the server caps `--world-size` there |
//! | velocity `vx`, `vy` | `i16`, 1/8 unit per second | 0.125 units/s | −4,096 to +4,095.875 units/s, saturating |
//! | facing `yaw` | `u16`, 1/65,536 of a turn | 0.0055° | a full turn, wrapping |
//!
//! At the arena's 200 units/s and 30 Hz an entity moves 6.7 units (107
//! quanta) per tick, so a per-tick position delta fits bincode's one-byte
//! zigzag varint (`-125..=125`).

use crate::ids::EntityId;
use glam::Vec2;
use serde::{Deserialize, Serialize};
use std::f32::consts::TAU;

/// Position quanta per world unit.
pub const POS_SCALE: f32 = 16.0;
/// Velocity quanta per world unit per second.
pub const VEL_SCALE: f32 = 8.0;
/// Yaw quanta per full turn.
pub const YAW_STEPS: f32 = 65_536.0;
/// Largest world side whose positions keep full 1/16-unit resolution in f32.
pub const MAX_WORLD_SIZE: f32 = 1_048_576.0;

/// The physical state of an entity in floating point, as the simulation runs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// Position in world units; the arena spans `[0, size]` on both axes.
    pub pos: Vec2,
    /// Velocity in world units per second.
    pub vel: Vec2,
    /// Facing in radians.
    pub yaw: f32,
}

/// One entity's replicated state in fixed point: what snapshots carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetEntity {
    /// Which entity.
    pub id: EntityId,
    /// Position, 1/16 unit.
    pub x: i32,
    /// Position, 1/16 unit.
    pub y: i32,
    /// Velocity, 1/8 unit per second.
    pub vx: i16,
    /// Velocity, 1/8 unit per second.
    pub vy: i16,
    /// Facing, 1/65,536 of a turn.
    pub yaw: u16,
}

/// Rounds half away from zero to an integer, saturating (NaN gives 0).
///
/// `f32::round` is a libm call on baseline x86-64 (no SSE4.1), which made it
/// a fifth of the room's quantisation time; this is two instructions. Values
/// of magnitude 2^23 and more are already integers and are cast directly.
#[inline]
fn round_to_i64(x: f32) -> i64 {
    if x.abs() >= 8_388_608.0 {
        x as i64
    } else {
        (x + 0.5_f32.copysign(x)) as i64
    }
}

/// Quantises a position coordinate (round to nearest; NaN becomes 0).
pub fn quantise_pos(v: f32) -> i32 {
    round_to_i64(v * POS_SCALE).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The world coordinate of a quantised position.
pub fn dequantise_pos(q: i32) -> f32 {
    q as f32 / POS_SCALE
}

/// Quantises a velocity component, saturating at the `i16` range.
pub fn quantise_vel(v: f32) -> i16 {
    round_to_i64(v * VEL_SCALE).clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16
}

/// The velocity component of a quantised one.
pub fn dequantise_vel(q: i16) -> f32 {
    f32::from(q) / VEL_SCALE
}

/// Quantises a yaw in radians, wrapping to one turn.
pub fn quantise_yaw(yaw: f32) -> u16 {
    // Steps modulo 65,536 by two's-complement wrap-around: no fmod. (Yaws
    // beyond ±2^63 steps saturate; they are meaningless anyway.)
    (round_to_i64(yaw * (YAW_STEPS / TAU)) & 0xffff) as u16
}

/// The yaw in radians, in `[0, 2π)`, of a quantised one.
pub fn dequantise_yaw(q: u16) -> f32 {
    f32::from(q) / YAW_STEPS * TAU
}

impl NetEntity {
    /// Quantises a body.
    pub fn from_body(id: EntityId, body: &Body) -> Self {
        NetEntity {
            id,
            x: quantise_pos(body.pos.x),
            y: quantise_pos(body.pos.y),
            vx: quantise_vel(body.vel.x),
            vy: quantise_vel(body.vel.y),
            yaw: quantise_yaw(body.yaw),
        }
    }

    /// The body this state stands for (to the resolution above).
    pub fn body(&self) -> Body {
        Body {
            pos: self.pos(),
            vel: Vec2::new(dequantise_vel(self.vx), dequantise_vel(self.vy)),
            yaw: dequantise_yaw(self.yaw),
        }
    }

    /// Position in world units.
    pub fn pos(&self) -> Vec2 {
        Vec2::new(dequantise_pos(self.x), dequantise_pos(self.y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn position_round_trip_is_within_half_a_quantum(v in -MAX_WORLD_SIZE..MAX_WORLD_SIZE) {
            let back = dequantise_pos(quantise_pos(v));
            prop_assert!((back - v).abs() <= 0.5 / POS_SCALE + 1e-6, "{v} -> {back}");
        }

        #[test]
        fn quantised_positions_are_stable(q in -16_777_216i32..16_777_216) {
            // Re-quantising a dequantised value gives the same integer: what a
            // client mirrors is exactly what the server diffed.
            prop_assert_eq!(quantise_pos(dequantise_pos(q)), q);
        }

        #[test]
        fn yaw_round_trip_is_within_half_a_step(yaw in -100.0f32..100.0) {
            let back = dequantise_yaw(quantise_yaw(yaw));
            let diff = (back - yaw.rem_euclid(TAU)).abs();
            let diff = diff.min(TAU - diff);
            prop_assert!(diff <= TAU / YAW_STEPS, "{yaw} -> {back}");
        }
    }

    #[test]
    fn velocity_saturates() {
        assert_eq!(quantise_vel(1.0e9), i16::MAX);
        assert_eq!(quantise_vel(-1.0e9), i16::MIN);
        assert_eq!(quantise_vel(200.0), 1600);
    }

    #[test]
    fn yaw_wraps_to_one_turn() {
        assert_eq!(quantise_yaw(0.0), 0);
        assert_eq!(quantise_yaw(TAU), 0);
        assert_eq!(quantise_yaw(-TAU / 4.0), 49_152);
        assert_eq!(quantise_yaw(TAU - 1e-7), 0);
    }

    #[test]
    fn non_finite_inputs_do_not_panic() {
        assert_eq!(quantise_pos(f32::NAN), 0);
        assert_eq!(quantise_pos(f32::INFINITY), i32::MAX);
        let _ = quantise_yaw(f32::NAN);
        let _ = quantise_yaw(f32::INFINITY);
    }
}
