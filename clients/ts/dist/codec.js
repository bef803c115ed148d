/**
 * Messages to and from bytes (docs/PROTOCOL.md sections 5, 6 and 10): the
 * envelopes, the events, and the fields of inputs and game messages, which
 * follow the game's descriptor. Snapshot bodies are applied by
 * {@link Mirror} (`mirror.ts`).
 */
import { DecodeError, EncodeError } from "./errors.js";
import { readSchema, compileSchema, readOption, writeSchema, Conv } from "./schema.js";
import { Reader, Writer, decodeUtf8, encodeUtf8, zigzag } from "./varint.js";
/** The protocol version this package speaks. */
export const PROTOCOL_VERSION = 2;
/** The WebSocket subprotocol to offer. */
export const SUBPROTOCOL = "snapwire.v2";
/** Longest display name, UTF-8 bytes. */
export const MAX_NAME_BYTES = 32;
/** Longest join token, bytes. */
export const MAX_AUTH_TOKEN_BYTES = 2048;
/** The largest server message the decoder accepts (the reference client's). */
export const SERVER_DECODE_LIMIT = 16 * 1024 * 1024;
/** The largest client message the server's decoder accepts (64 KiB), and bincode's limit on what its reads claim ({@link decodeClient}). */
export const CLIENT_DECODE_LIMIT = 65536;
/**
 * Decodes one server message. A snapshot's header is read and checked
 * (section 6.2); its body is left to {@link Mirror.apply}.
 */
export function decodeServer(bytes) {
    if (bytes.length > SERVER_DECODE_LIMIT)
        throw new DecodeError("TooLarge");
    const r = new Reader(bytes, SERVER_DECODE_LIMIT);
    const tag = r.u32();
    let msg;
    switch (tag) {
        case 0: {
            const player = r.u32();
            const entity = r.u32();
            const room = r.u32();
            const tickRate = r.u16();
            const tick = r.u32();
            const sessionToken = r.raw(16).slice();
            const size = r.f32();
            const viewRadius = r.f32();
            const schemaHash = r.u64();
            msg = { type: "Welcome", player, entity, room, tickRate, tick, sessionToken, world: { size, viewRadius }, schemaHash };
            break;
        }
        case 1: {
            const tick = r.u32();
            const gap = r.u32();
            const ackGap = r.u32();
            // The gap names the baseline; it must be a real, older tick.
            let baseTick = 0;
            if (gap !== 0) {
                baseTick = (tick - gap) >>> 0;
                if (baseTick === 0 || (gap | 0) <= 0)
                    throw new DecodeError("Malformed");
            }
            return { type: "Snapshot", tick, baseTick, ackGap, bytes, bodyStart: r.pos };
        }
        case 2: {
            const clientTime = r.u64();
            msg = { type: "Pong", clientTime, serverTick: r.u32() };
            break;
        }
        case 3:
            msg = { type: "Kicked", reason: r.string() };
            break;
        case 4: {
            const start = r.pos;
            const schema = readSchema(r);
            r.finish();
            return { type: "Schema", schema: compileSchema(schema, bytes.slice(start)) };
        }
        case 5:
            msg = { type: "Message", message: r.byteList() };
            break;
        default:
            throw new DecodeError("UnknownVariant");
    }
    r.finish();
    return msg;
}
/** Reads a snapshot's events (a bincode `Vec<ServerEvent>`). */
export function readEvents(r, out) {
    const n = r.len();
    for (let i = 0; i < n; i++) {
        const tag = r.u32();
        switch (tag) {
            case 0: {
                const player = r.u32();
                const entity = r.u32();
                out.push({ type: "PlayerJoined", player, entity, name: r.string() });
                break;
            }
            case 1:
                out.push({ type: "PlayerLeft", player: r.u32() });
                break;
            case 2:
                out.push({ type: "PlayerDropped", player: r.u32() });
                break;
            case 3:
                out.push({ type: "PlayerResumed", player: r.u32() });
                break;
            case 4:
                out.push({ type: "ServerDraining", closesInMs: r.u32() });
                break;
            default:
                throw new DecodeError("UnknownVariant");
        }
    }
}
/**
 * A numeric slot's raw value changed by the wire value `z` (section 8.1),
 * or `undefined` when `z` does not fit the slot's width.
 */
export function applyZigzag(slot, old, z) {
    const bits = slot.bits;
    if (bits < 32 && z >>> bits !== 0)
        return undefined;
    const sum = (old + ((z >>> 1) ^ -(z & 1))) | 0;
    if (bits === 32)
        return slot.signed ? sum : sum >>> 0;
    const shift = 32 - bits;
    return slot.signed ? (sum << shift) >> shift : (sum << shift) >>> shift;
}
/** The wire value of a numeric slot's change from `old` to `next`. */
export function zigzagDelta(slot, old, next) {
    const shift = 32 - slot.bits;
    return zigzag((((next - old) | 0) << shift) >> shift);
}
/** A raw slot value as the game sees it. */
export function fieldValue(slot, raw) {
    switch (slot.conv) {
        case Conv.Bool:
            return raw !== 0;
        case Conv.Fixed:
            return raw / slot.scale;
        case Conv.Angle:
            return (raw / 65536) * TAU;
        case Conv.Enum:
            return slot.variants[raw];
        default:
            return raw;
    }
}
const TAU = 2 * Math.PI;
/** Rounds half away from zero. */
function roundHalfAway(x) {
    return x < 0 ? -Math.floor(0.5 - x) : Math.floor(x + 0.5);
}
/**
 * A game's value for a numeric slot as its raw value, quantised as the
 * server does (section 7.2): fixed point rounded half away from zero and
 * clamped, angles wrapped; integers, booleans, enums and refs must fit.
 */
export function quantise(slot, value) {
    switch (slot.conv) {
        case Conv.Fixed: {
            if (typeof value !== "number" || Number.isNaN(value))
                throw new EncodeError(slot.name, "expected a number");
            return Math.min(slot.max, Math.max(slot.min, roundHalfAway(value * slot.scale)));
        }
        case Conv.Angle: {
            if (typeof value !== "number" || !Number.isFinite(value))
                throw new EncodeError(slot.name, "expected a finite angle");
            return roundHalfAway(value * (65536 / TAU)) & 0xffff;
        }
        case Conv.Bool:
            if (typeof value !== "boolean" && value !== 0 && value !== 1)
                throw new EncodeError(slot.name, "expected a boolean");
            return value ? 1 : 0;
        case Conv.Enum: {
            const i = typeof value === "string" ? slot.variants.indexOf(value) : value;
            if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i > slot.max) {
                throw new EncodeError(slot.name, `expected one of ${slot.variants.join(", ")}`);
            }
            return i;
        }
        default: {
            const v = value ?? 0;
            if (typeof v !== "number" || !Number.isInteger(v) || v < slot.min || v > slot.max) {
                throw new EncodeError(slot.name, `expected an integer in ${slot.min}..=${slot.max}`);
            }
            return v;
        }
    }
}
/** `s` cut to at most `max` UTF-8 bytes, at a character boundary (as the server cuts). */
function cutUtf8(s, max) {
    const b = encodeUtf8(s);
    if (b.length <= max)
        return b;
    let end = max;
    while (end > 0 && (b[end] & 0xc0) === 0x80)
        end--;
    return b.subarray(0, end);
}
/**
 * Writes the fields of an input or a game message: every field in order,
 * without a mask (section 10). Missing numeric fields are 0 (false, the
 * first variant); strings longer than their `max_len` are cut.
 */
export function writeFields(w, layout, values) {
    for (const slot of layout.slots) {
        const v = values[slot.name];
        if (slot.conv === Conv.Str) {
            if (v !== undefined && v !== null && typeof v !== "string")
                throw new EncodeError(slot.name, "expected a string");
            w.byteList(cutUtf8(v ?? "", slot.max));
        }
        else {
            w.u32(zigzagDelta(slot, 0, quantise(slot, v ?? 0)));
        }
    }
}
/**
 * Reads fields written by {@link writeFields}, each checked against its
 * range (`OutOfRange` with the field's index otherwise).
 */
export function readFields(r, layout) {
    const out = {};
    const slots = layout.slots;
    for (let i = 0; i < slots.length; i++) {
        const slot = slots[i];
        if (slot.conv === Conv.Str) {
            const n = r.len();
            if (n > slot.max)
                throw new DecodeError("OutOfRange", { field: i });
            out[slot.name] = decodeUtf8(r.raw(n), "InvalidUtf8");
        }
        else {
            const v = applyZigzag(slot, 0, r.u32());
            if (v === undefined || v < slot.min || v > slot.max)
                throw new DecodeError("OutOfRange", { field: i });
            out[slot.name] = fieldValue(slot, v);
        }
    }
    return out;
}
/** Reads one game message (type, then fields) against `layouts`. */
export function readMessage(r, layouts) {
    const ty = r.u32();
    const layout = layouts[ty];
    if (layout === undefined)
        throw new DecodeError("UnknownMessage");
    return { type: layout.name, fields: readFields(r, layout) };
}
/** Decodes a whole game message (from `ServerMsg::Message`). */
export function decodeMessage(bytes, layouts) {
    const r = new Reader(bytes, SERVER_DECODE_LIMIT);
    const msg = readMessage(r, layouts);
    r.finish();
    return msg;
}
/** The bytes of a game message of type `layout`. */
export function encodeMessage(layout, fields) {
    const w = new Writer(32);
    w.u32(layout.index);
    writeFields(w, layout, fields);
    return w.finish();
}
/** The bytes of an input's fields. */
export function encodeInputFields(layout, fields) {
    const w = new Writer(16);
    writeFields(w, layout, fields);
    return w.finish();
}
/** Encodes a client message. */
export function encodeClient(msg) {
    const w = new Writer(32);
    switch (msg.type) {
        case "Hello": {
            const name = encodeUtf8(msg.name);
            if (name.length > MAX_NAME_BYTES)
                throw new EncodeError("name", `longer than ${MAX_NAME_BYTES} bytes`);
            w.u32(0).u16(msg.protocolVersion ?? PROTOCOL_VERSION).byteList(name);
            if (msg.resumeToken) {
                if (msg.resumeToken.length !== 16)
                    throw new EncodeError("resume_token", "expected 16 bytes");
                w.u8(1).raw(msg.resumeToken);
            }
            else
                w.u8(0);
            if (msg.authToken !== undefined && msg.authToken !== null) {
                const token = encodeUtf8(msg.authToken);
                if (token.length > MAX_AUTH_TOKEN_BYTES)
                    throw new EncodeError("auth_token", `longer than ${MAX_AUTH_TOKEN_BYTES} bytes`);
                w.u8(1).byteList(token);
            }
            else
                w.u8(0);
            break;
        }
        case "Input":
            w.u32(1).u32(msg.seq >>> 0).byteList(msg.fields);
            break;
        case "Ping":
            w.u32(2).u64(msg.clientTime);
            break;
        case "Leave":
            w.u32(3);
            break;
        case "Message":
            w.u32(4).byteList(msg.message);
            break;
    }
    return w.finish();
}
/**
 * Decodes one client message as the server's decoder does (`codec::decode_client`),
 * for mock servers and tools, with its errors: `TooLarge` beyond `limit` bytes
 * (the server's `--max-message-bytes`, at most {@link CLIENT_DECODE_LIMIT}),
 * `LimitExceeded` past bincode's limit (below), `UnknownVariant` for an unknown
 * tag or `Option` byte, `TrailingBytes`, `Truncated`, `InvalidUtf8`, `Malformed`.
 * Like the Rust decoder it leaves the server's checks (protocol version, name
 * and token lengths) and the fields of inputs and game messages
 * ({@link readFields}, {@link decodeMessage}) to the caller. Byte lists are
 * views into `bytes`.
 */
export function decodeClient(bytes, limit = CLIENT_DECODE_LIMIT) {
    if (bytes.length > Math.min(limit, CLIENT_DECODE_LIMIT))
        throw new DecodeError("TooLarge");
    const r = new Reader(bytes, Infinity);
    // bincode's limit (CLIENT_DECODE_LIMIT) is on the sum of what each read
    // claims before it reads: a number its full width (a tag 4, a length 8),
    // an `Option` byte 1, a `String` its length at once, and a `Vec<u8>` or a
    // token (sequences to serde) 1 a byte, so a cut one claims one past the end.
    let claimed = 0;
    const claim = (n) => {
        if ((claimed += n) > CLIENT_DECODE_LIMIT)
            throw new DecodeError("LimitExceeded");
        return r;
    };
    const sequence = (n) => claim(Math.min(n, r.remaining() + 1)).raw(n);
    const string = () => {
        const n = claim(8).len();
        return decodeUtf8(claim(n).raw(n), "InvalidUtf8");
    };
    let msg;
    switch (claim(4).u32()) {
        case 0: {
            const protocolVersion = claim(2).u16();
            const name = string();
            const resumeToken = readOption(claim(1), () => sequence(16).slice());
            msg = { type: "Hello", protocolVersion, name, resumeToken, authToken: readOption(claim(1), string) };
            break;
        }
        case 1: {
            const seq = claim(4).u32();
            msg = { type: "Input", seq, fields: sequence(claim(8).len()) };
            break;
        }
        case 2:
            msg = { type: "Ping", clientTime: claim(8).u64() };
            break;
        case 3:
            msg = { type: "Leave" };
            break;
        case 4:
            msg = { type: "Message", message: sequence(claim(8).len()) };
            break;
        default:
            throw new DecodeError("UnknownVariant");
    }
    r.finish();
    return msg;
}
/**
 * Encodes a server message as the server does, for mock servers and tools:
 * any but a snapshot, whose body only the server's delta writer produces
 * (section 9; a client never writes one). A `Schema` is written from its
 * descriptor ({@link writeSchema}).
 */
export function encodeServer(msg) {
    const w = new Writer(64);
    switch (msg.type) {
        case "Welcome":
            if (msg.sessionToken.length !== 16)
                throw new EncodeError("session_token", "expected 16 bytes");
            w.u32(0).u32(msg.player).u32(msg.entity).u32(msg.room).u16(msg.tickRate).u32(msg.tick).raw(msg.sessionToken);
            w.f32(msg.world.size).f32(msg.world.viewRadius).u64(msg.schemaHash);
            break;
        case "Pong":
            w.u32(2).u64(msg.clientTime).u32(msg.serverTick);
            break;
        case "Kicked":
            w.u32(3).string(msg.reason);
            break;
        case "Schema":
            writeSchema(w.u32(4), msg.schema.schema);
            break;
        case "Message":
            w.u32(5).byteList(msg.message);
            break;
        default:
            throw new EncodeError("type", `cannot encode a ${msg.type}: snapshots come from the server's delta writer`);
    }
    return w.finish();
}
