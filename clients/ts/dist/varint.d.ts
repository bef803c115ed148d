/**
 * bincode 2 `standard()` primitives (docs/PROTOCOL.md section 3): unsigned
 * varints, zigzag for signed integers, little-endian floats, length-prefixed
 * strings and byte lists.
 *
 * Numbers up to 32 bits are plain JavaScript numbers; `u64` values are
 * `bigint`s, except lengths, which are numbers bounded by the decode limit.
 */
/** `n` zigzagged within 32 bits: 0, -1, 1, -2 become 0, 1, 2, 3. */
export declare function zigzag(n: number): number;
/** The inverse of {@link zigzag}: a signed 32-bit integer. */
export declare function unzigzag(z: number): number;
/** Reads bincode values from bytes; every failure is a {@link DecodeError}. */
export declare class Reader {
    /** The bytes read. */
    readonly bytes: Uint8Array;
    /** Where the next value starts. */
    pos: number;
    /** Where the bytes end. */
    readonly end: number;
    /** The largest length prefix accepted (bincode's decode limit). */
    readonly limit: number;
    /** The low 32 bits of the last {@link Reader.mask}. */
    maskLo: number;
    /** The high 32 bits of the last {@link Reader.mask}. */
    maskHi: number;
    private view;
    constructor(bytes: Uint8Array, limit: number, start?: number);
    private dv;
    /** Bytes not yet read. */
    remaining(): number;
    /** Refuses bytes left after a complete message. */
    finish(): void;
    /** Skips `n` bytes, returning where they start. */
    take(n: number): number;
    /** A `u8`: one raw byte. */
    u8(): number;
    private u16le;
    private u32le;
    /** A `u16` varint. */
    u16(): number;
    /** A `u32` varint. */
    u32(): number;
    /** A `u64` varint. */
    u64(): bigint;
    /**
     * A change mask (a `u64` varint), into {@link Reader.maskLo} and
     * {@link Reader.maskHi} without allocating.
     */
    mask(): void;
    /** A length prefix (a `u64` varint), checked against the limit. */
    len(): number;
    /** An `i16`: zigzag, then a `u16` varint. */
    i16(): number;
    /** An `i32`: zigzag, then a `u32` varint. */
    i32(): number;
    /** An `f32`, little endian. */
    f32(): number;
    /** `n` raw bytes, as a view into the input. */
    raw(n: number): Uint8Array;
    /** A `Vec<u8>`: its length, then its bytes (a view into the input). */
    byteList(): Uint8Array;
    /**
     * A `String` (bincode's rules: a length beyond the limit is
     * `LimitExceeded`, bad UTF-8 is `InvalidUtf8`).
     */
    string(): string;
}
/** UTF-8 to a string; `code` is thrown for invalid bytes. */
export declare function decodeUtf8(bytes: Uint8Array, code: "InvalidUtf8" | "Malformed"): string;
/** The UTF-8 bytes of a string. */
export declare function encodeUtf8(s: string): Uint8Array;
/** Writes bincode values into a growing buffer. */
export declare class Writer {
    private buf;
    private pos;
    constructor(capacity?: number);
    private room;
    /** Bytes written so far. */
    get length(): number;
    /** The bytes written (a copy, sized exactly). */
    finish(): Uint8Array;
    /** A `u8`: one raw byte. */
    u8(v: number): this;
    private le;
    /** A `u16` varint. */
    u16(v: number): this;
    /** A `u32` varint. */
    u32(v: number): this;
    /** A `u64` varint (or a length). */
    u64(v: bigint | number): this;
    /** An `i16`: zigzag, then a `u16` varint. */
    i16(v: number): this;
    /** An `i32`: zigzag, then a `u32` varint. */
    i32(v: number): this;
    /** An `f32`, little endian. */
    f32(v: number): this;
    /** Raw bytes, as they are. */
    raw(b: Uint8Array): this;
    /** A `Vec<u8>`: length, then bytes. */
    byteList(b: Uint8Array): this;
    /** A `String`: length, then UTF-8. */
    string(s: string): this;
}
