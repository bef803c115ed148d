// The demo pages in headless Chromium against the real release servers
// (`npm run test:e2e`): two arena pages served by `snapwire-server` see each
// other, a held key moves the own walker at once (prediction) and on the
// other page within the interpolation delay, the canvas is drawn, a cut
// connection resumes with the same player, and no page logs an error;
// then the shooter page once against the shooter example.
//
// Page A goes through a TCP proxy, so the test can cut its connection the
// way a network does: no close frame (the browser sees 1006).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Point } from "../demo/common.js";
import { bins, packageRoot, startProxy, startServer, until, within, type Proxy, type Server } from "./harness.js";

const CHROMIUM = process.env["CHROMIUM"] ?? "/usr/bin/chromium";
/** The SDK's default interpolation delay, which the pages use. */
const INTERPOLATION_DELAY_MS = 100;
/** On top of it: an input tick, one or two server ticks, scheduling on a busy 2-core machine. */
const NETWORK_SLACK_MS = 300;
const WAIT = 10_000;
const screenshots = `${packageRoot}build-e2e/screenshots/`;

/** What went wrong on a page: console errors and uncaught exceptions. */
const problems: string[] = [];

let browser: Browser;

async function openPage(url: string, label: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${label}: console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${label}: ${e.message}`));
  await page.goto(url, { timeout: WAIT });
  await page.waitForFunction(() => window.snapwireDemo?.room?.me !== undefined, null, { timeout: WAIT });
  return page;
}

const ids = (page: Page) => page.evaluate(() => ({ player: window.snapwireDemo!.room!.player, entity: window.snapwireDemo!.room!.entityId }));

/** Distinct colours on the page's canvas (every 3rd pixel of every 3rd row), as "r,g,b" strings, at most 64. */
function canvasColors(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const c = document.querySelector("canvas")!;
    const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<string>();
    for (let y = 0; y < c.height && seen.size < 64; y += 3) {
      for (let x = 0; x < c.width; x += 3) {
        const i = (y * c.width + x) * 4;
        seen.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
      }
    }
    return [...seen];
  });
}

/**
 * Holds `key` on page `a` and measures, in the pages, how many animation
 * frames pass before `a` draws its walker moved (prediction) and how long
 * before `b` draws it moved (interpolated), from the key press.
 */
async function holdAndMeasure(a: Page, b: Page, entity: number, key: string, dir: number): Promise<{ frames: number; remoteMs: number }> {
  // Both probes run in the pages' own animation frames; times are Date.now(), shared by both pages.
  await a.evaluate((dir) => {
    const h = window.snapwireDemo!;
    const w = window as unknown as { probe: Promise<{ frames: number; at: number }> };
    w.probe = new Promise((resolve) => {
      let keyFrame = -1;
      let x0 = 0;
      let at = 0;
      addEventListener(
        "keydown",
        () => {
          if (keyFrame >= 0) return;
          keyFrame = h.stats.frames;
          x0 = h.ownPosition()!.x;
          at = Date.now();
        },
        { capture: true },
      );
      const check = () => {
        if (keyFrame >= 0 && (h.ownPosition()!.x - x0) * dir > 0.5) resolve({ frames: h.stats.frames - keyFrame, at });
        else requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    });
  }, dir);
  await b.evaluate(
    ([entity, dir]) => {
      const h = window.snapwireDemo!;
      const w = window as unknown as { probe: Promise<number> };
      const x = () => h.entityPositions().find((e) => e.id === entity)!.x;
      const x0 = x();
      w.probe = new Promise((resolve) => {
        const check = () => ((x() - x0) * dir > 0.5 ? resolve(Date.now()) : requestAnimationFrame(check));
        requestAnimationFrame(check);
      });
    },
    [entity, dir] as const,
  );
  await a.keyboard.down(key);
  try {
    const own = await within(a.evaluate(() => (window as unknown as { probe: Promise<{ frames: number; at: number }> }).probe), WAIT, "the own walker moves");
    const seen = await within(b.evaluate(() => (window as unknown as { probe: Promise<number> }).probe), WAIT, "the other page sees it move");
    return { frames: own.frames, remoteMs: seen - own.at };
  } finally {
    await a.keyboard.up(key);
  }
}

/** Which way to walk from `p` so as not to hit a wall in the world of side `size`. */
const away = (p: Point, size: number) => (p.x < size / 2 ? 1 : -1);

describe("demo pages in Chromium", () => {
  let arena: Server;
  let shooter: Server | undefined;
  let proxy: Proxy;
  let a: Page;
  let b: Page;

  before(async () => {
    mkdirSync(screenshots, { recursive: true });
    // Everything in view, so the two walkers always see each other.
    arena = await startServer(bins.server, ["--view-radius", "0"]);
    proxy = await startProxy(arena.port);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"], timeout: WAIT });
    a = await openPage(`http://127.0.0.1:${proxy.port}/?name=ann`, "arena A");
    b = await openPage(`${arena.httpUrl}?name=bob`, "arena B");
  });

  after(async () => {
    // (Should closing hang, Playwright still kills the browser when this process exits.)
    await within(browser?.close() ?? Promise.resolve(), 5000, "closing the browser").catch(() => {});
    await proxy?.close();
    await Promise.all([arena?.stop(), shooter?.stop()]);
  });

  test("both pages join the arena and see each other", async () => {
    const [ia, ib] = [await ids(a), await ids(b)];
    assert.notEqual(ia.entity, ib.entity);
    await until(() => b.evaluate((id) => window.snapwireDemo!.entityPositions().some((e) => e.id === id && !e.own), ia.entity), WAIT, "B sees A");
    await until(() => a.evaluate((id) => window.snapwireDemo!.entityPositions().some((e) => e.id === id && !e.own), ib.entity), WAIT, "A sees B");
    assert.equal(await a.evaluate(() => window.snapwireDemo!.entityPositions().filter((e) => e.own).length), 1);
    // The HUD shows the round trip, the tick and the players.
    await until(async () => (await a.textContent("#rtt"))?.endsWith(" ms"), WAIT, "A shows its RTT");
    assert.match((await a.textContent("#tick")) ?? "", /^\d+$/);
    assert.equal(await a.textContent("#players"), "2");
  });

  test("a held arrow key moves the own walker within two frames, and on the other page within the interpolation delay", async () => {
    const { entity } = await ids(a);
    const size = await a.evaluate(() => window.snapwireDemo!.room!.world.size);
    const dir = away((await a.evaluate(() => window.snapwireDemo!.ownPosition()))!, size);
    const { frames, remoteMs } = await holdAndMeasure(a, b, entity, dir > 0 ? "ArrowRight" : "ArrowLeft", dir);
    console.log(`# prediction: moved ${frames} frame(s) after the key press; the other page drew it ${remoteMs} ms after`);
    assert.ok(frames <= 2, `the own walker moved ${frames} frames after the key press`);
    assert.ok(remoteMs <= INTERPOLATION_DELAY_MS + NETWORK_SLACK_MS, `the other page saw it after ${remoteMs} ms`);
    // Released: it stops, and the server agrees with the prediction.
    await until(() => a.evaluate(() => window.snapwireDemo!.room!.predictionError !== undefined), WAIT, "a prediction error is measured");
    assert.ok((await a.evaluate(() => window.snapwireDemo!.room!.predictionError!)) < 1);
  });

  test("the canvas is drawn (not blank), with the own walker's colour", async () => {
    const colors = await canvasColors(a);
    assert.ok(colors.length > 1, `colours on the canvas: ${colors.join(" ")}`);
    assert.ok(colors.includes("255,209,102"), "the own walker's yellow is drawn");
    assert.ok((await canvasColors(b)).includes("76,201,240"), "B draws the other walker in blue");
    await a.screenshot({ path: `${screenshots}arena.png` });
  });

  test("a cut connection resumes with the same player, who keeps playing", async () => {
    const before = await ids(a);
    proxy.cut();
    await until(() => a.evaluate(() => window.snapwireDemo!.stats.resumes === 1), WAIT, "A resumes");
    assert.deepEqual(await ids(a), before, "same player, same entity");
    assert.equal(await a.evaluate(() => window.snapwireDemo!.stats.rejoins), 0);
    assert.ok(proxy.cuts > 0);
    const size = await a.evaluate(() => window.snapwireDemo!.room!.world.size);
    const dir = away((await a.evaluate(() => window.snapwireDemo!.ownPosition()))!, size);
    const { frames, remoteMs } = await holdAndMeasure(a, b, before.entity, dir > 0 ? "KeyD" : "KeyA", dir);
    assert.ok(frames <= 2 && remoteMs <= INTERPOLATION_DELAY_MS + NETWORK_SLACK_MS, `after the resume: ${frames} frames, ${remoteMs} ms`);
  });

  test("the shooter page joins, draws soldiers, chats and fires", async () => {
    shooter = await startServer(bins.shooter, ["--view-radius", "0"]);
    const page = await openPage(`${shooter.httpUrl}?name=sam`, "shooter");
    assert.equal(await page.evaluate(() => window.snapwireDemo!.room!.schema.schema.game), "shooter");
    assert.deepEqual(await page.evaluate(() => window.snapwireDemo!.entityPositions().filter((e) => e.own).map((e) => e.kind)), ["Soldier"]);
    await until(async () => /^\d+:\d\d$/.test((await page.textContent("#timer")) ?? ""), WAIT, "the round timer runs");
    assert.equal(await page.textContent("#team"), "Red");
    assert.equal(await page.textContent("#health"), "100");

    // Chat: Enter focuses the box, Enter sends; the line comes back from the server.
    await page.keyboard.press("Enter");
    await page.keyboard.type("hello from chromium");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.getElementById("log")!.textContent!.includes("sam: hello from chromium"), null, { timeout: WAIT });
    await page.keyboard.press("Escape");

    // Space fires a bolt.
    await page.keyboard.down("Space");
    try {
      await until(() => page.evaluate(() => window.snapwireDemo!.entityPositions().some((e) => e.kind === "Bolt")), WAIT, "a bolt flies");
    } finally {
      await page.keyboard.up("Space");
    }
    const colors = await canvasColors(page);
    assert.ok(colors.length > 1 && colors.includes("239,71,111"), `a red soldier is drawn: ${colors.join(" ")}`);
    await page.screenshot({ path: `${screenshots}shooter.png` });
    assert.equal(await page.evaluate(() => window.snapwireDemo!.stats.errors), 0);
  });

  test("no page logged an error", async () => {
    for (const p of [a, b]) assert.equal(await p.evaluate(() => window.snapwireDemo!.stats.errors), 0);
    assert.deepEqual(problems, []);
  });
});
