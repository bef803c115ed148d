/**
 * bincode 2 `standard()` primitives (docs/PROTOCOL.md section 3): unsigned
 * varints, zigzag for signed integers, little-endian floats, length-prefixed
 * strings and byte lists.
 *
 * Numbers up to 32 bits are plain JavaScript numbers; `u64` values are
 * `bigint`s, except lengths, which are numbers bounded by the decode limit.
 */
import { DecodeError } from "./errors.js";
const U16_MARKER = 0xfb;
const U32_MARKER = 0xfc;
const U64_MARKER = 0xfd;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();
/** `n` zigzagged within 32 bits: 0, -1, 1, -2 become 0, 1, 2, 3. */
export function zigzag(n) {
    return ((n << 1) ^ (n >> 31)) >>> 0;
}
/** The inverse of {@link zigzag}: a signed 32-bit integer. */
export function unzigzag(z) {
    return (z >>> 1) ^ -(z & 1);
}
/** Reads bincode values from bytes; every failure is a {@link DecodeError}. */
export class Reader {
    constructor(bytes, limit, start = 0) {
        /** The low 32 bits of the last {@link Reader.mask}. */
        this.maskLo = 0;
        /** The high 32 bits of the last {@link Reader.mask}. */
        this.maskHi = 0;
        this.bytes = bytes;
        this.pos = start;
        this.end = bytes.length;
        this.limit = limit;
    }
    dv() {
        this.view ?? (this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
        return this.view;
    }
    /** Bytes not yet read. */
    remaining() {
        return this.end - this.pos;
    }
    /** Refuses bytes left after a complete message. */
    finish() {
        if (this.pos !== this.end)
            throw new DecodeError("TrailingBytes");
    }
    /** Skips `n` bytes, returning where they start. */
    take(n) {
        const at = this.pos;
        if (n > this.end - at)
            throw new DecodeError("Truncated");
        this.pos = at + n;
        return at;
    }
    /** A `u8`: one raw byte. */
    u8() {
        if (this.pos >= this.end)
            throw new DecodeError("Truncated");
        return this.bytes[this.pos++];
    }
    u16le() {
        const at = this.take(2);
        return this.bytes[at] | (this.bytes[at + 1] << 8);
    }
    u32le() {
        const at = this.take(4);
        const b = this.bytes;
        return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
    }
    /** A `u16` varint. */
    u16() {
        const first = this.u8();
        if (first <= 250)
            return first;
        if (first === U16_MARKER)
            return this.u16le();
        throw new DecodeError("Malformed");
    }
    /** A `u32` varint. */
    u32() {
        if (this.pos < this.end) {
            const first = this.bytes[this.pos];
            if (first <= 250) {
                this.pos++;
                return first;
            }
        }
        const first = this.u8();
        if (first <= 250)
            return first;
        if (first === U16_MARKER)
            return this.u16le();
        if (first === U32_MARKER)
            return this.u32le();
        throw new DecodeError("Malformed");
    }
    /** A `u64` varint. */
    u64() {
        const first = this.u8();
        if (first <= 250)
            return BigInt(first);
        if (first === U16_MARKER)
            return BigInt(this.u16le());
        if (first === U32_MARKER)
            return BigInt(this.u32le());
        if (first === U64_MARKER) {
            const lo = this.u32le();
            const hi = this.u32le();
            return (BigInt(hi) << 32n) | BigInt(lo);
        }
        throw new DecodeError("Malformed");
    }
    /**
     * A change mask (a `u64` varint), into {@link Reader.maskLo} and
     * {@link Reader.maskHi} without allocating.
     */
    mask() {
        const first = this.u8();
        this.maskHi = 0;
        if (first <= 250)
            this.maskLo = first;
        else if (first === U16_MARKER)
            this.maskLo = this.u16le();
        else if (first === U32_MARKER)
            this.maskLo = this.u32le();
        else if (first === U64_MARKER) {
            this.maskLo = this.u32le();
            this.maskHi = this.u32le();
        }
        else
            throw new DecodeError("Malformed");
    }
    /** A length prefix (a `u64` varint), checked against the limit. */
    len() {
        const first = this.u8();
        let n;
        if (first <= 250)
            return first;
        if (first === U16_MARKER)
            n = this.u16le();
        else if (first === U32_MARKER)
            n = this.u32le();
        else if (first === U64_MARKER) {
            const lo = this.u32le();
            const hi = this.u32le();
            n = hi * 2 ** 32 + lo;
        }
        else
            throw new DecodeError("Malformed");
        if (n > this.limit)
            throw new DecodeError("LimitExceeded");
        return n;
    }
    /** An `i16`: zigzag, then a `u16` varint. */
    i16() {
        return unzigzag(this.u16());
    }
    /** An `i32`: zigzag, then a `u32` varint. */
    i32() {
        return unzigzag(this.u32());
    }
    /** An `f32`, little endian. */
    f32() {
        return this.dv().getFloat32(this.take(4), true);
    }
    /** `n` raw bytes, as a view into the input. */
    raw(n) {
        const at = this.take(n);
        return this.bytes.subarray(at, at + n);
    }
    /** A `Vec<u8>`: its length, then its bytes (a view into the input). */
    byteList() {
        return this.raw(this.len());
    }
    /**
     * A `String` (bincode's rules: a length beyond the limit is
     * `LimitExceeded`, bad UTF-8 is `InvalidUtf8`).
     */
    string() {
        const n = this.len();
        return decodeUtf8(this.raw(n), "InvalidUtf8");
    }
}
/** UTF-8 to a string; `code` is thrown for invalid bytes. */
export function decodeUtf8(bytes, code) {
    const n = bytes.length;
    if (n <= 16) {
        // Short ASCII strings (names, tags) skip the decoder.
        let s = "";
        for (let i = 0; i < n; i++) {
            const c = bytes[i];
            if (c >= 0x80)
                return decodeSlow(bytes, code);
            s += String.fromCharCode(c);
        }
        return s;
    }
    return decodeSlow(bytes, code);
}
function decodeSlow(bytes, code) {
    try {
        return utf8.decode(bytes);
    }
    catch {
        throw new DecodeError(code);
    }
}
/** The UTF-8 bytes of a string. */
export function encodeUtf8(s) {
    return utf8Encoder.encode(s);
}
/** Writes bincode values into a growing buffer. */
export class Writer {
    constructor(capacity = 64) {
        this.pos = 0;
        this.buf = new Uint8Array(capacity);
    }
    room(n) {
        if (this.pos + n <= this.buf.length)
            return;
        let size = this.buf.length * 2;
        while (size < this.pos + n)
            size *= 2;
        const next = new Uint8Array(size);
        next.set(this.buf.subarray(0, this.pos));
        this.buf = next;
    }
    /** Bytes written so far. */
    get length() {
        return this.pos;
    }
    /** The bytes written (a copy, sized exactly). */
    finish() {
        return this.buf.slice(0, this.pos);
    }
    /** A `u8`: one raw byte. */
    u8(v) {
        this.room(1);
        this.buf[this.pos++] = v;
        return this;
    }
    le(v, n) {
        this.room(n);
        for (let i = 0; i < n; i++) {
            this.buf[this.pos++] = v & 0xff;
            v = Math.floor(v / 256);
        }
    }
    /** A `u16` varint. */
    u16(v) {
        if (v <= 250)
            return this.u8(v);
        this.u8(U16_MARKER);
        this.le(v, 2);
        return this;
    }
    /** A `u32` varint. */
    u32(v) {
        if (v <= 250)
            return this.u8(v);
        if (v <= 0xffff)
            return this.u16(v);
        this.u8(U32_MARKER);
        this.le(v, 4);
        return this;
    }
    /** A `u64` varint (or a length). */
    u64(v) {
        if (typeof v === "number") {
            if (v <= 0xffffffff)
                return this.u32(v);
            v = BigInt(v);
        }
        if (v <= 0xffffffffn)
            return this.u32(Number(v));
        this.u8(U64_MARKER);
        this.le(Number(v & 0xffffffffn), 4);
        this.le(Number(v >> 32n), 4);
        return this;
    }
    /** An `i16`: zigzag, then a `u16` varint. */
    i16(v) {
        return this.u16(((v << 1) ^ (v >> 15)) & 0xffff);
    }
    /** An `i32`: zigzag, then a `u32` varint. */
    i32(v) {
        return this.u32(zigzag(v));
    }
    /** An `f32`, little endian. */
    f32(v) {
        this.room(4);
        new DataView(this.buf.buffer).setFloat32(this.pos, v, true);
        this.pos += 4;
        return this;
    }
    /** Raw bytes, as they are. */
    raw(b) {
        this.room(b.length);
        this.buf.set(b, this.pos);
        this.pos += b.length;
        return this;
    }
    /** A `Vec<u8>`: length, then bytes. */
    byteList(b) {
        return this.u64(b.length).raw(b);
    }
    /** A `String`: length, then UTF-8. */
    string(s) {
        return this.byteList(encodeUtf8(s));
    }
}
