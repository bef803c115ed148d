/**
 * The schema descriptor (docs/PROTOCOL.md section 7): what a game
 * replicates, read from `ServerMsg::Schema`, and its compiled form, the
 * slots every decoder and encoder of this package works with.
 */
import { Reader, Writer } from "./varint.js";
/** How one field is represented on the wire (section 7.2). */
export type WireType = {
    readonly type: "Bool";
} | {
    readonly type: "U8";
} | {
    readonly type: "U16";
} | {
    readonly type: "U32";
} | {
    readonly type: "I8";
} | {
    readonly type: "I16";
} | {
    readonly type: "I32";
}
/** `value = q / scale`, `q` in `min..=max` quanta. */
 | {
    readonly type: "Fixed";
    readonly scale: number;
    readonly min: number;
    readonly max: number;
}
/** 1/65,536 of a turn; the value is radians in `[0, 2π)`. */
 | {
    readonly type: "Angle";
}
/** The value is the variant's name. */
 | {
    readonly type: "Enum";
    readonly variants: readonly string[];
} | {
    readonly type: "Str";
    readonly maxLen: number;
}
/** Another entity's id; 0 means none. */
 | {
    readonly type: "Ref";
};
/** One field of a kind, of the room state, of the input or of a message. */
export interface FieldDesc {
    readonly name: string;
    readonly ty: WireType;
}
/** An entity kind. */
export interface KindDesc {
    readonly name: string;
    readonly fields: readonly FieldDesc[];
    /** Index of the position's x field (y is the next one), or `null`. */
    readonly position: number | null;
}
/** A game message type. */
export interface MessageDesc {
    readonly name: string;
    readonly fields: readonly FieldDesc[];
}
/** The game's descriptor, as the server sends it. */
export interface Schema {
    readonly game: string;
    readonly kinds: readonly KindDesc[];
    readonly state: readonly FieldDesc[];
    readonly input: readonly FieldDesc[];
    readonly clientMessages: readonly MessageDesc[];
    readonly serverMessages: readonly MessageDesc[];
}
/** Most fields in one place (the change mask is a `u64`). */
export declare const MAX_FIELDS = 64;
/** Most input fields. */
export declare const MAX_INPUT_SLOTS = 16;
/** Longest string field, bytes. */
export declare const MAX_STR_LEN = 1024;
/** Reads an `Option<T>`: `00` none, `01` then the value; any other byte is `UnknownVariant`. */
export declare function readOption<T>(r: Reader, value: (r: Reader) => T): T | null;
/** Reads a descriptor (the bytes of `ServerMsg::Schema` after its tag). */
export declare function readSchema(r: Reader): Schema;
/** Writes a descriptor as the server encodes it (without the message tag). */
export declare function writeSchema(w: Writer, s: Schema): void;
/** FNV-1a, 64 bits: the schema hash of section 7.4. */
export declare function fnv1a64(bytes: Uint8Array): bigint;
/** How a slot's raw value becomes the value a game sees. */
export declare const Conv: {
    readonly Int: 0;
    readonly Bool: 1;
    readonly Fixed: 2;
    readonly Angle: 3;
    readonly Enum: 4;
    readonly Str: 5;
};
/** One of {@link Conv}'s values. */
export type Conv = (typeof Conv)[keyof typeof Conv];
/** A field compiled: its width, range and representation. */
export interface Slot {
    readonly name: string;
    readonly ty: WireType;
    /** 8, 16 or 32 bits; 0 for a string. */
    readonly bits: number;
    readonly signed: boolean;
    /** Smallest valid raw value. */
    readonly min: number;
    /** Largest valid raw value; for a string its longest length in bytes. */
    readonly max: number;
    /** How the raw value reads (see {@link Conv}). */
    readonly conv: Conv;
    /** Fixed point: quanta per unit (1 otherwise). */
    readonly scale: number;
    /** Enum: variant names. */
    readonly variants: readonly string[];
}
/** The slots of one kind, the state, the input or a message. */
export interface Layout {
    readonly name: string;
    readonly slots: readonly Slot[];
    readonly names: readonly string[];
    readonly hasStrings: boolean;
    /** Bit `i` set for every numeric slot `i` < 32 whose range excludes 0 (a spawn must carry it). */
    readonly nonZeroLo: number;
    /** The same for slots 32 and up. */
    readonly nonZeroHi: number;
}
/** A kind's layout, with its position and its interpolated slots. */
export interface KindLayout extends Layout {
    readonly index: number;
    /** Slot of the position's x (y follows), or -1. */
    readonly position: number;
    /** The `Fixed` and `Angle` slots, which interpolation blends. */
    readonly interpolated: readonly number[];
}
/** A message type's layout, with its index. */
export interface MessageLayout extends Layout {
    readonly index: number;
}
/** A schema ready for decoding: every place's slots. */
export interface CompiledSchema {
    readonly schema: Schema;
    /** The descriptor's bytes, without the message tag. */
    readonly bytes: Uint8Array;
    /** FNV-1a 64 of {@link CompiledSchema.bytes}. */
    readonly hash: bigint;
    readonly kinds: readonly KindLayout[];
    readonly state: Layout;
    readonly input: Layout;
    readonly clientMessages: readonly MessageLayout[];
    readonly serverMessages: readonly MessageLayout[];
    readonly clientMessagesByName: ReadonlyMap<string, MessageLayout>;
    readonly serverMessagesByName: ReadonlyMap<string, MessageLayout>;
    /** Position quanta per world unit, shared by every kind with a position. */
    readonly positionScale: number;
}
/**
 * Checks a descriptor's rules (section 7.3) and compiles its layouts;
 * `bytes` are its encoding (for the hash), written here when not given.
 */
export declare function compileSchema(schema: Schema, bytes?: Uint8Array): CompiledSchema;
