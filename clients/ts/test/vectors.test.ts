// The codec against the vectors the Rust encoders and decoder wrote
// (clients/ts/vectors, made by shared/tests/vectors.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DecodeError,
  Mirror,
  Predictor,
  Reader,
  Writer,
  arenaDistance,
  arenaStep,
  decodeMessage,
  decodeServer,
  encodeClient,
  encodeInputFields,
  encodeMessage,
  writeSchema,
  type ClientMsg,
  type CompiledSchema,
  type Fields,
  type WireType,
} from "../src/index.js";
import { fieldsJson, fromHex, plainFields, stateJson, toHex, vectors, viewJson } from "./helpers.js";

const varints = vectors("varint.json");
const games = ["arena.json", "game.json"].map((f) => vectors(f));

function readAs(r: Reader, type: string): unknown {
  switch (type) {
    case "u16":
      return r.u16();
    case "u32":
      return r.u32();
    case "u64":
      return r.u64().toString();
    case "i16":
      return r.i16();
    default:
      return r.i32();
  }
}

test("varints and zigzag encode byte for byte", () => {
  assert.ok(varints.values.length > 30);
  for (const v of varints.values) {
    const w = new Writer(4);
    if (v.type === "u16") w.u16(v.value);
    else if (v.type === "u32") w.u32(v.value);
    else if (v.type === "u64") w.u64(BigInt(v.value));
    else if (v.type === "i16") w.i16(v.value);
    else w.i32(v.value);
    assert.equal(toHex(w.finish()), v.hex, `${v.type} ${v.value}`);
    const r = new Reader(fromHex(v.hex), 1 << 24);
    assert.deepEqual(readAs(r, v.type), v.value, `${v.type} ${v.hex}`);
    r.finish();
  }
});

test("varint decoding accepts and refuses what bincode does", () => {
  for (const v of varints.decode) {
    const r = new Reader(fromHex(v.hex), 1 << 24);
    if (v.error) {
      assert.throws(() => readAs(r, v.type), (e: unknown) => e instanceof DecodeError && e.code === v.error.code, `${v.type} ${v.hex}`);
    } else {
      assert.deepEqual(readAs(r, v.type), v.value, `${v.type} ${v.hex}`);
      assert.equal(r.pos, v.used);
    }
  }
});

/** The Rust descriptor's JSON (serde's externally tagged enums) in this package's shape. */
function wireFromJson(ty: any): WireType {
  if (typeof ty === "string") return { type: ty } as WireType;
  const [name, body] = Object.entries(ty)[0] as [string, any];
  if (name === "Fixed") return { type: "Fixed", scale: body.scale, min: body.min, max: body.max };
  if (name === "Enum") return { type: "Enum", variants: body.variants };
  return { type: "Str", maxLen: body.max_len };
}

function schemaOf(game: any): CompiledSchema {
  const msg = decodeServer(fromHex(game.schema.hex));
  assert.equal(msg.type, "Schema");
  return msg.type === "Schema" ? msg.schema : (undefined as never);
}

for (const game of games) {
  test(`${game.game}: the descriptor decodes, hashes and re-encodes byte for byte`, () => {
    const schema = schemaOf(game);
    const d = game.schema.descriptor;
    const fields = (list: any[]) => list.map((f) => ({ name: f.name, ty: wireFromJson(f.ty) }));
    const messages = (list: any[]) => list.map((m) => ({ name: m.name, fields: fields(m.fields) }));
    assert.deepEqual(schema.schema, {
      game: d.game,
      kinds: d.kinds.map((k: any) => ({ name: k.name, fields: fields(k.fields), position: k.position })),
      state: fields(d.state),
      input: fields(d.input),
      clientMessages: messages(d.client_messages),
      serverMessages: messages(d.server_messages),
    });
    assert.equal(schema.hash.toString(16).padStart(16, "0"), game.schema.hash);
    const w = new Writer();
    w.u8(4);
    writeSchema(w, schema.schema);
    assert.equal(toHex(w.finish()), game.schema.hex);
  });

  test(`${game.game}: every server message of the session decodes to the Rust values`, () => {
    const schema = schemaOf(game);
    const mirror = new Mirror(schema);
    let snapshots = 0;
    for (const step of game.session) {
      const msg = decodeServer(fromHex(step.hex));
      const want = step.message;
      assert.equal(msg.type, want.type, step.name);
      switch (msg.type) {
        case "Welcome":
          assert.deepEqual(
            {
              player: msg.player,
              entity: msg.entity,
              room: msg.room,
              tick_rate: msg.tickRate,
              tick: msg.tick,
              session_token: toHex(msg.sessionToken),
              world: { size: msg.world.size, view_radius: msg.world.viewRadius },
              schema_hash: msg.schemaHash.toString(16).padStart(16, "0"),
            },
            Object.fromEntries(Object.entries(want).filter(([k]) => k !== "type")),
          );
          assert.equal(msg.schemaHash, schema.hash);
          break;
        case "Snapshot": {
          snapshots++;
          assert.deepEqual([msg.tick, msg.baseTick, msg.ackGap], [want.tick, want.base_tick, want.ack_gap], step.name);
          const applied = mirror.apply(msg);
          assert.equal(applied.ackInputSeq, want.ack_input_seq, step.name);
          assert.equal(mirror.ack, want.ack_input_seq, step.name);
          assert.deepEqual(viewJson(mirror), want.view, step.name);
          if (want.state) assert.deepEqual(stateJson(mirror), want.state, step.name);
          assert.deepEqual(applied.events.map(eventJson), want.events, step.name);
          assert.deepEqual(
            applied.messages.map((m) => ({ type: m.type, fields: messageFields(schema, "server", m.type, m.fields) })),
            want.messages,
            step.name,
          );
          const ids = (l: readonly { id: number }[]) => l.map((e) => e.id).sort((a, b) => a - b);
          if (msg.baseTick !== 0) {
            assert.deepEqual(ids(applied.removed), want.delta.removed, step.name);
            assert.deepEqual(ids(applied.changed), want.delta.updated, step.name);
            assert.deepEqual(ids(applied.added), want.delta.spawned, step.name);
          } else {
            assert.deepEqual(ids([...mirror.entities.values()]), want.delta.spawned, step.name);
          }
          break;
        }
        case "Pong":
          assert.deepEqual({ client_time: msg.clientTime.toString(), server_tick: msg.serverTick }, { client_time: want.client_time, server_tick: want.server_tick });
          break;
        case "Kicked":
          assert.equal(msg.reason, want.reason);
          break;
        case "Message": {
          const m = decodeMessage(msg.message, schema.serverMessages);
          assert.deepEqual({ type: m.type, fields: messageFields(schema, "server", m.type, m.fields) }, want.message);
          break;
        }
        case "Schema":
          assert.equal(msg.schema.hash, schema.hash);
      }
    }
    assert.ok(snapshots >= 3);
  });

  test(`${game.game}: every client message encodes byte for byte`, () => {
    const schema = schemaOf(game);
    assert.ok(game.client.length >= 4);
    for (const v of game.client) {
      const m = v.message;
      let msg: ClientMsg;
      switch (m.type) {
        case "Hello":
          msg = { type: "Hello", protocolVersion: m.protocol_version, name: m.name, resumeToken: m.resume_token ? fromHex(m.resume_token) : null, authToken: m.auth_token };
          break;
        case "Input":
          msg = { type: "Input", seq: m.seq, fields: encodeInputFields(schema.input, plainFields(m.fields)) };
          break;
        case "Ping":
          msg = { type: "Ping", clientTime: BigInt(m.client_time) };
          break;
        case "Message": {
          const layout = schema.clientMessagesByName.get(m.message.type)!;
          msg = { type: "Message", message: encodeMessage(layout, plainFields(m.message.fields)) };
          break;
        }
        default:
          msg = { type: "Leave" };
      }
      assert.equal(toHex(encodeClient(msg)), v.hex, v.name);
    }
  });

  test(`${game.game}: every damaged message gives the Rust error and leaves the view unchanged`, () => {
    const schema = schemaOf(game);
    const snapshots = game.session.filter((s: any) => s.message.type === "Snapshot");
    assert.ok(game.damaged.length >= 5);
    for (const v of game.damaged) {
      const mirror = new Mirror(schema);
      for (const s of snapshots.slice(0, v.base)) {
        const msg = decodeServer(fromHex(s.hex));
        if (msg.type === "Snapshot") mirror.apply(msg);
      }
      const before = JSON.stringify([viewJson(mirror), stateJson(mirror)]);
      assert.throws(
        () => {
          const msg = decodeServer(fromHex(v.hex));
          if (msg.type !== "Snapshot") throw new Error(`${v.name} decoded as ${msg.type}`);
          mirror.apply(msg);
        },
        (e: unknown) => {
          assert.ok(e instanceof DecodeError, `${v.name}: ${String(e)}`);
          assert.deepEqual({ code: e.code, field: e.field, entity: e.entity }, { field: undefined, entity: undefined, ...v.error }, v.name);
          return true;
        },
        v.name,
      );
      assert.equal(JSON.stringify([viewJson(mirror), stateJson(mirror)]), before, `${v.name}: the view changed`);
    }
  });
}

test("arena: prediction with arenaStep matches the Rust Predictor", () => {
  const p = games[0].prediction;
  const predictor = new Predictor<Fields, Fields>({
    step: (s, i, dt) => arenaStep(s, i, dt, p.world_size),
    dt: 1 / p.tick_rate,
    initial: p.start,
    distance: arenaDistance,
  });
  const close = (got: Fields, want: Record<string, number>, what: string) => {
    for (const k of ["pos.x", "pos.y", "vel.x", "vel.y"]) assert.equal(got[k], want[k], `${what} ${k}`);
    assert.ok(Math.abs((got["yaw"] as number) - want["yaw"]!) < 1e-6, `${what} yaw`);
  };
  for (const step of p.steps) {
    if (step.predict) {
      predictor.predict(step.predict.seq, plainFields(step.predict.input));
      close(predictor.state, step.body, `predict ${step.predict.seq}`);
    } else {
      const error = predictor.reconcile(step.reconcile.server, step.reconcile.ack);
      assert.equal(predictor.pendingCount, step.pending);
      close(predictor.state, step.body, `reconcile ${step.reconcile.ack}`);
      if (step.error === null) assert.equal(error, undefined);
      else assert.ok(Math.abs(error! - step.error) < 1e-4, `error ${error} ${step.error}`);
    }
  }
});

function eventJson(e: any): unknown {
  const { type, closesInMs, ...rest } = e;
  return closesInMs === undefined ? { type, ...rest } : { type, closes_in_ms: closesInMs };
}

function messageFields(schema: CompiledSchema, side: "server" | "client", type: string, fields: Fields): unknown {
  const layout = (side === "server" ? schema.serverMessagesByName : schema.clientMessagesByName).get(type)!;
  return fieldsJson(layout, fields);
}
