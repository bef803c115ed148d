// The load check (`npm run load:demo`; not a test): a release arena server,
// 500 Rust bots, and one headless demo page in the same room. Measures the
// page's snapshots and frames per second over 15 s of steady state (from
// its debug hook) and prints them with the bots' own report. The target:
// the page holds 30 snapshots a second (the tick rate).
//
// With `taskset` the server runs on CPU 0 and the bots on CPU 1; Chromium
// is not pinned (it shares both). Environment: LOAD_BOTS (500),
// LOAD_MEASURE_S (15).

import { existsSync, readFileSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { bins, packageRoot, sleep, startChild, startServer, until, type Child, type Server } from "./harness.js";

const BOTS = Number(process.env["LOAD_BOTS"] ?? 500);
const MEASURE_S = Number(process.env["LOAD_MEASURE_S"] ?? 15);
const RAMP_S = 5;
const BOT_WINDOW_S = 30;
const TICK_RATE = 30;
const pinned = existsSync("/usr/bin/taskset");

let server: Server | undefined;
let bots: Child | undefined;
let browser: Browser | undefined;

async function main(): Promise<void> {
  console.log(`load:demo: ${BOTS} bots + 1 page, ${pinned ? "server pinned to CPU 0, bots to CPU 1 (taskset), Chromium unpinned" : "no taskset: nothing pinned"}`);
  server = await startServer(bins.server, ["--max-connections-per-ip", "0", "--room-capacity", String(BOTS + 100), "--tick-rate", String(TICK_RATE)], {
    cpu: pinned ? 0 : undefined,
  });
  browser = await chromium.launch({ executablePath: process.env["CHROMIUM"] ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  let pageErrors = 0;
  page.on("console", (m) => m.type() === "error" && (pageErrors++, console.log(`page console.error: ${m.text()}`)));
  page.on("pageerror", (e) => (pageErrors++, console.log(`page error: ${e.message}`)));
  await page.goto(`${server.httpUrl}?name=observer`);
  await page.waitForFunction(() => window.snapwireDemo?.room?.me !== undefined, null, { timeout: 10_000 });
  // Keep every snapshot's arrival time in the page, for the gaps between them.
  await page.evaluate(() => {
    const w = window as unknown as { arrivals: number[] };
    w.arrivals = [];
    window.snapwireDemo!.room!.onStateChange(() => w.arrivals.push(performance.now()));
  });

  const report = `${packageRoot}build-e2e/load-bots.json`;
  const botArgs = ["--url", server.url, "--bots", String(BOTS), "--ramp-up", `${RAMP_S}s`, "--duration", `${BOT_WINDOW_S}s`, "--threads", "1", "--report", report];
  bots = startChild(bins.bot, botArgs, { cpu: pinned ? 1 : undefined });
  const started = Date.now();

  // Steady state: every bot in the page's room (its roster), then a second to settle.
  await until(async () => (await page.evaluate(() => window.snapwireDemo!.room!.state.players.size)) >= BOTS + 1, (RAMP_S + 15) * 1000, `${BOTS} bots in the page's room`, 250);
  console.log(`all ${BOTS} bots in the page's room after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await sleep(1000);

  const read = () =>
    page.evaluate(() => {
      const h = window.snapwireDemo!;
      return {
        t: performance.now(),
        snapshots: h.stats.snapshots,
        frames: h.stats.frames,
        errors: h.stats.errors,
        resumes: h.stats.resumes + h.stats.rejoins,
        visible: h.room!.state.entities.size,
        players: h.room!.state.players.size,
        rtt: h.room!.rtt,
        room: h.room!.roomId,
      };
    });
  const first = await read();
  const perSecond: number[] = [];
  let prev = first;
  let visibleSum = 0;
  for (let i = 0; i < MEASURE_S; i++) {
    await sleep(1000);
    const now = await read();
    perSecond.push(((now.snapshots - prev.snapshots) * 1000) / (now.t - prev.t));
    visibleSum += now.visible;
    prev = now;
  }
  const last = prev;
  const seconds = (last.t - first.t) / 1000;
  const gaps = await page.evaluate(
    ([from, to]) => {
      const a = (window as unknown as { arrivals: number[] }).arrivals.filter((t) => t >= from && t <= to);
      const g = a.slice(1).map((t, i) => t - a[i]!);
      g.sort((x, y) => x - y);
      return { p50: g[Math.floor(g.length * 0.5)] ?? NaN, p99: g[Math.floor(g.length * 0.99)] ?? NaN, max: g[g.length - 1] ?? NaN };
    },
    [first.t, last.t] as const,
  );
  const snapshotsPerS = (last.snapshots - first.snapshots) / seconds;
  const framesPerS = (last.frames - first.frames) / seconds;

  console.log(`\npage over ${seconds.toFixed(1)} s of steady state (room ${last.room}, ${last.players} players):`);
  console.log(`  snapshots/s      ${snapshotsPerS.toFixed(2)} (per second: min ${Math.min(...perSecond).toFixed(1)}, max ${Math.max(...perSecond).toFixed(1)})`);
  console.log(`  snapshot gap     p50 ${gaps.p50.toFixed(1)} ms, p99 ${gaps.p99.toFixed(1)} ms, max ${gaps.max.toFixed(1)} ms`);
  console.log(`  frames/s         ${framesPerS.toFixed(1)}`);
  console.log(`  entities in view ${(visibleSum / MEASURE_S).toFixed(0)} on average`);
  console.log(`  RTT              ${last.rtt.toFixed(1)} ms`);
  console.log(`  errors           ${last.errors - first.errors + pageErrors}, reconnections ${last.resumes}`);

  const code = await bots.exited;
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, "utf8")) as Record<string, unknown>;
    const pick = Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === "number" || typeof v === "string" || typeof v === "boolean"));
    console.log(`\nbots (exit ${code}; ${report}):`, JSON.stringify(pick));
  } else console.log(`\nbots exited ${code} without a report:\n${bots.output().slice(-2000)}`);

  const held = snapshotsPerS >= TICK_RATE * 0.98;
  console.log(`\ntarget (the page holds ${TICK_RATE} snapshots/s): ${held ? "held" : "NOT held"} at ${snapshotsPerS.toFixed(2)}`);
}

main()
  .catch((e: unknown) => {
    console.error(e);
    if (server) console.error(`server output (tail):\n${server.output().slice(-2000)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await browser?.close().catch(() => {});
    await bots?.stop();
    await server?.stop();
  });
