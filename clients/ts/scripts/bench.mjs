// Decode-and-apply speed of real server snapshots (made by
// shared/tests/vectors.rs): one client's area of interest (28 walkers, all
// moving, a one-tick delta) and a full view of 1,000 moving walkers.
// Runs the built package (dist/); `npm run build` first after a change.
// Prints the median time per snapshot over many rounds.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Mirror, decodeServer } from "../dist/index.js";

const targets = { "aoi.json": 20, "full.json": 1000 }; // microseconds

function fromHex(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

let failed = false;
for (const [file, targetUs] of Object.entries(targets)) {
  const v = JSON.parse(readFileSync(new URL(`../vectors/bench/${file}`, import.meta.url), "utf8"));
  const schema = decodeServer(fromHex(v.schema)).schema;
  const complete = fromHex(v.complete);
  const delta = fromHex(v.delta);
  // Each op: decode the delta's header and apply it to a mirror at the base.
  // Two mirrors alternate so that each delta applies to a fresh baseline:
  // the setup (the complete snapshot) is outside the timed region.
  const batch = file === "aoi.json" ? 500 : 10;
  const mirrors = Array.from({ length: batch }, () => new Mirror(schema));
  const samples = [];
  const deadline = performance.now() + 4000;
  for (let round = 0; round < 400 && performance.now() < deadline; round++) {
    for (const m of mirrors) {
      m.restart();
      m.apply(decodeServer(complete));
    }
    const t0 = performance.now();
    for (const m of mirrors) m.apply(decodeServer(delta));
    samples.push(((performance.now() - t0) * 1000) / batch);
  }
  const sorted = samples.slice(5).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const ok = median <= targetUs;
  failed ||= !ok;
  console.log(
    `${v.what}: ${delta.length} bytes, median ${median.toFixed(2)} µs per snapshot (target ≤ ${targetUs} µs) ${ok ? "ok" : "OVER TARGET"}`,
  );
}
process.exitCode = failed ? 1 : 0;
