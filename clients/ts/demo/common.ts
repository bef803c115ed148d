// What both demo pages share: the server URL, the keyboard, the frame loop
// (inputs at the tick rate, one draw per animation frame), the canvas
// transform, the status line and the debug hook the browser tests read.

import { Client, type Room } from "../src/index.js";

/** Counters the tests read through `window.snapwireDemo.stats`. */
export interface DemoStats {
  /** Snapshots applied. */
  snapshots: number;
  /** Animation frames drawn. */
  frames: number;
  /** Errors reported by the room (decode errors, failing callbacks). */
  errors: number;
  /** Reconnections that resumed the session. */
  resumes: number;
  /** Reconnections that joined anew. */
  rejoins: number;
}

/** A point in world units. */
export interface Point {
  x: number;
  y: number;
}

/** One entity as the page draws it. */
export interface DrawnEntity extends Point {
  id: number;
  kind: string;
  own: boolean;
}

/** The read-only hook on `window.snapwireDemo`, for tests and the console. */
export interface DebugHook {
  readonly room: Room | null;
  readonly stats: Readonly<DemoStats>;
  /** The own entity's position as drawn (predicted), or null before joining. */
  ownPosition(): Point | null;
  /** Every entity in view as drawn now (remote ones interpolated). */
  entityPositions(): DrawnEntity[];
}

declare global {
  interface Window {
    snapwireDemo?: DebugHook;
  }
}

/** The game's WebSocket: `/play` on the host that served this page. */
export function serverUrl(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/play`;
}

/** The player's name: `?name=...`, or a random guest name. */
export function playerName(): string {
  const asked = new URLSearchParams(location.search).get("name");
  return (asked ?? `guest-${Math.floor(Math.random() * 9000) + 1000}`).slice(0, 16);
}

/** Keys held down, by `KeyboardEvent.code`; cleared when the page loses focus. */
export class Keys {
  private readonly down = new Set<string>();

  constructor(ignore: (e: KeyboardEvent) => boolean = () => false) {
    addEventListener("keydown", (e) => {
      if (ignore(e) || !CONTROL_KEYS.has(e.code)) return;
      this.down.add(e.code);
      e.preventDefault();
    });
    addEventListener("keyup", (e) => this.down.delete(e.code));
    addEventListener("blur", () => this.down.clear());
  }

  held(code: string): boolean {
    return this.down.has(code);
  }

  /** The move vector from WASD and the arrow keys, at most 1 long (screen y points down). */
  move(): Point {
    const axis = (minus: string[], plus: string[]) => (plus.some((k) => this.held(k)) ? 1 : 0) - (minus.some((k) => this.held(k)) ? 1 : 0);
    const x = axis(["KeyA", "ArrowLeft"], ["KeyD", "ArrowRight"]);
    const y = axis(["KeyW", "ArrowUp"], ["KeyS", "ArrowDown"]);
    const len = Math.hypot(x, y);
    return len > 1 ? { x: x / len, y: y / len } : { x, y };
  }
}

const CONTROL_KEYS = new Set(["KeyW", "KeyA", "KeyS", "KeyD", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Space"]);

/** Counts the room's snapshots and reconnections into `stats`, and reports them in `status`. */
export function track(room: Room, stats: DemoStats, status: HTMLElement): void {
  const show = (text: string, kind: "ok" | "warn" | "bad") => {
    status.textContent = text;
    status.className = kind;
  };
  show("connected", "ok");
  room.onStateChange(() => stats.snapshots++);
  room.onError((e) => {
    // A dropped socket reports a bare WebSocket error before its close; the
    // room reconnects on its own, so that is not the page's error.
    if (e.message === "WebSocket error") return;
    stats.errors++;
    console.error("snapwire:", e);
  });
  room.onReconnecting((r) => show(`connection lost (${r.code}); ${r.resume ? "resuming" : "rejoining"} in ${Math.round(r.delayMs)} ms`, "warn"));
  room.onReconnected(({ resumed }) => {
    if (resumed) stats.resumes++;
    else stats.rejoins++;
    show(resumed ? "resumed" : "rejoined as a new player", "ok");
  });
  room.onLeave(({ code, reason }) => show(`disconnected (${code}${reason ? ` ${reason}` : ""}); reload the page to join again`, "bad"));
}

/**
 * Runs the page: each animation frame first sends the inputs that are due
 * (one per server tick, so a key press is predicted within a frame or
 * two), then draws. Returns nothing; it runs until the page closes.
 */
export function runLoop(room: Room, stats: DemoStats, sendInput: () => void, draw: (now: number) => void): void {
  const period = 1000 / room.tickRate;
  let nextInput = performance.now();
  const frame = (now: number) => {
    if (now - nextInput > 4 * period) nextInput = now; // after a stall or a hidden tab: no burst
    while (now >= nextInput) {
      sendInput();
      nextInput += period;
    }
    draw(now);
    stats.frames++;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** Maps the square world onto a square canvas (world y down, as the screen). */
export class View {
  readonly ctx: CanvasRenderingContext2D;
  scale = 1;

  constructor(readonly canvas: HTMLCanvasElement, readonly worldSize: number) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2d canvas");
    this.ctx = ctx;
    this.resize();
    addEventListener("resize", () => this.resize());
  }

  private resize(): void {
    // The side panel takes about 300 px of the width.
    const side = Math.max(200, Math.min(innerWidth - 300, innerHeight - 32, 900));
    const ratio = devicePixelRatio || 1;
    this.canvas.style.width = this.canvas.style.height = `${side}px`;
    this.canvas.width = this.canvas.height = Math.round(side * ratio);
    this.scale = this.canvas.width / this.worldSize;
  }

  /** Canvas pixels of a world point. */
  x(wx: number): number {
    return wx * this.scale;
  }
  y(wy: number): number {
    return wy * this.scale;
  }

  /** A world point under a mouse event. */
  toWorld(e: MouseEvent): Point {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * this.worldSize, y: ((e.clientY - r.top) / r.height) * this.worldSize };
  }

  /** Background, a grid every 100 units, and the view radius around `center`. */
  clear(center: Point | null, viewRadius: number): void {
    const { ctx, canvas } = this;
    ctx.fillStyle = "#10141b";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#1d2430";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let v = 100; v < this.worldSize; v += 100) {
      ctx.moveTo(this.x(v), 0);
      ctx.lineTo(this.x(v), canvas.height);
      ctx.moveTo(0, this.y(v));
      ctx.lineTo(canvas.width, this.y(v));
    }
    ctx.stroke();
    if (center && viewRadius > 0) {
      ctx.fillStyle = "#151b25";
      ctx.beginPath();
      ctx.arc(this.x(center.x), this.y(center.y), viewRadius * this.scale, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  /** A disc of `radius` world units (at least 3 px), with a heading line when `heading` is given. */
  disc(p: Point, radius: number, fill: string, outline: string | null, heading?: number): void {
    const { ctx } = this;
    const r = Math.max(3, radius * this.scale);
    const cx = this.x(p.x);
    const cy = this.y(p.y);
    ctx.fillStyle = fill;
    ctx.beginPath();
    ctx.arc(cx, cy, r, 0, 2 * Math.PI);
    ctx.fill();
    if (outline) {
      ctx.strokeStyle = outline;
      ctx.lineWidth = Math.max(2, r / 4);
      ctx.stroke();
    }
    if (heading !== undefined) {
      ctx.strokeStyle = outline ?? fill;
      ctx.lineWidth = Math.max(1.5, r / 5);
      ctx.beginPath();
      ctx.moveTo(cx, cy);
      ctx.lineTo(cx + Math.cos(heading) * r * 1.8, cy + Math.sin(heading) * r * 1.8);
      ctx.stroke();
    }
  }

  label(p: Point, dy: number, text: string, color: string): void {
    const { ctx } = this;
    ctx.fillStyle = color;
    ctx.font = `${Math.round(11 * (devicePixelRatio || 1))}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.fillText(text, this.x(p.x), this.y(p.y) + dy * this.scale);
  }
}

/** Frames per second, over the last second. */
export class FrameRate {
  private times: number[] = [];
  tick(now: number): void {
    this.times.push(now);
    while (this.times.length > 0 && this.times[0]! < now - 1000) this.times.shift();
  }
  get fps(): number {
    return this.times.length;
  }
}

/** Sets the text of `#id` elements at most a few times a second (the DOM is slower than the canvas). */
export class Hud {
  private last = 0;
  private readonly els = new Map<string, HTMLElement>();

  update(now: number, values: () => Record<string, string>): void {
    if (now - this.last < 250) return;
    this.last = now;
    for (const [id, text] of Object.entries(values())) {
      let el = this.els.get(id);
      if (!el) {
        el = document.getElementById(id) ?? undefined;
        if (!el) continue;
        this.els.set(id, el);
      }
      if (el.textContent !== text) el.textContent = text;
    }
  }
}

/** "12 ms", or "-" before the first pong. */
export function ms(v: number): string {
  return Number.isNaN(v) ? "-" : `${Math.round(v)} ms`;
}

/** Positions of a room's entities as drawn: the own one predicted, the others interpolated. */
export function drawnEntities(room: Room, now = performance.now()): DrawnEntity[] {
  const out: DrawnEntity[] = [];
  for (const e of room.state.entities.values()) {
    const own = e.id === room.entityId;
    const f = own ? room.predicted : room.interpolated(e, now);
    if (!f) continue;
    out.push({ id: e.id, kind: e.kind, own, x: Number(f["pos.x"]), y: Number(f["pos.y"]) });
  }
  return out;
}

/** Installs `window.snapwireDemo`. */
export function installDebugHook(getRoom: () => Room | null, stats: DemoStats): void {
  const hook: DebugHook = {
    get room() {
      return getRoom();
    },
    stats,
    ownPosition() {
      const f = getRoom()?.predicted;
      return f ? { x: Number(f["pos.x"]), y: Number(f["pos.y"]) } : null;
    },
    entityPositions() {
      const room = getRoom();
      return room ? drawnEntities(room) : [];
    },
  };
  Object.defineProperty(window, "snapwireDemo", { value: hook, writable: false, configurable: false });
}

/**
 * Joins the game that served this page, with the debug hook, the status
 * line and the player's name wired up; shows a failure on the page.
 * Returns the room and the page's counters.
 */
export async function joinPage(): Promise<{ room: Room; stats: DemoStats }> {
  const stats: DemoStats = { snapshots: 0, frames: 0, errors: 0, resumes: 0, rejoins: 0 };
  let room: Room | null = null;
  installDebugHook(() => room, stats);
  const status = document.getElementById("status")!;
  const name = playerName();
  try {
    room = await new Client(serverUrl()).join({ name });
  } catch (e) {
    fail(status, e);
    throw e;
  }
  track(room, stats, status);
  document.getElementById("name")!.textContent = name;
  return { room, stats };
}

/** Shows a fatal error on the page (and in the console). */
export function fail(status: HTMLElement, e: unknown): void {
  status.textContent = `cannot join: ${e instanceof Error ? e.message : String(e)}`;
  status.className = "bad";
  console.error("snapwire:", e);
}
