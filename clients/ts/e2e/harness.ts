// What the integration tests, the browser test and the load check share:
// starting a release server on a free loopback port (and always stopping
// it), a TCP proxy whose connections can be cut, a WebSocket that can be
// reached under the SDK, and bounded waiting.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

/** clients/ts (this file is compiled to build-e2e/e2e/). */
export const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

/** The release binaries, from the environment or the workspace's target/. */
export const bins = {
  server: process.env["SNAPWIRE_SERVER_BIN"] ?? `${repoRoot}target/release/snapwire-server`,
  shooter: process.env["SNAPWIRE_SHOOTER_BIN"] ?? `${repoRoot}target/release/examples/shooter`,
  bot: process.env["SNAPWIRE_BOT_BIN"] ?? `${repoRoot}target/release/snapwire-bot`,
};

/** Children still running, killed when this process exits however it exits. */
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const c of children) c.kill("SIGKILL");
    process.exit(130);
  });
}

/** A child process that is killed at exit and whose output is kept. */
export interface Child {
  readonly process: ChildProcess;
  /** Its stdout and stderr so far, without colours. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Starts `bin args...` (optionally under `taskset -c CPU`), tracked for cleanup. */
export function startChild(bin: string, args: string[], options: { cpu?: number | undefined } = {}): Child {
  if (!existsSync(bin)) throw new Error(`${bin} not found: build it with cargo build --release (see clients/ts/README.md), or set the path in the environment`);
  const [cmd, argv] = options.cpu === undefined ? [bin, args] : ["taskset", ["-c", String(options.cpu), bin, ...args]];
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  children.add(child);
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? "?");
    }),
  );
  return {
    process: child,
    output: () => out.replace(ANSI, ""),
    exited,
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A running game server. */
export interface Server extends Child {
  readonly port: number;
  /** `ws://127.0.0.1:PORT/play`. */
  readonly url: string;
  /** `http://127.0.0.1:PORT/`, where the demo page is. */
  readonly httpUrl: string;
}

/**
 * Starts a game server on `127.0.0.1:0` and waits for its
 * `serving url=ws://127.0.0.1:PORT/play` line. No admin listener (tests
 * may run side by side) and no drain, so that stopping is quick.
 */
export async function startServer(bin: string, args: string[] = [], options: { cpu?: number; timeoutMs?: number } = {}): Promise<Server> {
  const child = startChild(bin, ["--listen", "127.0.0.1:0", "--log", "info", "--admin-listen", "off", "--drain-timeout", "0s", ...args], { cpu: options.cpu });
  const serving = /serving url=ws:\/\/127\.0\.0\.1:(\d+)\/play/;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no "serving" line within ${options.timeoutMs ?? 10_000} ms:\n${child.output()}`)), options.timeoutMs ?? 10_000);
    const poll = setInterval(() => {
      const m = serving.exec(child.output());
      if (m) done(null, Number(m[1]));
    }, 20);
    void child.exited.then((code) => done(new Error(`the server exited (${code}) before serving:\n${child.output()}`)));
    function done(err: Error | null, p?: number) {
      clearTimeout(timer);
      clearInterval(poll);
      if (err) reject(err);
      else resolve(p!);
    }
  }).catch(async (e: unknown) => {
    await child.stop();
    throw e;
  });
  return { ...child, port, url: `ws://127.0.0.1:${port}/play`, httpUrl: `http://127.0.0.1:${port}/` };
}

/** A TCP proxy to a loopback port; {@link Proxy.cut} resets every connection through it (no close frame, no FIN). */
export interface Proxy {
  readonly port: number;
  /** Connections cut so far. */
  cuts: number;
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxy: Proxy = {
    port: (server.address() as net.AddressInfo).port,
    cuts: 0,
    cut() {
      for (const s of open) {
        s.resetAndDestroy();
        proxy.cuts++;
      }
    },
    close() {
      proxy.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/**
 * `ws`'s WebSocket, remembering every socket it made, so that a test can
 * reach the one under a room (to drop it, or to send what the SDK never
 * would).
 */
export function trackedWebSocket(onSocket: (ws: WebSocket) => void = () => {}): {
  WebSocket: new (url: string, protocols?: string | string[]) => WebSocket;
  sockets: WebSocket[];
  last(): WebSocket;
} {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
      onSocket(this);
    }
  }
  return {
    WebSocket: Tracked,
    sockets,
    last() {
      const s = sockets[sockets.length - 1];
      if (!s) throw new Error("no socket yet");
      return s;
    },
  };
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
  ]);
}

/** Polls `check` every `everyMs` until it returns something other than undefined/false, for at most `ms`. */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string, everyMs = 10): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
