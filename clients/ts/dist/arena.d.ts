/**
 * The built-in arena's movement rule (`shared/src/arena.rs`, `step`),
 * ported for prediction: players walk at 200 units/s inside
 * `[0, world.size]` on both axes (docs/PROTOCOL.md section 10.3).
 *
 * The Rust rule computes in `f32`; this port rounds every operation to
 * `f32` (`Math.fround`) in the same order, so a prediction matches the
 * server's to the bit given the same inputs.
 */
import type { Fields } from "./codec.js";
/** Walkers' speed at full input, world units per second. */
export declare const ARENA_MOVE_SPEED = 200;
/** A walker's fields, as the arena's descriptor names them. */
export interface ArenaWalker extends Fields {
    "pos.x": number;
    "pos.y": number;
    "vel.x": number;
    "vel.y": number;
    yaw: number;
}
/** The arena's input fields. */
export interface ArenaInput extends Fields {
    move_x: number;
    move_y: number;
    yaw: number;
    buttons: number;
}
/**
 * One arena tick: the move vector clamped to length 1 (zero if not
 * finite), velocity = move × 200, position advanced by `dt` and clamped to
 * the world, yaw taken from the input. Pass quantised inputs (what
 * `Room.sendInput` predicts with).
 */
export declare function arenaStep(state: Readonly<Fields>, input: Readonly<Fields>, dt: number, worldSize: number): ArenaWalker;
/** The arena's rule as a {@link StepFn} for a world of side `worldSize`. */
export declare function arenaRule(worldSize: number): (state: Fields, input: Fields, dt: number) => Fields;
/** Distance between two walkers' positions, world units (the prediction error). */
export declare function arenaDistance(a: Readonly<Fields>, b: Readonly<Fields>): number;
