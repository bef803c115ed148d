// The arena demo page, served by `snapwire-server` at `/`: join, walk with
// WASD or the arrow keys (predicted with the arena's own rule), and see
// every walker in view, the others interpolated between snapshots.

import { arenaDistance, arenaStep } from "../src/index.js";
import { FrameRate, Hud, Keys, View, joinPage, ms, runLoop } from "./common.js";

/** Walkers' radius, world units (the arena has no size of its own; this is for drawing). */
const RADIUS = 8;

async function main(): Promise<void> {
  const { room: r, stats } = await joinPage();

  // Prediction: every input is applied at once with the server's rule,
  // then replayed on the server's state as snapshots acknowledge inputs.
  r.predict((state, input, dt) => arenaStep(state, input, dt, r.world.size), arenaDistance);

  const keys = new Keys();
  const view = new View(document.querySelector("canvas")!, r.world.size);
  const fps = new FrameRate();
  const hud = new Hud();
  let yaw = 0;
  const scratch = {};

  const sendInput = () => {
    const move = keys.move();
    if (move.x !== 0 || move.y !== 0) yaw = Math.atan2(move.y, move.x);
    r.sendInput({ move_x: move.x, move_y: move.y, yaw, buttons: 0 });
  };
  // A hidden tab gets no animation frames: stop walking rather than keep
  // the last input (which the server repeats).
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) r.sendInput({ move_x: 0, move_y: 0, yaw, buttons: 0 });
  });

  const draw = (now: number) => {
    const me = r.predicted;
    const own = me ? { x: Number(me["pos.x"]), y: Number(me["pos.y"]) } : null;
    view.clear(own, r.world.viewRadius);
    for (const e of r.state.entities.values()) {
      if (e.id === r.entityId) continue;
      const f = r.interpolated(e, now, scratch) ?? e.fields;
      view.disc({ x: Number(f["pos.x"]), y: Number(f["pos.y"]) }, RADIUS, "#4cc9f0", null, Number(f["yaw"]));
    }
    if (own && me) view.disc(own, RADIUS * 1.25, "#ffd166", "#ffffff", Number(me["yaw"]));
    fps.tick(now);
    hud.update(now, () => ({
      rtt: ms(r.rtt),
      tick: String(r.state.tick),
      players: String(r.state.players.size),
      visible: String(r.state.entities.size),
      fps: String(fps.fps),
      error: r.predictionError === undefined ? "-" : r.predictionError.toFixed(2),
    }));
  };

  runLoop(r, stats, sendInput, draw);
}

// A failed join is already shown on the page.
main().catch(() => {});
