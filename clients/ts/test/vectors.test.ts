// The codec against the vectors the Rust encoders and decoder wrote
// (clients/ts/vectors, made by shared/tests/vectors.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DecodeError,
  EncodeError,
  Mirror,
  Predictor,
  Reader,
  Writer,
  arenaDistance,
  arenaStep,
  decodeClient,
  decodeMessage,
  decodeServer,
  encodeClient,
  encodeInputFields,
  encodeMessage,
  encodeServer,
  readFields,
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

  test(`${game.game}: every server message of the session decodes to the Rust values and re-encodes byte for byte (snapshots: decode only)`, () => {
    const schema = schemaOf(game);
    const mirror = new Mirror(schema);
    let snapshots = 0;
    let encoded = 0;
    for (const step of game.session) {
      const msg = decodeServer(fromHex(step.hex));
      const want = step.message;
      assert.equal(msg.type, want.type, step.name);
      if (msg.type === "Snapshot") {
        // Decode only: a snapshot's body is written by the server's delta
        // writer against each client's view, which a client never does, so
        // the SDK has no snapshot encoder; the checks below are the decoder's.
        assert.throws(() => encodeServer(msg as never), EncodeError, step.name);
      } else {
        assert.equal(toHex(encodeServer(msg)), step.hex, `${step.name} re-encoded`);
        encoded++;
      }
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
    assert.equal(encoded + snapshots, game.session.length);
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

  test(`${game.game}: every client message decodes to the Rust values and re-encodes byte for byte`, () => {
    const schema = schemaOf(game);
    for (const v of game.client) {
      const msg = decodeClient(fromHex(v.hex));
      let got: unknown;
      switch (msg.type) {
        case "Hello":
          got = {
            type: msg.type,
            protocol_version: msg.protocolVersion,
            name: msg.name,
            resume_token: msg.resumeToken && toHex(msg.resumeToken),
            auth_token: msg.authToken,
          };
          break;
        case "Input": {
          const r = new Reader(msg.fields, 1 << 16);
          const fields = readFields(r, schema.input);
          r.finish();
          got = { type: msg.type, seq: msg.seq, fields: fieldsJson(schema.input, fields) };
          break;
        }
        case "Ping":
          got = { type: msg.type, client_time: msg.clientTime.toString() };
          break;
        case "Message": {
          const m = decodeMessage(msg.message, schema.clientMessages);
          got = { type: msg.type, message: { type: m.type, fields: messageFields(schema, "client", m.type, m.fields) } };
          break;
        }
        default:
          got = { type: msg.type };
      }
      assert.deepEqual(got, v.message, v.name);
      assert.equal(toHex(encodeClient(msg)), v.hex, `${v.name} re-encoded`);
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

// Not vectors: the vector files hold no damaged client message (their
// `damaged` lists are server messages). These were checked against the Rust
// decoder (`codec::decode_client`) when written.
test("decodeClient refuses what the Rust decoder refuses", () => {
  const a = (n: number) => toHex(new Uint8Array(n).fill(0x61));
  const le32 = (n: number) => toHex(new Uint8Array(new Uint32Array([n]).buffer));
  const cases: [string, string][] = [
    ["", "Truncated"],
    ["05", "UnknownVariant"],
    ["ff", "Malformed"],
    ["0302", "TrailingBytes"],
    ["00020002", "UnknownVariant"], // an Option byte of 2
    ["000201ff0000", "InvalidUtf8"],
    ["00fc020000000000", "Malformed"], // a u32 form in the u16 protocol_version
    ["02fd00", "Truncated"],
    ["0002fc0100010061", "LimitExceeded"], // a name longer than the limit
    ["01fc0001fca0860100", "Truncated"], // a byte list is cut, not over the limit
    [`0002fc${le32(40000)}${a(40000)}0001fb3075`, "LimitExceeded"], // name + auth token claim more than 64 KiB
    [`0002fc${le32(65523)}${a(65523)}0001`, "LimitExceeded"], // the numbers' claims count too
    [`03${a(65536)}`, "TooLarge"],
  ];
  for (const [hex, code] of cases) {
    assert.throws(() => decodeClient(fromHex(hex)), (e: unknown) => e instanceof DecodeError && e.code === code, `${hex.slice(0, 24)}: ${code}`);
  }
  const hello = encodeClient({ type: "Hello", name: "ada" });
  assert.throws(() => decodeClient(hello, hello.length - 1), (e: unknown) => e instanceof DecodeError && e.code === "TooLarge");
  // The server checks the version and the name's length, not the decoder.
  assert.deepEqual(decodeClient(fromHex(`000128${a(40)}0000`)), { type: "Hello", protocolVersion: 1, name: "a".repeat(40), resumeToken: null, authToken: null });
});

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
