/**
 * The schema descriptor (docs/PROTOCOL.md section 7): what a game
 * replicates, read from `ServerMsg::Schema`, and its compiled form, the
 * slots every decoder and encoder of this package works with.
 */
import { DecodeError } from "./errors.js";
import { Reader, Writer } from "./varint.js";
/** The wire type names, by tag. */
const TAGS = ["Bool", "U8", "U16", "U32", "I8", "I16", "I32", "Fixed", "Angle", "Enum", "Str", "Ref"];
/** Most fields in one place (the change mask is a `u64`). */
export const MAX_FIELDS = 64;
/** Most input fields. */
export const MAX_INPUT_SLOTS = 16;
/** Longest string field, bytes. */
export const MAX_STR_LEN = 1024;
function readList(r, item) {
    const n = r.len();
    // Every item takes at least a byte: a count beyond the bytes left is cut.
    if (n > r.remaining())
        throw new DecodeError("Truncated");
    const out = [];
    for (let i = 0; i < n; i++)
        out.push(item(r));
    return out;
}
function readWireType(r) {
    const tag = r.u32();
    switch (TAGS[tag]) {
        case "Fixed": {
            const scale = r.f32();
            const min = r.i32();
            const max = r.i32();
            return { type: "Fixed", scale, min, max };
        }
        case "Enum":
            return { type: "Enum", variants: readList(r, (r) => r.string()) };
        case "Str":
            return { type: "Str", maxLen: r.u16() };
        case undefined:
            throw new DecodeError("UnknownVariant");
        default:
            return { type: TAGS[tag] };
    }
}
function readFields(r) {
    return readList(r, (r) => ({ name: r.string(), ty: readWireType(r) }));
}
/** Reads an `Option<T>`: `00` none, `01` then the value; any other byte is `UnknownVariant`. */
export function readOption(r, value) {
    const b = r.u8();
    if (b === 0)
        return null;
    if (b === 1)
        return value(r);
    throw new DecodeError("UnknownVariant");
}
/** Reads a descriptor (the bytes of `ServerMsg::Schema` after its tag). */
export function readSchema(r) {
    const messages = (r) => readList(r, (r) => ({ name: r.string(), fields: readFields(r) }));
    return {
        game: r.string(),
        kinds: readList(r, (r) => ({
            name: r.string(),
            fields: readFields(r),
            position: readOption(r, (r) => r.u16()),
        })),
        state: readFields(r),
        input: readFields(r),
        clientMessages: messages(r),
        serverMessages: messages(r),
    };
}
function writeFields(w, fields) {
    w.u64(fields.length);
    for (const f of fields) {
        w.string(f.name);
        const ty = f.ty;
        w.u32(TAGS.indexOf(ty.type));
        if (ty.type === "Fixed")
            w.f32(ty.scale).i32(ty.min).i32(ty.max);
        else if (ty.type === "Enum") {
            w.u64(ty.variants.length);
            for (const v of ty.variants)
                w.string(v);
        }
        else if (ty.type === "Str")
            w.u16(ty.maxLen);
    }
}
/** Writes a descriptor as the server encodes it (without the message tag). */
export function writeSchema(w, s) {
    w.string(s.game);
    w.u64(s.kinds.length);
    for (const k of s.kinds) {
        w.string(k.name);
        writeFields(w, k.fields);
        if (k.position === null)
            w.u8(0);
        else
            w.u8(1).u16(k.position);
    }
    writeFields(w, s.state);
    writeFields(w, s.input);
    for (const list of [s.clientMessages, s.serverMessages]) {
        w.u64(list.length);
        for (const m of list) {
            w.string(m.name);
            writeFields(w, m.fields);
        }
    }
}
/** FNV-1a, 64 bits: the schema hash of section 7.4. */
export function fnv1a64(bytes) {
    // In two 32-bit halves: a bigint multiply per byte is slow.
    let hi = 0xcbf29ce4;
    let lo = 0x84222325;
    for (let i = 0; i < bytes.length; i++) {
        lo = (lo ^ bytes[i]) >>> 0;
        // (hi:lo) × (2^40 + 0x1b3) mod 2^64; lo × 0x1b3 < 2^41 is exact.
        const prod = lo * 0x1b3;
        hi = (Math.imul(hi, 0x1b3) + Math.floor(prod / 0x100000000) + (lo << 8)) >>> 0;
        lo = prod >>> 0;
    }
    return (BigInt(hi) << 32n) | BigInt(lo);
}
/** How a slot's raw value becomes the value a game sees. */
export const Conv = { Int: 0, Bool: 1, Fixed: 2, Angle: 3, Enum: 4, Str: 5 };
function invalid(what) {
    throw new DecodeError("InvalidSchema", {}, `invalid schema descriptor: ${what}`);
}
function compileSlot(f) {
    const ty = f.ty;
    const int = (bits, signed, conv = Conv.Int) => ({
        name: f.name,
        ty,
        bits,
        signed,
        min: signed ? -(2 ** (bits - 1)) : 0,
        max: signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1,
        conv,
        scale: 1,
        variants: [],
    });
    switch (ty.type) {
        case "Bool":
            return { ...int(8, false, Conv.Bool), max: 1 };
        case "U8":
            return int(8, false);
        case "U16":
            return int(16, false);
        case "U32":
        case "Ref":
            return int(32, false);
        case "I8":
            return int(8, true);
        case "I16":
            return int(16, true);
        case "I32":
            return int(32, true);
        case "Fixed": {
            if (!(Number.isFinite(ty.scale) && ty.scale > 0 && ty.min <= ty.max))
                invalid(`field ${f.name}`);
            const narrow = ty.min >= -32768 && ty.max <= 32767;
            return { ...int(narrow ? 16 : 32, true, Conv.Fixed), min: ty.min, max: ty.max, scale: ty.scale };
        }
        case "Angle":
            return int(16, false, Conv.Angle);
        case "Enum": {
            const n = ty.variants.length;
            if (n === 0 || n > 65536)
                invalid(`field ${f.name}`);
            return { ...int(n <= 256 ? 8 : 16, false, Conv.Enum), max: n - 1, variants: ty.variants };
        }
        case "Str":
            if (ty.maxLen > MAX_STR_LEN)
                invalid(`field ${f.name}`);
            return { name: f.name, ty, bits: 0, signed: false, min: 0, max: ty.maxLen, conv: Conv.Str, scale: 1, variants: [] };
    }
}
function compileLayout(name, fields) {
    if (fields.length > MAX_FIELDS)
        invalid(`${name} has more than ${MAX_FIELDS} fields`);
    const slots = fields.map(compileSlot);
    let nonZeroLo = 0;
    let nonZeroHi = 0;
    slots.forEach((s, i) => {
        if (s.bits !== 0 && (s.min > 0 || s.max < 0)) {
            if (i < 32)
                nonZeroLo |= 1 << i;
            else
                nonZeroHi |= 1 << (i - 32);
        }
    });
    return {
        name,
        slots,
        names: slots.map((s) => s.name),
        hasStrings: slots.some((s) => s.bits === 0),
        nonZeroLo,
        nonZeroHi,
    };
}
/**
 * Checks a descriptor's rules (section 7.3) and compiles its layouts;
 * `bytes` are its encoding (for the hash), written here when not given.
 */
export function compileSchema(schema, bytes) {
    if (schema.kinds.length > 65535 ||
        schema.clientMessages.length > 65535 ||
        schema.serverMessages.length > 65535) {
        invalid("too many kinds or message types");
    }
    let positionScale;
    const kinds = schema.kinds.map((k, index) => {
        const layout = compileLayout(k.name, k.fields);
        let position = -1;
        if (k.position !== null) {
            const x = k.fields[k.position]?.ty;
            const y = k.fields[k.position + 1]?.ty;
            if (x?.type !== "Fixed" || y?.type !== "Fixed")
                invalid(`kind ${k.name} has an invalid position`);
            if (positionScale !== undefined && positionScale !== x.scale) {
                invalid("every kind's position must have the same scale");
            }
            positionScale = x.scale;
            position = k.position;
        }
        const interpolated = layout.slots.flatMap((s, i) => (s.conv === Conv.Fixed || s.conv === Conv.Angle ? [i] : []));
        return { ...layout, index, position, interpolated };
    });
    const input = compileLayout("input", schema.input);
    if (input.slots.length > MAX_INPUT_SLOTS || input.hasStrings) {
        invalid(`the input has a string or more than ${MAX_INPUT_SLOTS} fields`);
    }
    const messages = (list) => list.map((m, index) => ({ ...compileLayout(m.name, m.fields), index }));
    const clientMessages = messages(schema.clientMessages);
    const serverMessages = messages(schema.serverMessages);
    if (!bytes) {
        const w = new Writer(256);
        writeSchema(w, schema);
        bytes = w.finish();
    }
    return {
        schema,
        bytes,
        hash: fnv1a64(bytes),
        kinds,
        state: compileLayout("state", schema.state),
        input,
        clientMessages,
        serverMessages,
        clientMessagesByName: new Map(clientMessages.map((m) => [m.name, m])),
        serverMessagesByName: new Map(serverMessages.map((m) => [m.name, m])),
        positionScale: positionScale ?? 16,
    };
}
