/**
 * The built-in arena's movement rule (`shared/src/arena.rs`, `step`),
 * ported for prediction: players walk at 200 units/s inside
 * `[0, world.size]` on both axes (docs/PROTOCOL.md section 10.3).
 *
 * The Rust rule computes in `f32`; this port rounds every operation to
 * `f32` (`Math.fround`) in the same order, so a prediction matches the
 * server's to the bit given the same inputs.
 */
/** Walkers' speed at full input, world units per second. */
export const ARENA_MOVE_SPEED = 200;
const f = Math.fround;
const TAU_F32 = f(2 * Math.PI);
/** An angle in radians as the server holds it after quantisation: `f32(q) / 65536 × τ` in `f32`. */
function angleF32(a) {
    const q = (a < 0 ? -Math.floor(0.5 - a * (65536 / (2 * Math.PI))) : Math.floor(a * (65536 / (2 * Math.PI)) + 0.5)) & 0xffff;
    return f(f(q / 65536) * TAU_F32);
}
/**
 * One arena tick: the move vector clamped to length 1 (zero if not
 * finite), velocity = move × 200, position advanced by `dt` and clamped to
 * the world, yaw taken from the input. Pass quantised inputs (what
 * `Room.sendInput` predicts with).
 */
export function arenaStep(state, input, dt, worldSize) {
    let mx = f(Number(input["move_x"] ?? 0));
    let my = f(Number(input["move_y"] ?? 0));
    if (!Number.isFinite(mx) || !Number.isFinite(my))
        mx = my = 0;
    const lengthSq = f(f(mx * mx) + f(my * my));
    if (lengthSq > 1) {
        const len = f(Math.sqrt(lengthSq));
        mx = f(mx / len);
        my = f(my / len);
    }
    const vx = f(mx * ARENA_MOVE_SPEED);
    const vy = f(my * ARENA_MOVE_SPEED);
    const size = f(worldSize);
    const dtf = f(dt);
    const clamp = (v) => Math.min(Math.max(v, 0), size);
    const yaw = Number(input["yaw"] ?? 0);
    return {
        "pos.x": clamp(f(Number(state["pos.x"]) + f(vx * dtf))),
        "pos.y": clamp(f(Number(state["pos.y"]) + f(vy * dtf))),
        "vel.x": vx,
        "vel.y": vy,
        yaw: Number.isFinite(yaw) ? angleF32(yaw) : Number(state["yaw"]),
    };
}
/** The arena's rule as a {@link StepFn} for a world of side `worldSize`. */
export function arenaRule(worldSize) {
    return (state, input, dt) => arenaStep(state, input, dt, worldSize);
}
/** Distance between two walkers' positions, world units (the prediction error). */
export function arenaDistance(a, b) {
    return Math.hypot(Number(a["pos.x"]) - Number(b["pos.x"]), Number(a["pos.y"]) - Number(b["pos.y"]));
}
