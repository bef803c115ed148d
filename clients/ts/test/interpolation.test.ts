// Interpolation between snapshots by server tick, on arena snapshots
// written here with the package's own Writer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mirror, TickClock, Writer, decodeServer, interpolate, zigzag, type CompiledSchema, type Entity } from "../src/index.js";
import { fromHex, vectors } from "./helpers.js";

const arena = vectors("arena.json");
const schemaMsg = decodeServer(fromHex(arena.schema.hex));
const schema = (schemaMsg.type === "Schema" ? schemaMsg.schema : undefined) as CompiledSchema;

/** An arena snapshot of walker 1: spawned (complete) or updated by `changes` (slot -> delta). */
function snapshot(tick: number, gap: number, changes: Record<number, number> | "spawn"): ReturnType<typeof decodeServer> {
  const w = new Writer();
  w.u32(1).u32(tick).u32(gap).u32(0);
  w.u64(0); // removed
  if (changes === "spawn") {
    // Walker 1 at (100, 100), facing q = 65500.
    w.u64(0).u64(1).u32(1).u32(0).u64(0b10011).u32(zigzag(1600)).u32(zigzag(1600)).u32(zigzag(65500 - 65536));
  } else {
    const slots = Object.keys(changes).map(Number);
    w.u64(slots.length ? 1 : 0);
    if (slots.length) {
      w.u32(1).u64(slots.reduce((m, s) => m | (1 << s), 0));
      for (const s of slots) w.u32(zigzag(changes[s]!));
    }
    w.u64(0);
  }
  w.u64(0); // events
  return decodeServer(w.finish());
}

function apply(m: Mirror, msg: ReturnType<typeof decodeServer>): void {
  assert.equal(msg.type, "Snapshot");
  if (msg.type === "Snapshot") m.apply(msg);
}

test("fixed point lerps by tick, angles go the short way round, held values wait for the last snapshot", () => {
  const m = new Mirror(schema);
  apply(m, snapshot(10, 0, "spawn"));
  apply(m, snapshot(11, 1, { 0: 160, 4: 72 })); // +10 units; yaw 65500 -> 36 across 0
  apply(m, snapshot(12, 1, { 0: 160 }));
  const e = m.get(1) as Entity;
  const at = (tick: number) => interpolate(e, tick);
  assert.equal(at(9)["pos.x"], 100, "before the first sample: the oldest");
  assert.equal(at(10)["pos.x"], 100);
  assert.equal(at(10.5)["pos.x"], 105);
  assert.equal(at(11.25)["pos.x"], 112.5);
  assert.equal(at(13)["pos.x"], 120, "after the newest: the newest");
  assert.equal(at(10.5)["pos.y"], 100);
  // Halfway from 65500 to 36 (72 steps the short way) is 0.
  assert.ok(Math.abs((at(10.5)["yaw"] as number) - 0) < 1e-12);
  assert.ok(Math.abs((at(10.25)["yaw"] as number) - (65518 / 65536) * 2 * Math.PI) < 1e-9);
  // Unchanged at 13 and 14, then a step at 15: it moves between 14 and 15 only.
  apply(m, snapshot(13, 1, {}));
  apply(m, snapshot(14, 1, {}));
  apply(m, snapshot(15, 1, { 0: 160 }));
  assert.equal(at(13.5)["pos.x"], 120);
  assert.equal(at(14.5)["pos.x"], 125);
  // Non-interpolated fields and the entity itself are untouched.
  assert.equal(e.fields["pos.x"], 130);
});

test("the tick clock follows the least-delayed arrivals and advances at the tick rate", () => {
  const c = new TickClock(30);
  assert.ok(Number.isNaN(c.tickAt(0)));
  c.observe(100, 1000);
  assert.equal(c.tickAt(1000), 100);
  assert.ok(Math.abs(c.tickAt(1100) - 103) < 1e-9);
  // A late snapshot (jitter) pulls the estimate back only a little.
  c.observe(101, 1000 + 33.333 + 20);
  assert.ok(c.tickAt(1100) < 103 && c.tickAt(1100) > 102.9);
  // An early one moves it forward at once.
  c.observe(103, 1090);
  assert.ok(Math.abs(c.tickAt(1090) - 103) < 1e-9);
});
