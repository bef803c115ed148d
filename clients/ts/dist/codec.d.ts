/**
 * Messages to and from bytes (docs/PROTOCOL.md sections 5, 6 and 10): the
 * envelopes, the events, and the fields of inputs and game messages, which
 * follow the game's descriptor. Snapshot bodies are applied by
 * {@link Mirror} (`mirror.ts`).
 */
import type { CompiledSchema, Layout, MessageLayout, Slot } from "./schema.js";
import { Reader, Writer } from "./varint.js";
/** The protocol version this package speaks. */
export declare const PROTOCOL_VERSION = 2;
/** The WebSocket subprotocol to offer. */
export declare const SUBPROTOCOL = "snapwire.v2";
/** Longest display name, UTF-8 bytes. */
export declare const MAX_NAME_BYTES = 32;
/** Longest join token, bytes. */
export declare const MAX_AUTH_TOKEN_BYTES = 2048;
/** The largest server message the decoder accepts (the reference client's). */
export declare const SERVER_DECODE_LIMIT: number;
/** The largest client message the server's decoder accepts (64 KiB), and bincode's limit on what its reads claim ({@link decodeClient}). */
export declare const CLIENT_DECODE_LIMIT = 65536;
/** A field's value as a game sees it: a number (fixed point in units, angles in radians, refs as ids), a boolean, an enum's variant name, or a string. */
export type FieldValue = number | boolean | string;
/** Values by field name. */
export type Fields = Record<string, FieldValue>;
/** The room's constants (section 6.1). */
export interface WorldInfo {
    /** Side of the square world, world units. */
    readonly size: number;
    /** View radius, world units; 0: everything is visible. */
    readonly viewRadius: number;
}
/** `ServerMsg::Welcome`. */
export interface Welcome {
    readonly type: "Welcome";
    readonly player: number;
    readonly entity: number;
    readonly room: number;
    readonly tickRate: number;
    readonly tick: number;
    /** 16 bytes, for resuming; a secret. */
    readonly sessionToken: Uint8Array;
    readonly world: WorldInfo;
    readonly schemaHash: bigint;
}
/** A snapshot's header; the body is read against the view (section 9). */
export interface SnapshotHeader {
    readonly type: "Snapshot";
    readonly tick: number;
    /** 0 for a complete snapshot. */
    readonly baseTick: number;
    /**
     * The acknowledged input `seq` as sent: itself in a complete snapshot,
     * the gap from the baseline's otherwise ({@link Mirror.apply} adds it up).
     */
    readonly ackGap: number;
    /** The whole message. */
    readonly bytes: Uint8Array;
    /** Where the body starts in {@link SnapshotHeader.bytes}. */
    readonly bodyStart: number;
}
/** `ServerMsg::Pong`. */
export interface Pong {
    readonly type: "Pong";
    readonly clientTime: bigint;
    readonly serverTick: number;
}
/** `ServerMsg::Kicked`: the reason of the close that follows. */
export interface Kicked {
    readonly type: "Kicked";
    readonly reason: string;
}
/** `ServerMsg::Schema`, compiled. */
export interface SchemaMsg {
    readonly type: "Schema";
    readonly schema: CompiledSchema;
}
/** `ServerMsg::Message`: one game message, still encoded (it needs the descriptor). */
export interface GameMessageMsg {
    readonly type: "Message";
    readonly message: Uint8Array;
}
/** Any server message. */
export type ServerMsg = Welcome | SnapshotHeader | Pong | Kicked | SchemaMsg | GameMessageMsg;
/** A room event (section 6.3). */
export type ServerEvent = {
    readonly type: "PlayerJoined";
    readonly player: number;
    readonly entity: number;
    readonly name: string;
} | {
    readonly type: "PlayerLeft";
    readonly player: number;
} | {
    readonly type: "PlayerDropped";
    readonly player: number;
} | {
    readonly type: "PlayerResumed";
    readonly player: number;
} | {
    readonly type: "ServerDraining";
    readonly closesInMs: number;
};
/** A decoded game message: its type's name and its fields. */
export interface GameMessage {
    readonly type: string;
    readonly fields: Fields;
}
/**
 * Decodes one server message. A snapshot's header is read and checked
 * (section 6.2); its body is left to {@link Mirror.apply}.
 */
export declare function decodeServer(bytes: Uint8Array): ServerMsg;
/** Reads a snapshot's events (a bincode `Vec<ServerEvent>`). */
export declare function readEvents(r: Reader, out: ServerEvent[]): void;
/**
 * A numeric slot's raw value changed by the wire value `z` (section 8.1),
 * or `undefined` when `z` does not fit the slot's width.
 */
export declare function applyZigzag(slot: Slot, old: number, z: number): number | undefined;
/** The wire value of a numeric slot's change from `old` to `next`. */
export declare function zigzagDelta(slot: Slot, old: number, next: number): number;
/** A raw slot value as the game sees it. */
export declare function fieldValue(slot: Slot, raw: number): FieldValue;
/**
 * A game's value for a numeric slot as its raw value, quantised as the
 * server does (section 7.2): fixed point rounded half away from zero and
 * clamped, angles wrapped; integers, booleans, enums and refs must fit.
 */
export declare function quantise(slot: Slot, value: FieldValue | null | undefined): number;
/**
 * Writes the fields of an input or a game message: every field in order,
 * without a mask (section 10). Missing numeric fields are 0 (false, the
 * first variant); strings longer than their `max_len` are cut.
 */
export declare function writeFields(w: Writer, layout: Layout, values: Readonly<Record<string, FieldValue | null | undefined>>): void;
/**
 * Reads fields written by {@link writeFields}, each checked against its
 * range (`OutOfRange` with the field's index otherwise).
 */
export declare function readFields(r: Reader, layout: Layout): Fields;
/** Reads one game message (type, then fields) against `layouts`. */
export declare function readMessage(r: Reader, layouts: readonly MessageLayout[]): GameMessage;
/** Decodes a whole game message (from `ServerMsg::Message`). */
export declare function decodeMessage(bytes: Uint8Array, layouts: readonly MessageLayout[]): GameMessage;
/** The bytes of a game message of type `layout`. */
export declare function encodeMessage(layout: MessageLayout, fields: Readonly<Record<string, FieldValue | null | undefined>>): Uint8Array;
/** The bytes of an input's fields. */
export declare function encodeInputFields(layout: Layout, fields: Readonly<Record<string, FieldValue | null | undefined>>): Uint8Array;
/** A client message (section 5). */
export type ClientMsg = {
    readonly type: "Hello";
    readonly name: string;
    readonly resumeToken?: Uint8Array | null;
    readonly authToken?: string | null;
    /** Defaults to {@link PROTOCOL_VERSION}. */
    readonly protocolVersion?: number;
} | {
    readonly type: "Input";
    readonly seq: number;
    readonly fields: Uint8Array;
} | {
    readonly type: "Ping";
    readonly clientTime: bigint | number;
} | {
    readonly type: "Leave";
} | {
    readonly type: "Message";
    readonly message: Uint8Array;
};
/** A client message as {@link decodeClient} returns it: every part present (and a valid {@link ClientMsg}). */
export type DecodedClientMsg = {
    readonly type: "Hello";
    readonly protocolVersion: number;
    readonly name: string;
    readonly resumeToken: Uint8Array | null;
    readonly authToken: string | null;
} | {
    readonly type: "Ping";
    readonly clientTime: bigint;
} | Extract<ClientMsg, {
    readonly type: "Input" | "Leave" | "Message";
}>;
/** Encodes a client message. */
export declare function encodeClient(msg: ClientMsg): Uint8Array;
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
export declare function decodeClient(bytes: Uint8Array, limit?: number): DecodedClientMsg;
/**
 * Encodes a server message as the server does, for mock servers and tools:
 * any but a snapshot, whose body only the server's delta writer produces
 * (section 9; a client never writes one). A `Schema` is written from its
 * descriptor ({@link writeSchema}).
 */
export declare function encodeServer(msg: Exclude<ServerMsg, SnapshotHeader>): Uint8Array;
