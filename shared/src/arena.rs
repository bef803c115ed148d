//! The built-in game mode: players walking in a square arena.
//!
//! This is the movement rule of the reference workload (`WORKLOAD.md`),
//! and its replicated types: one entity kind ([`Walker`]), an input
//! ([`InputCmd`]), no room state and no messages. The server steps every
//! player with [`step`] and clients predict their own entity with the very
//! same function ([`Predictor`]), so a prediction only drifts by
//! quantisation and by inputs the server did not receive in time.

use crate::codec::FieldCodec;
use glam::Vec2;
use snapwire_derive::Replicate;
use std::collections::VecDeque;

/// Speed at full input, world units per second.
pub const MOVE_SPEED: f32 = 200.0;
/// Position quanta per world unit (1/16 unit).
pub const POS_SCALE: f32 = 16.0;
/// Largest world side whose positions keep full 1/16-unit resolution in f32.
pub const MAX_WORLD_SIZE: f32 = 1_048_576.0;

/// A player's entity: where it is, how it moves, where it faces.
///
/// | field | on the wire | resolution | range |
/// | --- | --- | --- | --- |
/// | `pos` | 2 × `i32`, 1/16 unit | 0.0625 units | 0 to 1,048,576 units |
/// | `vel` | 2 × `i16`, 1/8 unit per second | 0.125 units/s | ±4,096 units/s |
/// | `yaw` | `u16`, 1/65,536 of a turn | 0.0055° | a full turn, wrapping |
///
/// At 200 units/s and 30 Hz an entity moves 6.7 units (107 quanta) per
/// tick, so a per-tick position change fits a one-byte zigzag varint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Replicate)]
pub struct Walker {
    /// Position in world units; the arena spans `[0, size]` on both axes.
    #[snap(position, scale = POS_SCALE, min = 0, max = MAX_WORLD_SIZE)]
    pub pos: Vec2,
    /// Velocity in world units per second.
    #[snap(scale = 8, min = -4096, max = 4095.875)]
    pub vel: Vec2,
    /// Facing in radians.
    #[snap(angle)]
    pub yaw: f32,
}

/// One tick of a player's controls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Replicate)]
pub struct InputCmd {
    /// The input's sequence number (kept by the framework, not a field).
    #[snap(skip)]
    pub seq: u32,
    /// Move direction, x component, in `[-1, 1]` (1/1024 steps); the
    /// vector is clamped to length 1.
    #[snap(scale = 1024, min = -1, max = 1)]
    pub move_x: f32,
    /// Move direction, y component.
    #[snap(scale = 1024, min = -1, max = 1)]
    pub move_y: f32,
    /// Facing in radians.
    #[snap(angle)]
    pub yaw: f32,
    /// Game-defined button bits.
    pub buttons: u8,
}

impl InputCmd {
    /// This input as the server will see it: every field quantised (what a
    /// client should predict with).
    pub fn quantised(&self) -> InputCmd {
        let codec = Self::codec();
        let mut q = codec
            .decode::<InputCmd>(&codec.encode(self))
            .unwrap_or_default();
        q.seq = self.seq;
        q
    }

    /// The `Input` message that sends it.
    pub fn msg(&self) -> crate::ClientMsg {
        crate::ClientMsg::Input(crate::protocol::InputMsg {
            seq: self.seq,
            fields: Self::codec().encode(self),
        })
    }

    /// The input's field codec, made once (a client sends 30 a second).
    fn codec() -> &'static FieldCodec {
        static CODEC: std::sync::OnceLock<FieldCodec> = std::sync::OnceLock::new();
        CODEC.get_or_init(FieldCodec::of::<InputCmd>)
    }
}

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

/// Advances one walker by `dt` seconds under `input`, inside `[0, world_size]²`.
pub fn step(body: &mut Walker, input: &InputCmd, dt: f32, world_size: f32) {
    body.vel = move_vector(input) * MOVE_SPEED;
    body.pos = (body.pos + body.vel * dt).clamp(Vec2::ZERO, Vec2::splat(world_size));
    if input.yaw.is_finite() {
        body.yaw = input.yaw;
    }
}
/// Client-side prediction of the local player's entity, reconciled against
/// the server with the acknowledged input sequence.
#[derive(Debug)]
pub struct Predictor {
    /// The predicted state after every input sent so far.
    body: Walker,
    /// Inputs the server has not yet acknowledged, with the position this
    /// client predicted right after each.
    pending: VecDeque<(InputCmd, Vec2)>,
    /// Seconds per tick.
    dt: f32,
    /// Arena side, for the movement rule's clamp.
    world_size: f32,
}

/// Unacknowledged inputs kept for replay: one second at 30 Hz, far more
/// than a round trip. Older ones are dropped (their error is not measured).
const MAX_PENDING: usize = 32;

impl Predictor {
    /// A predictor that starts from `body`.
    pub fn new(body: Walker, tick_rate: u16, world_size: f32) -> Self {
        Predictor {
            body,
            pending: VecDeque::new(),
            dt: 1.0 / f32::from(tick_rate.max(1)),
            world_size,
        }
    }

    /// Applies a local input at once, as the server will when it gets it.
    pub fn predict(&mut self, input: InputCmd) {
        let input = input.quantised();
        step(&mut self.body, &input, self.dt, self.world_size);
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((input, self.body.pos));
    }

    /// Takes the server's state of the entity after input `ack_seq`, replays
    /// the inputs it has not seen yet, and returns how far the prediction for
    /// `ack_seq` was from the server (None if that input is no longer known).
    pub fn reconcile(&mut self, server: &Walker, ack_seq: u32) -> Option<f32> {
        let server_body = *server;
        let mut error = None;
        while let Some((input, predicted)) = self.pending.front() {
            // Wrapping order, like ticks: is this input at or before the ack?
            if (ack_seq.wrapping_sub(input.seq) as i32) < 0 {
                break;
            }
            if input.seq == ack_seq {
                error = Some(predicted.distance(server_body.pos));
            }
            self.pending.pop_front();
        }
        self.body = server_body;
        for (input, predicted) in self.pending.iter_mut() {
            step(&mut self.body, input, self.dt, self.world_size);
            *predicted = self.body.pos;
        }
        error
    }

    /// The predicted state of the local entity.
    pub fn body(&self) -> &Walker {
        &self.body
    }

    /// Inputs sent but not yet acknowledged.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}
