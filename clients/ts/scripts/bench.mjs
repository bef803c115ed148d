// Decode-and-apply speed of real server snapshots (made by
// shared/tests/vectors.rs): one client's area of interest (28 walkers, all
// moving) and a full view of 1,000 moving walkers. Each is a complete
// snapshot and the chain of one-tick deltas that follows it, applied to one
// mirror as a client that keeps up applies them: each delta is timed on its
// own (decode of the header and apply), the complete snapshot that starts
// the chain again is not.
// Runs the built package (dist/); `npm run build` first after a change.
// Prints the median and p90 time per snapshot.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Mirror, decodeServer } from "../dist/index.js";

const targets = { "aoi.json": 20, "full.json": 1000 }; // microseconds
const SECONDS = 3;

function fromHex(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];

let failed = false;
for (const [file, targetUs] of Object.entries(targets)) {
  const v = JSON.parse(readFileSync(new URL(`../vectors/bench/${file}`, import.meta.url), "utf8"));
  const schema = decodeServer(fromHex(v.schema)).schema;
  const complete = fromHex(v.complete);
  const deltas = v.deltas.map(fromHex);
  const mirror = new Mirror(schema);
  const samples = [];
  const deadline = performance.now() + SECONDS * 1000;
  for (let round = 0; performance.now() < deadline; round++) {
    mirror.restart();
    mirror.apply(decodeServer(complete));
    for (const d of deltas) {
      const t0 = performance.now();
      mirror.apply(decodeServer(d));
      const t1 = performance.now();
      // The first rounds warm the JIT up.
      if (round >= 20) samples.push((t1 - t0) * 1000);
    }
  }
  samples.sort((a, b) => a - b);
  const median = quantile(samples, 0.5);
  const ok = median <= targetUs;
  failed ||= !ok;
  const bytes = Math.round(deltas.reduce((n, d) => n + d.length, 0) / deltas.length);
  console.log(
    `${v.what}: ${bytes} bytes per delta, median ${median.toFixed(2)} µs, p90 ${quantile(samples, 0.9).toFixed(2)} µs per snapshot over ${samples.length} (target ≤ ${targetUs} µs) ${ok ? "ok" : "OVER TARGET"}`,
  );
}
process.exitCode = failed ? 1 : 0;
