// The SDK against the real release servers (`npm run test:server`): the
// arena (`snapwire-server`) and the shooter example, each started on a free
// loopback port and stopped at the end, with `ws` as the WebSocket.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { WebSocket } from "ws";
import { Client, JoinError, Mirror, arenaDistance, arenaStep, decodeServer, encodeClient, type Entity, type Fields, type LeaveInfo, type Room, type ServerEvent } from "../src/index.js";
import { bins, packageRoot, startServer, trackedWebSocket, until, within, type Server } from "./harness.js";

/** Every wait is bounded by this much. */
const WAIT = 5000;

/** A joined room, the sockets under it, and the last `ack_input_seq` its current socket got. */
interface Joined {
  room: Room;
  ws: ReturnType<typeof trackedWebSocket>;
  acks: { ack: number };
}

/** Joins with a tracked WebSocket (the test can reach the socket under the room) and a quick reconnect. */
async function join(server: Server, name: string): Promise<Joined> {
  const acks = { ack: 0 };
  const ws = trackedWebSocket((socket) => watchAcks(socket, acks));
  const client = new Client(server.url, { WebSocket: ws.WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
  const room = await within(client.join({ name }), WAIT, `${name} joins`);
  return { room, ws, acks };
}

/** The room's next leave. */
function left(room: Room): Promise<LeaveInfo> {
  return within(new Promise<LeaveInfo>((resolve) => room.onLeave(resolve)), WAIT, "the room ends");
}

/** Resolves with the first event matching `match`. */
function event(room: Room, match: (ev: ServerEvent) => boolean, what: string): Promise<ServerEvent> {
  return within(
    new Promise<ServerEvent>((resolve) => {
      const off = room.onEvent((ev) => {
        if (match(ev)) {
          off();
          resolve(ev);
        }
      });
    }),
    WAIT,
    what,
  );
}

/**
 * A second decoder on the same socket: the raw messages the room gets,
 * applied to a mirror of its own, to read each snapshot's `ack_input_seq`.
 */
function watchAcks(socket: WebSocket, state: { ack: number }): void {
  let mirror: Mirror | null = null;
  socket.on("message", (data: ArrayBuffer | Buffer) => {
    const msg = decodeServer(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (msg.type === "Schema") mirror = new Mirror(msg.schema);
    else if (msg.type === "Snapshot" && mirror) state.ack = mirror.apply(msg).ackInputSeq;
  });
}

const pos = (f: Readonly<Fields> | undefined) => ({ x: Number(f?.["pos.x"]), y: Number(f?.["pos.y"]) });

/** Sends `count` inputs at the tick rate; resolves with the last seq. */
async function walk(room: Room, count: number, input: Fields): Promise<number> {
  let seq = 0;
  for (let i = 0; i < count; i++) {
    seq = room.sendInput(input);
    assert.ok(seq > 0, "the room is connected");
    await new Promise((r) => setTimeout(r, 1000 / room.tickRate));
  }
  return seq;
}

describe("arena (snapwire-server)", () => {
  let server: Server;
  let a: Joined;
  let b: Joined;

  before(async () => {
    server = await startServer(bins.server, ["--view-radius", "0"]);
    a = await join(server, "ann");
    b = await join(server, "bob");
  });
  after(async () => {
    for (const c of [a, b]) await c?.room.leave();
    await server?.stop();
  });

  test("two clients see each other's entity and each other in the roster", async () => {
    assert.notEqual(a.room.entityId, b.room.entityId);
    assert.notEqual(a.room.player, b.room.player);
    await until(() => a.room.state.entities.has(b.room.entityId), WAIT, "ann sees bob");
    await until(() => b.room.state.entities.has(a.room.entityId), WAIT, "bob sees ann");
    const seen = b.room.state.entities.get(a.room.entityId)!;
    assert.equal(seen.kind, "Walker");
    assert.equal(seen.owner, a.room.player);
    await until(() => a.room.state.players.get(b.room.player)?.name === "bob", WAIT, "ann has bob in the roster");
    assert.equal(b.room.state.players.get(a.room.player)?.name, "ann");
    assert.equal(a.room.schema.schema.game, "arena");
    assert.equal(a.room.tickRate, 30);
    assert.equal(a.room.world.size, 1000);
  });

  test("inputs move the own entity at once (prediction); the server acknowledges them and agrees", async () => {
    const room = a.room;
    const acks = a.acks;
    room.predict((s, i, dt) => arenaStep(s, i, dt, room.world.size), arenaDistance);
    const start = pos(room.me!.fields);
    const dir = start.x < room.world.size / 2 ? 1 : -1; // towards the middle: no wall
    const step = (200 / room.tickRate) * dir;

    const first = room.sendInput({ move_x: dir, move_y: 0, yaw: 0, buttons: 0 });
    assert.ok(Math.abs(pos(room.predicted).x - (start.x + step)) < 0.01, "predicted before any snapshot");
    await walk(room, 9, { move_x: dir, move_y: 0, yaw: 0, buttons: 0 });
    const last = await walk(room, 5, { move_x: 0, move_y: 0, yaw: 0, buttons: 0 });
    assert.equal(last, first + 14);

    await until(() => acks.ack === last, WAIT, `the server acknowledges input ${last}`);
    // Ten moving ticks, or a tick or two more where the server repeated the
    // last input because the next one was late (docs/PROTOCOL.md 10.2).
    const moved = (pos(room.me!.fields).x - start.x) / step;
    assert.ok(moved > 9.95 && moved < 13.05, `moved ${moved} ticks' worth`);
    assert.ok(Math.abs(pos(room.me!.fields).y - start.y) < 0.07);
    assert.ok(arenaDistance(room.predicted!, room.me!.fields) < 0.1, "the prediction agrees with the server");
    assert.ok(room.predictionError !== undefined && room.predictionError < 1, `prediction error ${room.predictionError}`);
    // And the other client sees the entity where the server has it.
    const x = pos(room.me!.fields).x;
    await until(() => Math.abs(pos(b.room.state.entities.get(room.entityId)?.fields).x - x) < 0.07, WAIT, "bob sees ann's new position");
  });

  test("a dropped socket (no close frame) resumes with the same player and entity", async () => {
    const room = a.room;
    const { player, entityId } = room;
    const dropped = event(b.room, (ev) => ev.type === "PlayerDropped" && ev.player === player, "bob hears ann dropped");
    const resumed = event(b.room, (ev) => ev.type === "PlayerResumed" && ev.player === player, "bob hears ann resumed");
    const reconnected = within(new Promise((resolve) => room.onReconnected(resolve)), WAIT, "ann reconnects");
    a.ws.last().terminate();
    assert.deepEqual(await reconnected, { resumed: true });
    await dropped;
    await resumed;
    assert.equal(a.ws.sockets.length, 2, "one new connection");
    assert.equal(room.player, player);
    assert.equal(room.entityId, entityId);
    assert.ok(b.room.state.entities.has(entityId), "the entity was kept");
    assert.equal(b.room.state.players.get(player)?.connected, true);

    // The same player keeps playing.
    const x0 = pos(room.me!.fields).x;
    const dir = x0 < room.world.size / 2 ? 1 : -1;
    await walk(room, 5, { move_x: dir, move_y: 0, yaw: 0, buttons: 0 });
    await walk(room, 3, { move_x: 0, move_y: 0, yaw: 0, buttons: 0 });
    await until(() => (pos(b.room.state.entities.get(entityId)?.fields).x - x0) * dir > 20, WAIT, "bob sees ann walk after the resume");
  });

  test("a text message is closed with 1003 and garbage with 1007; both end the room", async () => {
    const c = await join(server, "cat");
    const end = left(c.room);
    c.ws.last().send("hello"); // the SDK never sends text
    assert.deepEqual(await end, { code: 1003, reason: "binary frames only", consented: false });

    const d = await join(server, "dan");
    const end2 = left(d.room);
    d.ws.last().send(new Uint8Array([0x07])); // no client message has tag 7
    assert.deepEqual(await end2, { code: 1007, reason: "unknown message or variant tag", consented: false });
    assert.equal(c.ws.sockets.length + d.ws.sockets.length, 2, "no reconnection after a final close");
  });

  test("a second Hello is closed with 1002", async () => {
    const c = await join(server, "cyd");
    const end = left(c.room);
    c.ws.last().send(encodeClient({ type: "Hello", name: "cyd", authToken: null }));
    assert.deepEqual(await end, { code: 1002, reason: "duplicate Hello", consented: false });
  });

  test("an old protocol version and a bad resume token are refused at join", async () => {
    const ws = new WebSocket(server.url, "snapwire.v2");
    await once(ws, "open");
    ws.send(encodeClient({ type: "Hello", name: "old", protocolVersion: 1, authToken: null }));
    const [code, reason] = (await within(once(ws, "close"), WAIT, "the old client is closed")) as [number, Buffer];
    assert.equal(code, 1002);
    assert.equal(reason.toString(), "protocol version 1 not supported; server speaks 2");

    const client = new Client(server.url, { WebSocket });
    await assert.rejects(
      within(client.join({ name: "eve", resumeToken: new Uint8Array(16).fill(7) }), WAIT, "join with a forged resume token"),
      (e: unknown) => e instanceof JoinError && e.code === 1008 && e.reason === "invalid resume token",
    );
  });

  test("leave ends with 1000 bye, and the others see the player go", async () => {
    const c = await join(server, "cid");
    await until(() => a.room.state.entities.has(c.room.entityId), WAIT, "ann sees cid");
    const gone = event(a.room, (ev) => ev.type === "PlayerLeft" && ev.player === c.room.player, "ann hears cid left");
    const end = left(c.room);
    await c.room.leave();
    assert.deepEqual(await end, { code: 1000, reason: "bye", consented: true });
    await gone;
    await until(() => !a.room.state.entities.has(c.room.entityId), WAIT, "cid's entity is removed");
  });
});

describe("demo pages at GET /", () => {
  for (const [game, bin] of [["arena", bins.server], ["shooter", bins.shooter]] as const) {
    test(`the ${game} server serves dist/demo/${game}.html, and 404 with --no-demo`, async () => {
      const built = readFileSync(`${packageRoot}dist/demo/${game}.html`, "utf8");
      const on = await startServer(bin);
      try {
        const res = await fetch(on.httpUrl, { signal: AbortSignal.timeout(WAIT) });
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
        assert.ok((await res.text()) === built, `the page is this build of dist/demo/${game}.html (rebuild the binary after npm run build)`);
      } finally {
        await on.stop();
      }
      const off = await startServer(bin, ["--no-demo"]);
      try {
        const res = await fetch(off.httpUrl, { signal: AbortSignal.timeout(WAIT) });
        assert.equal(res.status, 404);
        await res.arrayBuffer();
      } finally {
        await off.stop();
      }
    });
  }
});

describe("shooter (the example game)", () => {
  let server: Server;
  let a: Joined;
  let b: Joined;

  before(async () => {
    // A small world seen whole: every bolt can reach every soldier.
    server = await startServer(bins.shooter, ["--view-radius", "0", "--world-size", "400"]);
    a = await join(server, "red one");
    b = await join(server, "blue one");
    await until(() => a.room.state.entities.has(b.room.entityId) && b.room.state.entities.has(a.room.entityId), WAIT, "they see each other");
  });
  after(async () => {
    for (const c of [a, b]) await c?.room.leave();
    await server?.stop();
  });

  test("the state is decoded from the descriptor alone", async () => {
    const schema = a.room.schema.schema;
    assert.equal(schema.game, "shooter");
    assert.deepEqual(
      schema.kinds.map((k) => [k.name, k.fields.map((f) => f.name)]),
      [
        ["Soldier", ["pos.x", "pos.y", "aim", "health", "team", "name"]],
        ["Bolt", ["pos.x", "pos.y", "vel.x", "vel.y", "shooter"]],
      ],
    );
    assert.deepEqual(
      schema.input.map((f) => f.name),
      ["move_x", "move_y", "aim", "fire"],
    );
    assert.deepEqual(
      schema.clientMessages.map((m) => m.name),
      ["Chat"],
    );
    assert.deepEqual(
      schema.serverMessages.map((m) => m.name),
      ["Chat", "Hit", "RoundOver"],
    );

    const me = a.room.me!;
    assert.equal(me.kind, "Soldier");
    assert.equal(me.owner, a.room.player);
    assert.deepEqual({ health: me.fields["health"], team: me.fields["team"], name: me.fields["name"] }, { health: 100, team: "Red", name: "red one" });
    const other = a.room.state.entities.get(b.room.entityId)!;
    assert.deepEqual({ health: other.fields["health"], team: other.fields["team"], name: other.fields["name"] }, { health: 100, team: "Blue", name: "blue one" });
    for (const p of [pos(me.fields), pos(other.fields)]) assert.ok(p.x >= 0 && p.x <= 400 && p.y >= 0 && p.y <= 400);

    const state = a.room.state.fields;
    assert.deepEqual(Object.keys(state).sort(), ["blue", "phase", "red", "round", "time_left"]);
    assert.equal(state["phase"], "Playing");
    assert.equal(state["round"], 1);
    assert.equal(state["red"], 0);
    assert.equal(state["blue"], 0);
    const t0 = Number(state["time_left"]);
    assert.ok(t0 > 0 && t0 <= 120, `time_left ${t0}`);
    await until(() => Number(a.room.state.fields["time_left"]) <= t0 - 0.3, WAIT, "the round clock runs");
  });

  test("chat goes round: a Chat message from one client reaches both as the server's Chat", async () => {
    const heard = (room: Room) => within(new Promise<Fields>((resolve) => room.onMessage("Chat", resolve)), WAIT, "the chat line comes back");
    const atA = heard(a.room);
    const atB = heard(b.room);
    assert.equal(a.room.send("Chat", { text: "  hello, blue  " }), true);
    const expected = { from: a.room.player, text: "hello, blue" }; // the game trims it
    assert.deepEqual(await atA, expected);
    assert.deepEqual(await atB, expected);
  });

  test("a bolt fired at the other team's soldier spawns, hits, and is told with Hit", async () => {
    const target = () => pos(a.room.state.entities.get(b.room.entityId)!.fields);
    // Step away first if the two soldiers stand too close for a bolt to start outside the target.
    for (let i = 0; i < 20 && Math.hypot(target().x - pos(a.room.me!.fields).x, target().y - pos(a.room.me!.fields).y) < 40; i++) {
      const away = Math.atan2(pos(a.room.me!.fields).y - target().y, pos(a.room.me!.fields).x - target().x);
      await walk(a.room, 1, { move_x: Math.cos(away), move_y: Math.sin(away), aim: 0, fire: false });
    }
    await walk(a.room, 3, { move_x: 0, move_y: 0, aim: 0, fire: false });
    await until(() => a.room.state.tick > 0 && Math.hypot(target().x - pos(a.room.me!.fields).x, target().y - pos(a.room.me!.fields).y) >= 40, WAIT, "the soldiers stand apart");

    const bolt = within(
      new Promise<Entity>((resolve) => a.room.onAdd((e) => e.kind === "Bolt" && resolve(e))),
      WAIT,
      "a bolt appears",
    );
    const hitAtB = within(new Promise<Fields>((resolve) => b.room.onMessage("Hit", resolve)), WAIT, "blue is told it was hit");
    const me = pos(a.room.me!.fields);
    const aim = Math.atan2(target().y - me.y, target().x - me.x);
    await walk(a.room, 1, { move_x: 0, move_y: 0, aim, fire: true });
    await walk(a.room, 1, { move_x: 0, move_y: 0, aim, fire: false });

    const e = await bolt;
    assert.equal(e.fields["shooter"], a.room.entityId);
    const speed = Math.hypot(Number(e.fields["vel.x"]), Number(e.fields["vel.y"]));
    assert.ok(Math.abs(speed - 600) < 0.5, `bolt speed ${speed}`);
    assert.deepEqual(await hitAtB, { victim: b.room.entityId, health: 75 });
    await until(() => a.room.state.entities.get(b.room.entityId)?.fields["health"] === 75, WAIT, "red sees blue's health drop");
    await until(() => ![...a.room.state.entities.values()].some((x) => x.kind === "Bolt"), WAIT, "the bolt is gone");
  });

  test("the game's own input rule closes with 1007 and its reason", async () => {
    const c = await join(server, "cheat");
    const end = left(c.room);
    c.room.sendInput({ move_x: 1, move_y: 1, aim: 0, fire: false }); // each in range, together too fast
    assert.deepEqual(await end, { code: 1007, reason: "move vector longer than 1", consented: false });
  });
});
