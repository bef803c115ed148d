// The shooter demo page, served by the `shooter` example at `/`: soldiers
// of two teams walk (WASD or the arrow keys, predicted), aim with the
// mouse and fire bolts (mouse button or Space); the page shows health,
// the team scores, the round timer and a chat box. Everything is decoded
// from the game's descriptor: this page knows the game's field names only.

import type { Fields } from "../src/index.js";
import { FrameRate, Hud, Keys, View, joinPage, ms, runLoop, type Point } from "./common.js";

// The game's constants (server/examples/shooter/game.rs).
const SPEED = 150;
const HIT_RADIUS = 16;
const BOLT_RADIUS = 4;
const CHAT_MAX_BYTES = 120;

const TEAM_COLORS: Record<string, string> = { Red: "#ef476f", Blue: "#3a86ff" };

/**
 * The shooter's movement rule, ported from `Shooter::step` for prediction:
 * `pos = clamp(pos + move × SPEED × dt, 0, size)` in `f32`, aim from the
 * input. (Firing is the server's business: bolts are never predicted.)
 */
function shooterStep(state: Readonly<Fields>, input: Readonly<Fields>, dt: number, worldSize: number): Fields {
  const f = Math.fround;
  const size = f(worldSize);
  const axis = (pos: unknown, move: unknown) => Math.min(Math.max(f(Number(pos) + f(f(f(Number(move)) * SPEED) * f(dt))), 0), size);
  return { ...state, "pos.x": axis(state["pos.x"], input["move_x"]), "pos.y": axis(state["pos.y"], input["move_y"]), aim: Number(input["aim"]) };
}

/** `text` cut to at most `max` UTF-8 bytes, on a character boundary. */
function clip(text: string, max: number): string {
  const enc = new TextEncoder();
  while (enc.encode(text).length > max) text = text.slice(0, -1);
  return text;
}

async function main(): Promise<void> {
  const { room: r, stats } = await joinPage();
  r.predict((state, input, dt) => shooterStep(state, input, dt, r.world.size));

  const chatForm = document.getElementById("chat") as HTMLFormElement;
  const chatText = document.getElementById("chat-text") as HTMLInputElement;
  const log = document.getElementById("log")!;
  const keys = new Keys((e) => e.target === chatText);
  const canvas = document.querySelector("canvas")!;
  const view = new View(canvas, r.world.size);
  const fps = new FrameRate();
  const hud = new Hud();
  const scratch = {};

  // Aim at the mouse once it has been over the map; fire while a button or Space is held.
  let mouse: Point | null = null;
  let mouseDown = false;
  let aim = 0;
  canvas.addEventListener("mousemove", (e) => (mouse = view.toWorld(e)));
  canvas.addEventListener("mousedown", (e) => {
    mouse = view.toWorld(e);
    mouseDown = e.button === 0;
  });
  addEventListener("mouseup", () => (mouseDown = false));
  addEventListener("blur", () => (mouseDown = false));

  const say = (line: string, cls = "") => {
    const li = document.createElement("li");
    li.textContent = line;
    li.className = cls;
    log.append(li);
    while (log.childElementCount > 50) log.firstElementChild!.remove();
    log.scrollTop = log.scrollHeight;
  };
  const playerNameOf = (id: number) => r.state.players.get(id)?.name || `player ${id}`;

  chatForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = clip(chatText.value.trim(), CHAT_MAX_BYTES);
    if (text && r.send("Chat", { text })) chatText.value = "";
  });
  addEventListener("keydown", (e) => {
    if (e.key === "Enter" && document.activeElement !== chatText) {
      chatText.focus();
      e.preventDefault();
    } else if (e.key === "Escape") chatText.blur();
  });

  // Game messages: chat, hits (a flash on the victim), the end of a round.
  const hitUntil = new Map<number, number>();
  r.onMessage("Chat", (m) => say(`${playerNameOf(Number(m["from"]))}: ${String(m["text"])}`));
  r.onMessage("Hit", (m) => hitUntil.set(Number(m["victim"]), performance.now() + 200));
  r.onMessage("RoundOver", (m) => say(`Round over: red ${String(m["red"])}, blue ${String(m["blue"])}`, "system"));
  r.onEvent((ev) => {
    if (ev.type === "PlayerJoined" && ev.player !== r.player) say(`${ev.name || `player ${ev.player}`} joined`, "system");
    if (ev.type === "PlayerLeft") say(`${playerNameOf(ev.player)} left`, "system");
  });

  const sendInput = () => {
    const move = keys.move();
    const me = r.predicted;
    if (mouse && me) aim = Math.atan2(mouse.y - Number(me["pos.y"]), mouse.x - Number(me["pos.x"]));
    else if (move.x !== 0 || move.y !== 0) aim = Math.atan2(move.y, move.x);
    r.sendInput({ move_x: move.x, move_y: move.y, aim, fire: mouseDown || keys.held("Space") });
  };
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) r.sendInput({ move_x: 0, move_y: 0, aim, fire: false });
  });

  const draw = (now: number) => {
    const me = r.predicted;
    const own = me ? { x: Number(me["pos.x"]), y: Number(me["pos.y"]) } : null;
    view.clear(own, r.world.viewRadius);
    for (const e of r.state.entities.values()) {
      const f = (e.id === r.entityId ? me : r.interpolated(e, now, scratch)) ?? e.fields;
      const p = { x: Number(f["pos.x"]), y: Number(f["pos.y"]) };
      if (e.kind === "Bolt") {
        view.disc(p, BOLT_RADIUS, "#ffe066", null);
        continue;
      }
      const isMe = e.id === r.entityId;
      const hit = (hitUntil.get(e.id) ?? 0) > now;
      view.disc(p, HIT_RADIUS, TEAM_COLORS[String(f["team"])] ?? "#cccccc", hit ? "#ffe066" : isMe ? "#ffffff" : null, Number(f["aim"]));
      // Health bar above, name below.
      const health = Number(e.fields["health"]) / 100;
      const ctx = view.ctx;
      ctx.fillStyle = "#2b2f38";
      ctx.fillRect(view.x(p.x - 16), view.y(p.y - 26), view.x(32), Math.max(3, view.y(4)));
      ctx.fillStyle = health > 0.5 ? "#06d6a0" : health > 0.25 ? "#ffd166" : "#ef476f";
      ctx.fillRect(view.x(p.x - 16), view.y(p.y - 26), view.x(32 * health), Math.max(3, view.y(4)));
      view.label(p, 30, String(e.fields["name"]), isMe ? "#ffffff" : "#9aa4b2");
    }
    fps.tick(now);
    const s = r.state.fields;
    const left = Number(s["time_left"]);
    hud.update(now, () => ({
      red: String(s["red"]),
      blue: String(s["blue"]),
      timer: s["phase"] === "Playing" ? `${Math.floor(left / 60)}:${String(Math.floor(left % 60)).padStart(2, "0")}` : "waiting",
      round: String(s["round"]),
      health: r.me ? String(r.me.fields["health"]) : "-",
      team: r.me ? String(r.me.fields["team"]) : "-",
      rtt: ms(r.rtt),
      tick: String(r.state.tick),
      players: String(r.state.players.size),
      fps: String(fps.fps),
    }));
  };

  runLoop(r, stats, sendInput, draw);
}

// A failed join is already shown on the page.
main().catch(() => {});
