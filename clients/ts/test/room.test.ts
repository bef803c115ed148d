// The Room over a fake socket and a fake clock: joining, callbacks,
// inputs, pings, close handling, resume and backoff.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Client, DecodeError, JoinError, arenaDistance, arenaStep, closeAction, decodeServer, encodeClient, type Room } from "../src/index.js";
import { FakeScheduler, FakeSocket } from "./fakes.js";
import { fromHex, toHex, vectors } from "./helpers.js";

const arena = vectors("arena.json");
const game = vectors("game.json");
const step = (g: any, name: string) => fromHex(g.session.find((s: any) => s.name === name).hex);

let clock: FakeScheduler;
beforeEach(() => {
  FakeSocket.created = [];
  clock = new FakeScheduler();
});

function client(reconnect?: object | false): Client {
  return new Client("ws://game.test/play", { WebSocket: FakeSocket, scheduler: clock, reconnect, pingIntervalMs: 1000 });
}

/** Joins the arena: Welcome, Schema, snapshot-0. */
async function joinArena(c = client()): Promise<{ room: Room; socket: FakeSocket }> {
  const joining = c.join({ name: "ann" });
  const socket = FakeSocket.created.at(-1)!;
  socket.open();
  for (const name of ["welcome", "schema", "snapshot-0"]) socket.receive(step(arena, name));
  return { room: await joining, socket };
}

const hello = (bytes: Uint8Array) => toHex(bytes);

test("join: subprotocol, binary type, Hello, then the first snapshot's state", async () => {
  const { room, socket } = await joinArena();
  assert.equal(socket.protocols, "snapwire.v2");
  assert.equal(socket.binaryType, "arraybuffer");
  assert.equal(hello(socket.sent[0]!), arena.client.find((c: any) => c.name === "hello").hex);
  assert.equal(room.player, 1);
  assert.equal(room.entityId, 9);
  assert.equal(room.world.size, 1000);
  assert.deepEqual([...room.state.entities.keys()].sort(), [7, 9]);
  assert.equal(room.me?.fields["pos.x"], 500);
  assert.deepEqual(room.state.players.get(1), { id: 1, entity: 9, name: "ann", connected: true });
  assert.equal(room.state.tick, 999);
});

test("callbacks fire after the state is applied, and unsubscribe", async () => {
  const { room, socket } = await joinArena();
  const seen: string[] = [];
  room.onRemove((e) => seen.push(`remove ${e.id} ${room.state.entities.has(e.id)}`));
  room.onAdd((e) => seen.push(`add ${e.id} ${e.kind} ${e.fields["pos.x"]}`));
  const off = room.onChange((e) => seen.push(`change ${e.id} ${e.fields["pos.x"]}`));
  room.onStateChange((s) => seen.push(`state ${s.tick}`));
  socket.receive(step(arena, "snapshot-1"));
  assert.deepEqual(seen, ["remove 7 false", "add 12 Walker 100", "change 9 506.6875", "state 1000"]);
  off();
  seen.length = 0;
  socket.receive(step(arena, "snapshot-2"));
  assert.deepEqual(seen, ["state 1001"]);
});

test("game messages and events reach their callbacks; send() encodes by type name", async () => {
  const joining = client().join({ name: "ada" });
  const socket = FakeSocket.created[0]!;
  socket.open();
  socket.receive(step(game, "welcome"));
  socket.receive(step(game, "schema"));
  const events: string[] = [];
  const notices: unknown[] = [];
  socket.receive(step(game, "snapshot-0"));
  const room = await joining;
  room.onEvent((e) => events.push(e.type));
  room.onMessage("Notice", (f) => notices.push(f));
  room.onMessage("*", (_f, type) => events.push(`message ${type}`));
  socket.receive(step(game, "snapshot-1"));
  socket.receive(step(game, "message"));
  socket.receive(step(game, "snapshot-2"));
  assert.deepEqual(notices, [{ text: "now", level: 9 }, { text: "", level: 0 }]);
  assert.deepEqual(events, ["message Hit", "message Notice", "PlayerLeft", "PlayerDropped", "PlayerResumed", "ServerDraining", "message Notice", "message Hit"]);
  assert.equal(room.state.players.has(8), false);
  assert.equal(room.state.fields["motd"], "round two");
  assert.ok(room.send("Chat", { text: "hi ✓" }));
  assert.equal(toHex(socket.sent.at(-1)!), game.client.find((c: any) => c.name === "message-chat").hex);
  assert.throws(() => room.send("Nope", {}), /not a client message type/);
});

test("inputs carry sequence numbers and are predicted, then reconciled", async () => {
  const { room, socket } = await joinArena();
  room.predict((s, i, dt) => arenaStep(s, i, dt, room.world.size), arenaDistance);
  assert.equal(room.sendInput({ move_x: 1, move_y: 0, yaw: 0, buttons: 0 }), 1);
  const sent = decodeInputSeq(socket.sent.at(-1)!);
  assert.equal(sent, 1);
  // 200 units/s at 30 Hz: 6.67 units a tick, from 500.
  assert.ok(Math.abs((room.predicted!["pos.x"] as number) - 506.6667) < 1e-3);
  assert.equal(room.sendInput({ move_x: 1, move_y: 0, yaw: 0, buttons: 0 }), 2);
  assert.ok(Math.abs((room.predicted!["pos.x"] as number) - 513.3333) < 1e-3);
  const ack: number = arena.session.find((s: any) => s.name === "snapshot-1").message.ack_input_seq;
  for (let seq = 3; seq <= ack; seq++) room.sendInput({ move_x: 0.1, move_y: 0, yaw: 0, buttons: 0 });
  room.sendInput({ move_x: 1, move_y: 0, yaw: 0, buttons: 0 });
  room.sendInput({ move_x: 1, move_y: 0, yaw: 0, buttons: 0 });
  // snapshot-1 acknowledges `ack`: the last two inputs are replayed on the server's state.
  socket.receive(step(arena, "snapshot-1"));
  assert.ok(Math.abs((room.predicted!["pos.x"] as number) - (506.6875 + 2 * 6.6667)) < 1e-3);
});

function decodeInputSeq(bytes: Uint8Array): number {
  assert.equal(bytes[0], 1);
  return bytes[1]!;
}

test("pings measure the round trip; the tick clock runs between snapshots", async () => {
  const { room, socket } = await joinArena();
  clock.advance(1000);
  const ping = socket.sent.at(-1)!;
  assert.equal(ping[0], 2);
  clock.advance(40);
  // Answer the ping with its own client_time.
  const clientTime = ping.slice(1);
  socket.receive(new Uint8Array([2, ...clientTime, 0xfb, 0xe8, 0x03]));
  assert.ok(Math.abs(room.rtt - 40) < 1e-6);
  const t = room.serverTick();
  clock.advance(100);
  assert.ok(Math.abs(room.serverTick() - t - 3) < 1e-9, "30 ticks a second");
  assert.ok(room.renderTick() < room.serverTick());
});

test("a dropped connection resumes with the latest token, with backoff", async () => {
  const { room, socket } = await joinArena();
  const info: unknown[] = [];
  room.onReconnecting((i) => info.push(i));
  let reconnected: unknown;
  room.onReconnected((i) => (reconnected = i));
  socket.drop(1006);
  assert.deepEqual(info, [{ attempt: 1, delayMs: 187.5, resume: true, code: 1006, reason: "" }]);
  assert.equal(FakeSocket.created.length, 1);
  clock.advance(187.5);
  const next = FakeSocket.created[1]!;
  next.open();
  const token = decodeServer(step(arena, "welcome"));
  assert.equal(token.type, "Welcome");
  const expected = encodeClient({ type: "Hello", name: "ann", resumeToken: token.type === "Welcome" ? token.sessionToken : null });
  assert.equal(toHex(next.sent[0]!), toHex(expected));
  // The same view comes back in a complete snapshot: nothing is re-added.
  const added: number[] = [];
  room.onAdd((e) => added.push(e.id));
  for (const name of ["welcome", "schema", "snapshot-0"]) next.receive(step(arena, name));
  assert.deepEqual(added, []);
  assert.deepEqual(reconnected, { resumed: true });
  assert.ok(room.connected);
});

test("backoff grows exponentially with jitter; after the grace it joins anew; then it gives up", async () => {
  const { room, socket } = await joinArena(client({ initialDelayMs: 100, maxDelayMs: 800, maxAttempts: 5, resumeGraceMs: 500 }));
  const info: { delayMs: number; resume: boolean }[] = [];
  room.onReconnecting((i) => info.push(i));
  let left: unknown;
  room.onLeave((i) => (left = i));
  clock.rand = 0;
  socket.drop(1006);
  for (let i = 0; i < 5; i++) {
    clock.advance(info.at(-1)!.delayMs);
    FakeSocket.created.at(-1)!.drop(1006); // the server is down: refused at once
  }
  assert.deepEqual(
    info.map((i) => i.delayMs),
    [50, 100, 200, 400, 400],
  );
  // 50 + 100 + 200 + 400 ms: the fifth attempt is past the 500 ms grace.
  assert.deepEqual(
    info.map((i) => i.resume),
    [true, true, true, true, false],
  );
  assert.deepEqual(left, { code: 1006, reason: "", consented: false });
  assert.equal(FakeSocket.created.length, 6);
});

test("final closes end the room; the Kicked reason stands in for a hidden close reason", async () => {
  const { room, socket } = await joinArena();
  let left: unknown;
  room.onLeave((i) => (left = i));
  socket.receive(new Uint8Array([3, 25, ...new TextEncoder().encode("session resumed elsewhere")]));
  socket.drop(4001, "");
  assert.deepEqual(left, { code: 4001, reason: "session resumed elsewhere", consented: false });
  clock.advance(60_000);
  assert.equal(FakeSocket.created.length, 1);
});

test("an invalid resume token joins anew, without it", async () => {
  const { room, socket } = await joinArena();
  socket.drop(1006);
  clock.advance(1000);
  FakeSocket.created[1]!.open();
  FakeSocket.created[1]!.drop(1008, "invalid resume token");
  clock.advance(1000);
  const third = FakeSocket.created[2]!;
  third.open();
  assert.equal(hello(third.sent[0]!), arena.client.find((c: any) => c.name === "hello").hex);
  assert.ok(!room.connected);
});

test("leave() sends Leave and resolves on the server's close", async () => {
  const { room, socket } = await joinArena();
  let left: unknown;
  room.onLeave((i) => (left = i));
  const done = room.leave();
  assert.deepEqual([...socket.sent.at(-1)!], [3]);
  socket.drop(1000, "bye");
  await done;
  assert.deepEqual(left, { code: 1000, reason: "bye", consented: true });
});

test("a damaged snapshot is reported, keeps the view, and the client resumes", async () => {
  const { room, socket } = await joinArena();
  const errors: unknown[] = [];
  room.onError((e) => errors.push(e));
  const before = JSON.stringify([...room.state.entities.values()]);
  const damaged = arena.damaged.find((d: any) => d.name === "spawn-present");
  socket.receive(fromHex(damaged.hex));
  assert.ok(errors[0] instanceof DecodeError && errors[0].code === "AlreadyPresent");
  assert.equal(JSON.stringify([...room.state.entities.values()]), before);
  assert.equal(socket.closedWith?.[0], 4000);
  assert.equal(clock.pending().length, 1, "a resume is scheduled");
});

test("a join the server refuses rejects with the close", async () => {
  const joining = client().join({ name: "ann", token: "bad" });
  const socket = FakeSocket.created[0]!;
  socket.open();
  socket.drop(1008, "invalid token");
  await assert.rejects(joining, (e: unknown) => e instanceof JoinError && e.code === 1008 && e.reason === "invalid token");
});

test("the close-code table", () => {
  const cases: [number, string, string][] = [
    [1006, "", "resume"],
    [1008, "idle timeout", "resume"],
    [1008, "not reading", "resume"],
    [1000, "bye", "final"],
    [1001, "server shutting down", "rejoin"],
    [1008, "invalid token", "final"],
    [1008, "invalid resume token", "rejoin"],
    [1013, "room full", "final"],
    [1013, "room busy", "rejoin"],
    [4001, "session resumed elsewhere", "final"],
    [4002, "room moved: matchmake again", "final"],
    [1002, "duplicate Hello", "final"],
    [1007, "malformed message", "final"],
    [1008, "rate limit exceeded", "final"],
    [1008, "too far behind", "final"],
    [1011, "internal error", "rejoin"],
  ];
  for (const [code, reason, action] of cases) assert.equal(closeAction(code, reason), action, `${code} ${reason}`);
});
