/**
 * A joined room: the connection's session (docs/PROTOCOL.md section 2),
 * the mirrored state, callbacks, inputs and messages, ping, the server tick
 * clock, interpolation, prediction and automatic resume.
 */
import type { FieldValue, Fields, ServerEvent, WorldInfo } from "./codec.js";
import { type Entity } from "./mirror.js";
import type { CompiledSchema } from "./schema.js";
import { type StepFn } from "./prediction.js";
/** What this package needs of a WebSocket (the browser's, or `ws`'s in Node). */
export interface WebSocketLike {
    binaryType: string;
    readonly readyState: number;
    send(data: Uint8Array): void;
    close(code?: number, reason?: string): void;
    onopen: ((ev: never) => void) | null;
    onmessage: ((ev: never) => void) | null;
    onclose: ((ev: never) => void) | null;
    onerror: ((ev: never) => void) | null;
}
/** A WebSocket constructor: `globalThis.WebSocket`, or `ws`'s `WebSocket`. */
export type WebSocketConstructor = new (url: string, protocols: string | string[]) => WebSocketLike;
/** Time and timers (replaceable in tests). */
export interface Scheduler {
    /** Milliseconds, monotonic. */
    now(): number;
    setTimeout(fn: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
    /** A number in `[0, 1)`, for backoff jitter. */
    random(): number;
}
/** Reconnection after a dropped connection. */
export interface ReconnectOptions {
    /** First delay, ms (default 250). */
    readonly initialDelayMs?: number;
    /** Longest delay, ms (default 5000). */
    readonly maxDelayMs?: number;
    /** Attempts before giving up (default 10). */
    readonly maxAttempts?: number;
    /** How long the server keeps a dropped player, ms (its `--resume-grace`, default 10000). */
    readonly resumeGraceMs?: number;
}
/** Options shared by every room of a {@link Client}. */
export interface ClientOptions {
    /** The WebSocket constructor; defaults to `globalThis.WebSocket`. */
    readonly WebSocket?: WebSocketConstructor;
    /** Automatic reconnection (default on); `false` to turn it off. */
    readonly reconnect?: ReconnectOptions | false;
    /** How far behind the newest snapshot remote entities are drawn, ms (default 100). */
    readonly interpolationDelayMs?: number;
    /** Interval between pings, ms (default 1000; 0: no pings). */
    readonly pingIntervalMs?: number;
    /** Time and timers (default: `performance.now`, `setTimeout`, `Math.random`). */
    readonly scheduler?: Scheduler;
}
/** What to join with. */
export interface JoinOptions {
    /** Display name, at most 32 UTF-8 bytes (default empty). */
    readonly name?: string;
    /** A join token or seat reservation (`Hello.auth_token`, section 2.2). */
    readonly token?: string;
    /** A session token from an earlier `Welcome`, to resume that session. */
    readonly resumeToken?: Uint8Array;
}
/** A player of the room, from the roster events (section 9.5). */
export interface Player {
    readonly id: number;
    readonly entity: number;
    readonly name: string;
    /** False between `PlayerDropped` and `PlayerResumed`. */
    readonly connected: boolean;
}
/** The room as this client sees it. */
export interface RoomState {
    /** The entities in view, by id (iteration order is not by id). */
    readonly entities: ReadonlyMap<number, Entity>;
    /** The room state's fields by name. */
    readonly fields: Readonly<Fields>;
    /** The players in the room, by id. */
    readonly players: ReadonlyMap<number, Player>;
    /** The newest snapshot's tick (0 before the first). */
    readonly tick: number;
}
/** Why the room ended. */
export interface LeaveInfo {
    readonly code: number;
    readonly reason: string;
    /** Whether the client asked for it ({@link Room.leave}). */
    readonly consented: boolean;
}
/** A reconnection about to be attempted. */
export interface ReconnectInfo {
    readonly attempt: number;
    readonly delayMs: number;
    /** Whether it resumes the session (or joins anew). */
    readonly resume: boolean;
    /** The close that caused it. */
    readonly code: number;
    readonly reason: string;
}
/** The room could not be joined. */
export declare class JoinError extends Error {
    readonly name = "JoinError";
    readonly code: number;
    readonly reason: string;
    constructor(code: number, reason: string);
}
/**
 * A room joined through {@link Client.join}. Everything the server sends
 * is applied as it arrives; callbacks fire after the state they report is
 * in place.
 */
export declare class Room {
    /** This client's player (`Welcome.player`). */
    player: number;
    /** The entity this client controls (`Welcome.entity`). */
    entityId: number;
    /** The room's id. */
    roomId: number;
    /** Simulation ticks per second. */
    tickRate: number;
    /** The world's constants. */
    world: WorldInfo;
    /** Smoothed round-trip time, ms (NaN before the first pong). */
    rtt: number;
    private readonly url;
    private readonly WS;
    private readonly join;
    private readonly scheduler;
    private readonly reconnect;
    private readonly delayMs;
    private readonly pingMs;
    private socket;
    private generation;
    private mirror;
    private pendingSchemaHash;
    private welcomed;
    private synced;
    private sessionToken;
    private kickedReason;
    private closing;
    private leaving;
    private ended;
    private attempts;
    private droppedAt;
    private retryTimer;
    private pingTimer;
    private inputSeq;
    private clock;
    private lastResume;
    private readonly playerMap;
    private predictor;
    private predictionStep;
    private predictionDistance;
    private joined;
    private leaveDone;
    private readonly addCbs;
    private readonly changeCbs;
    private readonly removeCbs;
    private readonly stateCbs;
    private readonly eventCbs;
    private readonly messageCbs;
    private readonly leaveCbs;
    private readonly errorCbs;
    private readonly reconnectingCbs;
    private readonly reconnectedCbs;
    /** The room as this client sees it. */
    readonly state: RoomState;
    /** @internal Use {@link Client.join}. */
    constructor(url: string, options: ClientOptions, join: JoinOptions);
    /** @internal Connects; resolves with the room once its first snapshot is applied. */
    start(): Promise<Room>;
    /** An entity entered the view. */
    onAdd(cb: (entity: Entity) => void): () => void;
    /** An entity's fields changed. */
    onChange(cb: (entity: Entity) => void): () => void;
    /** An entity left the view (its last values). */
    onRemove(cb: (entity: Entity) => void): () => void;
    /** After every snapshot, once its changes are applied. */
    onStateChange(cb: (state: RoomState) => void): () => void;
    /** A room event (players joining, leaving, dropping, resuming; the server draining). */
    onEvent(cb: (event: ServerEvent) => void): () => void;
    /** A game message of type `type` from the server (`"*"`: every type). */
    onMessage(type: string, cb: (fields: Fields, type: string) => void): () => void;
    /** The room ended for good (after {@link Room.leave}, a final close, or failed reconnection). */
    onLeave(cb: (info: LeaveInfo) => void): () => void;
    /** Alias of {@link Room.onLeave}. */
    onClose(cb: (info: LeaveInfo) => void): () => void;
    /** A decode error, a WebSocket error, or a failing callback. */
    onError(cb: (error: Error) => void): () => void;
    /** The connection dropped and a reconnection is scheduled. */
    onReconnecting(cb: (info: ReconnectInfo) => void): () => void;
    /** A reconnection succeeded (its first snapshot is applied). */
    onReconnected(cb: (info: {
        resumed: boolean;
    }) => void): () => void;
    /** The game's descriptor (after joining). */
    get schema(): CompiledSchema;
    /** Whether the connection is up and synchronised. */
    get connected(): boolean;
    /** The entity this client controls, if in view. */
    get me(): Entity | undefined;
    private sendMsg;
    /** Sends a game message of type `type` (section 10.4). Returns false when not connected. */
    send(type: string, fields?: Readonly<Record<string, FieldValue | null | undefined>>): boolean;
    /**
     * Sends one tick of input (section 10.1) with the next sequence number,
     * and predicts it when prediction is on. Returns the sequence number, or
     * 0 when not connected (nothing is sent or predicted then).
     */
    sendInput(fields: Readonly<Record<string, FieldValue | null | undefined>>): number;
    /** Sends a ping now (pings also go out every `pingIntervalMs`). */
    ping(): boolean;
    /** Leaves the room for good; resolves once the connection is closed. */
    leave(): Promise<void>;
    /** The server's current tick, estimated (fractional, unwrapped; NaN before the first snapshot). */
    serverTick(now?: number): number;
    /** The tick remote entities are drawn at: `interpolationDelayMs` behind the newest snapshot. */
    renderTick(now?: number): number;
    /**
     * An entity's fields as drawn at `now`: its fixed-point and angle fields
     * interpolated at {@link Room.renderTick}, the others current. The own
     * entity is not interpolated: see {@link Room.predicted}.
     */
    interpolated(entity: Entity | number, now?: number, out?: Fields): Fields | undefined;
    /**
     * Turns on prediction of the own entity with the game's rule: each
     * {@link Room.sendInput} is applied at once, and unacknowledged inputs
     * are replayed after each snapshot. For the arena:
     * `room.predict((s, i, dt) => arenaStep(s, i, dt, room.world.size), arenaDistance)`.
     */
    predict(step: StepFn<Fields, Fields>, distance?: (a: Fields, b: Fields) => number): void;
    /** The own entity's predicted fields (its snapshot fields without prediction; undefined when not in view). */
    get predicted(): Readonly<Fields> | undefined;
    /** The last prediction error measured (world units, with a distance function), or undefined. */
    predictionError: number | undefined;
    private syncPrediction;
    private open;
    private receive;
    private onWelcome;
    private onSnapshot;
    private trackPlayer;
    private dispatchMessage;
    private schedulePing;
    private closeSocket;
    private closed;
    private finish;
    private emitError;
    /** Runs a callback; its exception goes to `onError`, not into the decoder. */
    private safely;
}
