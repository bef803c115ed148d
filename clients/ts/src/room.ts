/**
 * A joined room: the connection's session (docs/PROTOCOL.md section 2),
 * the mirrored state, callbacks, inputs and messages, ping, the server tick
 * clock, interpolation, prediction and automatic resume.
 */

import { DecodeError, EncodeError } from "./errors.js";
import { decodeMessage, decodeServer, encodeClient, encodeInputFields, encodeMessage, readFields, SERVER_DECODE_LIMIT, SUBPROTOCOL } from "./codec.js";
import type { ClientMsg, FieldValue, Fields, GameMessage, ServerEvent, Welcome, WorldInfo } from "./codec.js";
import { Mirror, type Applied, type Entity } from "./mirror.js";
import type { CompiledSchema } from "./schema.js";
import { TickClock } from "./clock.js";
import { interpolate } from "./interpolation.js";
import { Predictor, type StepFn } from "./prediction.js";
import { backoffDelay, closeAction, CloseCode, type CloseAction } from "./close.js";
import { Reader } from "./varint.js";

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
export class JoinError extends Error {
  override readonly name = "JoinError";
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string) {
    super(`join failed: ${code}${reason ? ` ${reason}` : ""}`);
    this.code = code;
    this.reason = reason;
  }
}

/** A list of callbacks. */
class Listeners<A extends unknown[]> {
  private list: ((...args: A) => void)[] = [];
  add(cb: (...args: A) => void): () => void {
    this.list = [...this.list, cb];
    return () => {
      this.list = this.list.filter((c) => c !== cb);
    };
  }
  get active(): boolean {
    return this.list.length > 0;
  }
  emit(...args: A): void {
    for (const cb of this.list) cb(...args);
  }
}

const defaultScheduler: Scheduler = {
  now: () => globalThis.performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

const OPEN = 1;

/** Why the current connection is being closed by the client. */
type Closing = { action: CloseAction; code: number; reason: string } | null;

/**
 * A room joined through {@link Client.join}. Everything the server sends
 * is applied as it arrives; callbacks fire after the state they report is
 * in place.
 */
export class Room {
  /** This client's player (`Welcome.player`). */
  player = 0;
  /** The entity this client controls (`Welcome.entity`). */
  entityId = 0;
  /** The room's id. */
  roomId = 0;
  /** Simulation ticks per second. */
  tickRate = 30;
  /** The world's constants. */
  world: WorldInfo = { size: 0, viewRadius: 0 };
  /** Smoothed round-trip time, ms (NaN before the first pong). */
  rtt = Number.NaN;

  private readonly url: string;
  private readonly WS: WebSocketConstructor;
  private readonly join: JoinOptions;
  private readonly scheduler: Scheduler;
  private readonly reconnect: Required<ReconnectOptions> | null;
  private readonly delayMs: number;
  private readonly pingMs: number;

  private socket: WebSocketLike | null = null;
  private generation = 0;
  private mirror: Mirror | null = null;
  private pendingSchemaHash: bigint | null = null;
  private welcomed = false;
  private synced = false;
  private sessionToken: Uint8Array | null;
  private kickedReason = "";
  private closing: Closing = null;
  private leaving = false;
  private ended = false;
  private attempts = 0;
  private droppedAt = Number.NaN;
  private retryTimer: unknown = null;
  private pingTimer: unknown = null;
  private inputSeq = 0;
  private clock = new TickClock(30);
  private lastResume = false;
  private readonly playerMap = new Map<number, Player>();
  private predictor: Predictor<Fields, Fields> | null = null;
  private predictionStep: StepFn<Fields, Fields> | null = null;
  private predictionDistance: ((a: Fields, b: Fields) => number) | undefined;
  private joined: { resolve: (room: Room) => void; reject: (e: Error) => void } | null = null;
  private leaveDone: (() => void)[] = [];

  private readonly addCbs = new Listeners<[Entity]>();
  private readonly changeCbs = new Listeners<[Entity]>();
  private readonly removeCbs = new Listeners<[Entity]>();
  private readonly stateCbs = new Listeners<[RoomState]>();
  private readonly eventCbs = new Listeners<[ServerEvent]>();
  private readonly messageCbs = new Map<string, Listeners<[Fields, string]>>();
  private readonly leaveCbs = new Listeners<[LeaveInfo]>();
  private readonly errorCbs = new Listeners<[Error]>();
  private readonly reconnectingCbs = new Listeners<[ReconnectInfo]>();
  private readonly reconnectedCbs = new Listeners<[{ resumed: boolean }]>();

  /** The room as this client sees it. */
  readonly state: RoomState;

  /** @internal Use {@link Client.join}. */
  constructor(url: string, options: ClientOptions, join: JoinOptions) {
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new Error("no WebSocket: pass options.WebSocket (in Node: the `ws` package's WebSocket)");
    this.url = url;
    this.WS = WS;
    this.join = join;
    this.sessionToken = join.resumeToken ?? null;
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.reconnect =
      options.reconnect === false
        ? null
        : {
            initialDelayMs: options.reconnect?.initialDelayMs ?? 250,
            maxDelayMs: options.reconnect?.maxDelayMs ?? 5000,
            maxAttempts: options.reconnect?.maxAttempts ?? 10,
            resumeGraceMs: options.reconnect?.resumeGraceMs ?? 10_000,
          };
    this.delayMs = options.interpolationDelayMs ?? 100;
    this.pingMs = options.pingIntervalMs ?? 1000;
    const room = this;
    this.state = {
      get entities() {
        return room.mirror?.entities ?? new Map<number, Entity>();
      },
      get fields() {
        return room.mirror?.state ?? {};
      },
      get players() {
        return room.playerMap;
      },
      get tick() {
        return room.mirror?.tick ?? 0;
      },
    };
  }

  /** @internal Connects; resolves with the room once its first snapshot is applied. */
  start(): Promise<Room> {
    return new Promise((resolve, reject) => {
      this.joined = { resolve, reject };
      this.open(this.sessionToken !== null);
    });
  }

  // ---- Callbacks. Each returns a function that unsubscribes.

  /** An entity entered the view. */
  onAdd(cb: (entity: Entity) => void): () => void {
    return this.addCbs.add(cb);
  }
  /** An entity's fields changed. */
  onChange(cb: (entity: Entity) => void): () => void {
    return this.changeCbs.add(cb);
  }
  /** An entity left the view (its last values). */
  onRemove(cb: (entity: Entity) => void): () => void {
    return this.removeCbs.add(cb);
  }
  /** After every snapshot, once its changes are applied. */
  onStateChange(cb: (state: RoomState) => void): () => void {
    return this.stateCbs.add(cb);
  }
  /** A room event (players joining, leaving, dropping, resuming; the server draining). */
  onEvent(cb: (event: ServerEvent) => void): () => void {
    return this.eventCbs.add(cb);
  }
  /** A game message of type `type` from the server (`"*"`: every type). */
  onMessage(type: string, cb: (fields: Fields, type: string) => void): () => void {
    let l = this.messageCbs.get(type);
    if (!l) this.messageCbs.set(type, (l = new Listeners()));
    return l.add(cb);
  }
  /** The room ended for good (after {@link Room.leave}, a final close, or failed reconnection). */
  onLeave(cb: (info: LeaveInfo) => void): () => void {
    return this.leaveCbs.add(cb);
  }
  /** Alias of {@link Room.onLeave}. */
  onClose(cb: (info: LeaveInfo) => void): () => void {
    return this.onLeave(cb);
  }
  /** A decode error, a WebSocket error, or a failing callback. */
  onError(cb: (error: Error) => void): () => void {
    return this.errorCbs.add(cb);
  }
  /** The connection dropped and a reconnection is scheduled. */
  onReconnecting(cb: (info: ReconnectInfo) => void): () => void {
    return this.reconnectingCbs.add(cb);
  }
  /** A reconnection succeeded (its first snapshot is applied). */
  onReconnected(cb: (info: { resumed: boolean }) => void): () => void {
    return this.reconnectedCbs.add(cb);
  }

  // ---- Sending.

  /** The game's descriptor (after joining). */
  get schema(): CompiledSchema {
    if (!this.mirror) throw new Error("not joined yet");
    return this.mirror.schema;
  }

  /** Whether the connection is up and synchronised. */
  get connected(): boolean {
    return this.synced && this.socket?.readyState === OPEN;
  }

  /** The entity this client controls, if in view. */
  get me(): Entity | undefined {
    return this.mirror?.entities.get(this.entityId);
  }

  private sendMsg(msg: ClientMsg): boolean {
    const s = this.socket;
    if (!s || s.readyState !== OPEN || !this.welcomed) return false;
    s.send(encodeClient(msg));
    return true;
  }

  /** Sends a game message of type `type` (section 10.4). Returns false when not connected. */
  send(type: string, fields: Readonly<Record<string, FieldValue | null | undefined>> = {}): boolean {
    const layout = this.schema.clientMessagesByName.get(type);
    if (!layout) throw new EncodeError(type, "not a client message type of this game");
    return this.sendMsg({ type: "Message", message: encodeMessage(layout, fields) });
  }

  /**
   * Sends one tick of input (section 10.1) with the next sequence number,
   * and predicts it when prediction is on. Returns the sequence number, or
   * 0 when not connected (nothing is sent or predicted then).
   */
  sendInput(fields: Readonly<Record<string, FieldValue | null | undefined>>): number {
    const bytes = encodeInputFields(this.schema.input, fields);
    if (!this.connected) return 0;
    let seq = (this.inputSeq + 1) >>> 0;
    if (seq === 0) seq = 1;
    this.sendMsg({ type: "Input", seq, fields: bytes });
    this.inputSeq = seq;
    if (this.predictor) {
      // Predict with what the server will decode, not the local floats.
      const quantised = readFields(new Reader(bytes, SERVER_DECODE_LIMIT), this.schema.input);
      this.predictor.predict(seq, quantised);
    }
    return seq;
  }

  /** Sends a ping now (pings also go out every `pingIntervalMs`). */
  ping(): boolean {
    return this.sendMsg({ type: "Ping", clientTime: BigInt(Math.round(this.scheduler.now() * 1000)) });
  }

  /** Leaves the room for good; resolves once the connection is closed. */
  leave(): Promise<void> {
    if (this.ended) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.leaveDone.push(resolve));
    this.leaving = true;
    if (!this.sendMsg({ type: "Leave" })) {
      this.finish({ code: CloseCode.Normal, reason: "left", consented: true });
    }
    return done;
  }

  // ---- Time, interpolation and prediction.

  /** The server's current tick, estimated (fractional, unwrapped; NaN before the first snapshot). */
  serverTick(now = this.scheduler.now()): number {
    const oneWay = Number.isNaN(this.rtt) ? 0 : this.rtt / 2;
    return this.clock.tickAt(now) + (oneWay * this.tickRate) / 1000;
  }

  /** The tick remote entities are drawn at: `interpolationDelayMs` behind the newest snapshot. */
  renderTick(now = this.scheduler.now()): number {
    return this.clock.tickAt(now) - (this.delayMs * this.tickRate) / 1000;
  }

  /**
   * An entity's fields as drawn at `now`: its fixed-point and angle fields
   * interpolated at {@link Room.renderTick}, the others current. The own
   * entity is not interpolated: see {@link Room.predicted}.
   */
  interpolated(entity: Entity | number, now = this.scheduler.now(), out?: Fields): Fields | undefined {
    const e = typeof entity === "number" ? this.mirror?.entities.get(entity) : entity;
    if (!e) return undefined;
    if (e.id === this.entityId || !this.clock.ready) return Object.assign(out ?? {}, e.fields);
    return interpolate(e, this.renderTick(now), out);
  }

  /**
   * Turns on prediction of the own entity with the game's rule: each
   * {@link Room.sendInput} is applied at once, and unacknowledged inputs
   * are replayed after each snapshot. For the arena:
   * `room.predict((s, i, dt) => arenaStep(s, i, dt, room.world.size), arenaDistance)`.
   */
  predict(step: StepFn<Fields, Fields>, distance?: (a: Fields, b: Fields) => number): void {
    this.predictionStep = step;
    this.predictionDistance = distance;
    this.predictor = null;
    this.syncPrediction(0);
  }

  /** The own entity's predicted fields (its snapshot fields without prediction; undefined when not in view). */
  get predicted(): Readonly<Fields> | undefined {
    return this.predictor?.state ?? this.me?.fields;
  }

  /** The last prediction error measured (world units, with a distance function), or undefined. */
  predictionError: number | undefined;

  private syncPrediction(ack: number): void {
    const me = this.me;
    if (!this.predictionStep || !me) {
      this.predictor = null;
      return;
    }
    const server = { ...me.fields };
    if (!this.predictor) {
      this.predictor = new Predictor({ step: this.predictionStep, dt: 1 / this.tickRate, initial: server, distance: this.predictionDistance });
    } else {
      const error = this.predictor.reconcile(server, ack);
      if (error !== undefined) this.predictionError = error;
    }
  }

  // ---- The connection.

  private open(resume: boolean): void {
    const gen = ++this.generation;
    this.welcomed = this.synced = false;
    this.kickedReason = "";
    this.closing = null;
    let socket: WebSocketLike;
    try {
      socket = new this.WS(this.url, SUBPROTOCOL);
    } catch (e) {
      this.emitError(e);
      this.closed(gen, CloseCode.Abnormal, "");
      return;
    }
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      if (gen !== this.generation) return;
      const hello: ClientMsg = resume
        ? { type: "Hello", name: this.join.name ?? "", resumeToken: this.sessionToken }
        : { type: "Hello", name: this.join.name ?? "", authToken: this.join.token ?? null };
      socket.send(encodeClient(hello));
    };
    socket.onmessage = (ev: { data: unknown }) => {
      if (gen !== this.generation) return;
      const data = ev.data;
      let bytes: Uint8Array;
      if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
      else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      else return; // The server never sends text.
      this.receive(bytes);
    };
    socket.onerror = () => {
      if (gen === this.generation) this.emitError(new Error("WebSocket error"));
    };
    socket.onclose = (ev: { code?: number; reason?: string }) => {
      this.closed(gen, ev.code ?? CloseCode.Abnormal, ev.reason ?? "");
    };
  }

  private receive(bytes: Uint8Array): void {
    try {
      const msg = decodeServer(bytes);
      switch (msg.type) {
        case "Welcome":
          this.onWelcome(msg);
          break;
        case "Schema": {
          if (msg.schema.hash !== this.pendingSchemaHash) throw new DecodeError("SchemaMismatch");
          if (!this.mirror || this.mirror.schema.hash !== msg.schema.hash) {
            const old = this.mirror;
            this.mirror = new Mirror(msg.schema, { historySize: Math.ceil((this.delayMs * this.tickRate) / 1000) + 6 });
            if (old) for (const e of old.entities.values()) this.safely(() => this.removeCbs.emit(e));
          }
          break;
        }
        case "Snapshot": {
          if (!this.mirror || !this.welcomed) throw new DecodeError("Malformed", {}, "snapshot before Welcome and Schema");
          this.onSnapshot(this.mirror.apply(msg));
          break;
        }
        case "Pong": {
          const sample = this.scheduler.now() - Number(msg.clientTime) / 1000;
          if (sample >= 0) this.rtt = Number.isNaN(this.rtt) ? sample : this.rtt + (sample - this.rtt) * 0.25;
          break;
        }
        case "Kicked":
          this.kickedReason = msg.reason;
          break;
        case "Message":
          if (this.mirror) this.dispatchMessage(decodeMessage(msg.message, this.mirror.schema.serverMessages));
          break;
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      // A message that does not decode: keep the view, drop this connection, resume.
      this.emitError(e);
      const action: CloseAction = e.code === "SchemaMismatch" ? "final" : "resume";
      this.closeSocket(4000, e.message.slice(0, 100), action);
    }
  }

  private onWelcome(w: Welcome): void {
    if (this.welcomed) throw new DecodeError("Malformed", {}, "duplicate Welcome");
    this.welcomed = true;
    this.player = w.player;
    this.entityId = w.entity;
    this.roomId = w.room;
    this.tickRate = Math.max(1, w.tickRate);
    this.world = w.world;
    this.sessionToken = w.sessionToken;
    this.pendingSchemaHash = w.schemaHash;
    // A new connection: its snapshots start a new chain (the view is kept
    // until its complete snapshot replaces it), its inputs a new sequence.
    this.mirror?.restart();
    this.clock = new TickClock(this.tickRate);
    this.predictor = null;
  }

  private onSnapshot(applied: Applied): void {
    const first = !this.synced;
    this.synced = true;
    this.clock.observe(this.mirror!.serial, this.scheduler.now());
    for (const ev of applied.events) this.trackPlayer(ev);
    this.syncPrediction(applied.ackInputSeq);
    for (const e of applied.removed) this.safely(() => this.removeCbs.emit(e));
    for (const e of applied.added) this.safely(() => this.addCbs.emit(e));
    if (this.changeCbs.active) for (const e of applied.changed) this.safely(() => this.changeCbs.emit(e));
    for (const ev of applied.events) this.safely(() => this.eventCbs.emit(ev));
    for (const m of applied.messages) this.dispatchMessage(m);
    this.safely(() => this.stateCbs.emit(this.state));
    if (first) {
      this.attempts = 0;
      this.droppedAt = Number.NaN;
      if (this.pingMs > 0) this.schedulePing();
      if (this.joined) {
        const { resolve } = this.joined;
        this.joined = null;
        resolve(this);
      } else {
        this.safely(() => this.reconnectedCbs.emit({ resumed: this.lastResume }));
      }
    }
  }

  private trackPlayer(ev: ServerEvent): void {
    const players = this.playerMap;
    switch (ev.type) {
      case "PlayerJoined":
        players.set(ev.player, { id: ev.player, entity: ev.entity, name: ev.name, connected: true });
        break;
      case "PlayerLeft":
        players.delete(ev.player);
        break;
      case "PlayerDropped":
      case "PlayerResumed": {
        const p = players.get(ev.player);
        if (p) players.set(ev.player, { ...p, connected: ev.type === "PlayerResumed" });
        break;
      }
      case "ServerDraining":
        break;
    }
  }

  private dispatchMessage(m: GameMessage): void {
    this.safely(() => this.messageCbs.get(m.type)?.emit(m.fields, m.type));
    this.safely(() => this.messageCbs.get("*")?.emit(m.fields, m.type));
  }

  private schedulePing(): void {
    const gen = this.generation;
    this.pingTimer = this.scheduler.setTimeout(() => {
      if (gen !== this.generation || this.ended) return;
      this.ping();
      this.schedulePing();
    }, this.pingMs);
  }

  private closeSocket(code: number, reason: string, action: CloseAction): void {
    this.closing = { action, code, reason };
    const s = this.socket;
    try {
      s?.close(code, reason);
    } finally {
      // Do not wait for the close handshake: this connection is done.
      this.closed(this.generation, code, reason);
    }
  }

  private closed(gen: number, code: number, reason: string): void {
    if (gen !== this.generation || this.ended) return;
    this.generation++;
    this.socket = null;
    this.synced = this.welcomed = false;
    if (this.pingTimer !== null) this.scheduler.clearTimeout(this.pingTimer);
    this.pingTimer = null;
    const why = reason || this.kickedReason;
    const action: CloseAction = this.leaving ? "final" : (this.closing?.action ?? closeAction(code, why));
    if (this.joined) {
      // Never joined: the caller decides whether to retry.
      const { reject } = this.joined;
      this.joined = null;
      this.ended = true;
      reject(new JoinError(code, why));
      return;
    }
    if (action === "final" || !this.reconnect) {
      this.finish({ code, reason: why, consented: this.leaving });
      return;
    }
    if (Number.isNaN(this.droppedAt)) this.droppedAt = this.scheduler.now();
    this.attempts++;
    if (this.attempts > this.reconnect.maxAttempts) {
      this.finish({ code, reason: why, consented: false });
      return;
    }
    const withinGrace = this.scheduler.now() - this.droppedAt < this.reconnect.resumeGraceMs;
    const resume = action === "resume" && withinGrace && this.sessionToken !== null;
    const delayMs = backoffDelay(this.attempts, this.reconnect.initialDelayMs, this.reconnect.maxDelayMs, this.scheduler.random());
    this.safely(() => this.reconnectingCbs.emit({ attempt: this.attempts, delayMs, resume, code, reason: why }));
    this.retryTimer = this.scheduler.setTimeout(() => {
      this.retryTimer = null;
      if (this.ended) return;
      this.lastResume = resume;
      this.open(resume);
    }, delayMs);
  }

  private finish(info: LeaveInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.generation++;
    if (this.retryTimer !== null) this.scheduler.clearTimeout(this.retryTimer);
    if (this.pingTimer !== null) this.scheduler.clearTimeout(this.pingTimer);
    const s = this.socket;
    this.socket = null;
    if (s && s.readyState === OPEN) s.close(CloseCode.Normal, "");
    this.safely(() => this.leaveCbs.emit(info));
    for (const done of this.leaveDone.splice(0)) done();
  }

  private emitError(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.errorCbs.active) this.errorCbs.emit(err);
  }

  /** Runs a callback; its exception goes to `onError`, not into the decoder. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.emitError(e);
    }
  }
}
