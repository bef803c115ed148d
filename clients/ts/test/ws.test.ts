// The Client over a real WebSocket (the `ws` package, as in Node apps),
// against a scripted server on the loopback: the upgrade, the session, a
// dropped connection and its resume, and leaving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { Client } from "../src/index.js";
import { fromHex, vectors } from "./helpers.js";

const arena = vectors("arena.json");
const step = (name: string) => fromHex(arena.session.find((s: any) => s.name === name).hex);

test("join, drop, resume and leave over ws", async () => {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    handleProtocols: (protocols) => (protocols.has("snapwire.v2") ? "snapwire.v2" : false),
  });
  await once(wss, "listening");
  const hellos: Uint8Array[] = [];
  wss.on("connection", (ws) => {
    ws.on("message", (data: Buffer) => {
      const bytes = new Uint8Array(data);
      if (bytes[0] === 0) {
        hellos.push(bytes);
        for (const name of ["welcome", "schema", "snapshot-0"]) ws.send(step(name));
      } else if (bytes[0] === 3) ws.close(1000, "bye");
    });
  });
  try {
    const port = (wss.address() as AddressInfo).port;
    const client = new Client(`ws://127.0.0.1:${port}/play`, { WebSocket, reconnect: { initialDelayMs: 10 } });
    const room = await client.join({ name: "ann" });
    assert.deepEqual([...room.state.entities.keys()].sort(), [7, 9]);
    const resumed = new Promise((resolve) => room.onReconnected(resolve));
    for (const s of wss.clients) s.terminate(); // no close frame: 1006 at the client
    assert.deepEqual(await resumed, { resumed: true });
    assert.equal(hellos.length, 2);
    assert.equal(hellos[0]![hellos[0]!.length - 2], 0, "the first Hello has no resume token");
    assert.equal(hellos[1]![6], 1, "the second Hello resumes");
    const left = new Promise((resolve) => room.onLeave(resolve));
    await room.leave();
    assert.deepEqual(await left, { code: 1000, reason: "bye", consented: true });
  } finally {
    for (const s of wss.clients) s.terminate();
    wss.close();
  }
});
