// Runs what needs the real release server (see README "Tests"): compiles
// src/ and e2e/ into build-e2e/ (gitignored), then
//   node scripts/e2e.mjs server   the SDK against the servers (node --test)
//   node scripts/e2e.mjs browser  the demo pages in headless Chromium (node --test)
//   node scripts/e2e.mjs load     the demo page next to 500 bots (prints figures)
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const what = process.argv[2];
const entry = { server: "build-e2e/e2e/server.test.js", browser: "build-e2e/e2e/browser.test.js", load: "build-e2e/e2e/load-demo.js" }[what];
if (!entry) {
  console.error("usage: node scripts/e2e.mjs server|browser|load");
  process.exit(2);
}

rmSync(new URL("../build-e2e", import.meta.url), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.e2e.json"], { cwd: root, stdio: "inherit" });
  // Tests: one file, its tests in order, each bounded; the load check is a plain script.
  const args = what === "load" ? [entry] : ["--test", "--test-concurrency=1", `--test-timeout=${what === "browser" ? 60_000 : 30_000}`, entry];
  execFileSync(process.execPath, args, { cwd: root, stdio: "inherit" });
} catch {
  process.exit(1);
}
