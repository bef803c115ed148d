//! The built-in game mode: players walking in a square arena.
//!
//! This is the movement rule of the reference workload (`WORKLOAD.md`). The
//! server steps every player with it and clients predict their own entity
//! with the very same function, so a prediction only drifts by quantisation
//! and by inputs the server did not receive in time.

use crate::protocol::InputCmd;
use crate::quant::Body;
use glam::Vec2;

/// Speed at full input, world units per second.
pub const MOVE_SPEED: f32 = 200.0;

/// Arena side for `players` players at the reference density: about 28
/// players within a 300-unit view radius.
pub fn world_size_for(players: usize) -> f32 {
    (100.0 * (players as f32).sqrt()).max(1000.0)
}

/// The input's move vector, clamped to length 1 (zero if not finite).
pub fn move_vector(input: &InputCmd) -> Vec2 {
    let v = Vec2::new(input.move_x, input.move_y);
    if v.is_finite() {
        v.clamp_length_max(1.0)
    } else {
        Vec2::ZERO
    }
}

/// Advances one body by `dt` seconds under `input`, inside `[0, world_size]²`.
pub fn step(body: &mut Body, input: &InputCmd, dt: f32, world_size: f32) {
    body.vel = move_vector(input) * MOVE_SPEED;
    body.pos = (body.pos + body.vel * dt).clamp(Vec2::ZERO, Vec2::splat(world_size));
    if input.yaw.is_finite() {
        body.yaw = input.yaw;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(mx: f32, my: f32) -> InputCmd {
        InputCmd {
            move_x: mx,
            move_y: my,
            ..InputCmd::default()
        }
    }

    #[test]
    fn full_input_moves_at_move_speed() {
        let mut b = Body {
            pos: Vec2::new(500.0, 500.0),
            ..Body::default()
        };
        step(&mut b, &input(1.0, 0.0), 1.0 / 30.0, 1000.0);
        assert!((b.pos.x - (500.0 + MOVE_SPEED / 30.0)).abs() < 1e-3);
        assert_eq!(b.vel, Vec2::new(MOVE_SPEED, 0.0));
    }

    #[test]
    fn diagonal_input_is_not_faster() {
        let mut b = Body {
            pos: Vec2::new(500.0, 500.0),
            ..Body::default()
        };
        step(&mut b, &input(1.0, 1.0), 1.0, 10_000.0);
        assert!((b.vel.length() - MOVE_SPEED).abs() < 1e-3);
    }

    #[test]
    fn bodies_stay_inside_the_arena() {
        let mut b = Body {
            pos: Vec2::new(1.0, 999.0),
            ..Body::default()
        };
        step(&mut b, &input(-1.0, 0.0), 1.0, 1000.0);
        assert_eq!(b.pos.x, 0.0);
        step(&mut b, &input(0.0, 1.0), 1.0, 1000.0);
        assert_eq!(b.pos.y, 1000.0);
    }

    #[test]
    fn world_size_keeps_density_constant() {
        assert_eq!(world_size_for(10), 1000.0);
        assert_eq!(world_size_for(10_000), 10_000.0);
        // About 28 players inside a 300-unit radius at any size.
        let n = 2_500.0_f32;
        let side = world_size_for(2_500);
        let in_view = n * std::f32::consts::PI * 300.0 * 300.0 / (side * side);
        assert!((27.0..29.0).contains(&in_view), "{in_view}");
    }
}
