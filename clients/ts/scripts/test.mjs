// Compiles the sources and tests into build/ (gitignored) and runs them
// with node's test runner, each test file bounded in time.
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

rmSync(new URL("../build", import.meta.url), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.test.json"], { cwd: root, stdio: "inherit" });
} catch {
  process.exit(1);
}
const files = readdirSync(new URL("../build/test", import.meta.url))
  .filter((f) => f.endsWith(".test.js"))
  .sort()
  .map((f) => `build/test/${f}`);
try {
  execFileSync(process.execPath, ["--test", "--test-timeout=20000", ...files], { cwd: root, stdio: "inherit" });
} catch {
  process.exit(1);
}
