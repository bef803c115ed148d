/**
 * A joined room: the connection's session (docs/PROTOCOL.md section 2),
 * the mirrored state, callbacks, inputs and messages, ping, the server tick
 * clock, interpolation, prediction and automatic resume.
 */
import { DecodeError, EncodeError } from "./errors.js";
import { decodeMessage, decodeServer, encodeClient, encodeInputFields, encodeMessage, readFields, SERVER_DECODE_LIMIT, SUBPROTOCOL } from "./codec.js";
import { Mirror } from "./mirror.js";
import { TickClock } from "./clock.js";
import { interpolate } from "./interpolation.js";
import { Predictor } from "./prediction.js";
import { backoffDelay, closeAction, CloseCode } from "./close.js";
import { Reader } from "./varint.js";
/** The room could not be joined. */
export class JoinError extends Error {
    constructor(code, reason) {
        super(`join failed: ${code}${reason ? ` ${reason}` : ""}`);
        this.name = "JoinError";
        this.code = code;
        this.reason = reason;
    }
}
/** A list of callbacks. */
class Listeners {
    constructor() {
        this.list = [];
    }
    add(cb) {
        this.list = [...this.list, cb];
        return () => {
            this.list = this.list.filter((c) => c !== cb);
        };
    }
    get active() {
        return this.list.length > 0;
    }
    emit(...args) {
        for (const cb of this.list)
            cb(...args);
    }
}
const defaultScheduler = {
    now: () => globalThis.performance.now(),
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (h) => globalThis.clearTimeout(h),
    random: () => Math.random(),
};
const OPEN = 1;
/**
 * A room joined through {@link Client.join}. Everything the server sends
 * is applied as it arrives; callbacks fire after the state they report is
 * in place.
 */
export class Room {
    /** @internal Use {@link Client.join}. */
    constructor(url, options, join) {
        /** This client's player (`Welcome.player`). */
        this.player = 0;
        /** The entity this client controls (`Welcome.entity`). */
        this.entityId = 0;
        /** The room's id. */
        this.roomId = 0;
        /** Simulation ticks per second. */
        this.tickRate = 30;
        /** The world's constants. */
        this.world = { size: 0, viewRadius: 0 };
        /** Smoothed round-trip time, ms (NaN before the first pong). */
        this.rtt = Number.NaN;
        this.socket = null;
        this.generation = 0;
        this.mirror = null;
        this.pendingSchemaHash = null;
        this.welcomed = false;
        this.synced = false;
        this.kickedReason = "";
        this.closing = null;
        this.leaving = false;
        this.ended = false;
        this.attempts = 0;
        this.droppedAt = Number.NaN;
        this.retryTimer = null;
        this.pingTimer = null;
        this.inputSeq = 0;
        this.clock = new TickClock(30);
        this.lastResume = false;
        this.playerMap = new Map();
        this.predictor = null;
        this.predictionStep = null;
        this.joined = null;
        this.leaveDone = [];
        this.addCbs = new Listeners();
        this.changeCbs = new Listeners();
        this.removeCbs = new Listeners();
        this.stateCbs = new Listeners();
        this.eventCbs = new Listeners();
        this.messageCbs = new Map();
        this.leaveCbs = new Listeners();
        this.errorCbs = new Listeners();
        this.reconnectingCbs = new Listeners();
        this.reconnectedCbs = new Listeners();
        const WS = options.WebSocket ?? globalThis.WebSocket;
        if (!WS)
            throw new Error("no WebSocket: pass options.WebSocket (in Node: the `ws` package's WebSocket)");
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
                    resumeGraceMs: options.reconnect?.resumeGraceMs ?? 10000,
                };
        this.delayMs = options.interpolationDelayMs ?? 100;
        this.pingMs = options.pingIntervalMs ?? 1000;
        const room = this;
        this.state = {
            get entities() {
                return room.mirror?.entities ?? new Map();
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
    start() {
        return new Promise((resolve, reject) => {
            this.joined = { resolve, reject };
            this.open(this.sessionToken !== null);
        });
    }
    // ---- Callbacks. Each returns a function that unsubscribes.
    /** An entity entered the view. */
    onAdd(cb) {
        return this.addCbs.add(cb);
    }
    /** An entity's fields changed. */
    onChange(cb) {
        return this.changeCbs.add(cb);
    }
    /** An entity left the view (its last values). */
    onRemove(cb) {
        return this.removeCbs.add(cb);
    }
    /** After every snapshot, once its changes are applied. */
    onStateChange(cb) {
        return this.stateCbs.add(cb);
    }
    /** A room event (players joining, leaving, dropping, resuming; the server draining). */
    onEvent(cb) {
        return this.eventCbs.add(cb);
    }
    /** A game message of type `type` from the server (`"*"`: every type). */
    onMessage(type, cb) {
        let l = this.messageCbs.get(type);
        if (!l)
            this.messageCbs.set(type, (l = new Listeners()));
        return l.add(cb);
    }
    /** The room ended for good (after {@link Room.leave}, a final close, or failed reconnection). */
    onLeave(cb) {
        return this.leaveCbs.add(cb);
    }
    /** Alias of {@link Room.onLeave}. */
    onClose(cb) {
        return this.onLeave(cb);
    }
    /** A decode error, a WebSocket error, or a failing callback. */
    onError(cb) {
        return this.errorCbs.add(cb);
    }
    /** The connection dropped and a reconnection is scheduled. */
    onReconnecting(cb) {
        return this.reconnectingCbs.add(cb);
    }
    /** A reconnection succeeded (its first snapshot is applied). */
    onReconnected(cb) {
        return this.reconnectedCbs.add(cb);
    }
    // ---- Sending.
    /** The game's descriptor (after joining). */
    get schema() {
        if (!this.mirror)
            throw new Error("not joined yet");
        return this.mirror.schema;
    }
    /** Whether the connection is up and synchronised. */
    get connected() {
        return this.synced && this.socket?.readyState === OPEN;
    }
    /** The entity this client controls, if in view. */
    get me() {
        return this.mirror?.entities.get(this.entityId);
    }
    sendMsg(msg) {
        const s = this.socket;
        if (!s || s.readyState !== OPEN || !this.welcomed)
            return false;
        s.send(encodeClient(msg));
        return true;
    }
    /** Sends a game message of type `type` (section 10.4). Returns false when not connected. */
    send(type, fields = {}) {
        const layout = this.schema.clientMessagesByName.get(type);
        if (!layout)
            throw new EncodeError(type, "not a client message type of this game");
        return this.sendMsg({ type: "Message", message: encodeMessage(layout, fields) });
    }
    /**
     * Sends one tick of input (section 10.1) with the next sequence number,
     * and predicts it when prediction is on. Returns the sequence number, or
     * 0 when not connected (nothing is sent or predicted then).
     */
    sendInput(fields) {
        const bytes = encodeInputFields(this.schema.input, fields);
        if (!this.connected)
            return 0;
        let seq = (this.inputSeq + 1) >>> 0;
        if (seq === 0)
            seq = 1;
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
    ping() {
        return this.sendMsg({ type: "Ping", clientTime: BigInt(Math.round(this.scheduler.now() * 1000)) });
    }
    /** Leaves the room for good; resolves once the connection is closed. */
    leave() {
        if (this.ended)
            return Promise.resolve();
        const done = new Promise((resolve) => this.leaveDone.push(resolve));
        this.leaving = true;
        if (!this.sendMsg({ type: "Leave" })) {
            this.finish({ code: CloseCode.Normal, reason: "left", consented: true });
        }
        return done;
    }
    // ---- Time, interpolation and prediction.
    /** The server's current tick, estimated (fractional, unwrapped; NaN before the first snapshot). */
    serverTick(now = this.scheduler.now()) {
        const oneWay = Number.isNaN(this.rtt) ? 0 : this.rtt / 2;
        return this.clock.tickAt(now) + (oneWay * this.tickRate) / 1000;
    }
    /** The tick remote entities are drawn at: `interpolationDelayMs` behind the newest snapshot. */
    renderTick(now = this.scheduler.now()) {
        return this.clock.tickAt(now) - (this.delayMs * this.tickRate) / 1000;
    }
    /**
     * An entity's fields as drawn at `now`: its fixed-point and angle fields
     * interpolated at {@link Room.renderTick}, the others current. The own
     * entity is not interpolated: see {@link Room.predicted}.
     */
    interpolated(entity, now = this.scheduler.now(), out) {
        const e = typeof entity === "number" ? this.mirror?.entities.get(entity) : entity;
        if (!e)
            return undefined;
        if (e.id === this.entityId || !this.clock.ready)
            return Object.assign(out ?? {}, e.fields);
        return interpolate(e, this.renderTick(now), out);
    }
    /**
     * Turns on prediction of the own entity with the game's rule: each
     * {@link Room.sendInput} is applied at once, and unacknowledged inputs
     * are replayed after each snapshot. For the arena:
     * `room.predict((s, i, dt) => arenaStep(s, i, dt, room.world.size), arenaDistance)`.
     */
    predict(step, distance) {
        this.predictionStep = step;
        this.predictionDistance = distance;
        this.predictor = null;
        this.syncPrediction(0);
    }
    /** The own entity's predicted fields (its snapshot fields without prediction; undefined when not in view). */
    get predicted() {
        return this.predictor?.state ?? this.me?.fields;
    }
    syncPrediction(ack) {
        const me = this.me;
        if (!this.predictionStep || !me) {
            this.predictor = null;
            return;
        }
        const server = { ...me.fields };
        if (!this.predictor) {
            this.predictor = new Predictor({ step: this.predictionStep, dt: 1 / this.tickRate, initial: server, distance: this.predictionDistance });
        }
        else {
            const error = this.predictor.reconcile(server, ack);
            if (error !== undefined)
                this.predictionError = error;
        }
    }
    // ---- The connection.
    open(resume) {
        const gen = ++this.generation;
        this.welcomed = this.synced = false;
        this.kickedReason = "";
        this.closing = null;
        let socket;
        try {
            socket = new this.WS(this.url, SUBPROTOCOL);
        }
        catch (e) {
            this.emitError(e);
            this.closed(gen, CloseCode.Abnormal, "");
            return;
        }
        socket.binaryType = "arraybuffer";
        this.socket = socket;
        socket.onopen = () => {
            if (gen !== this.generation)
                return;
            const hello = resume
                ? { type: "Hello", name: this.join.name ?? "", resumeToken: this.sessionToken }
                : { type: "Hello", name: this.join.name ?? "", authToken: this.join.token ?? null };
            socket.send(encodeClient(hello));
        };
        socket.onmessage = (ev) => {
            if (gen !== this.generation)
                return;
            const data = ev.data;
            let bytes;
            if (data instanceof ArrayBuffer)
                bytes = new Uint8Array(data);
            else if (ArrayBuffer.isView(data))
                bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
            else
                return; // The server never sends text.
            this.receive(bytes);
        };
        socket.onerror = () => {
            if (gen === this.generation)
                this.emitError(new Error("WebSocket error"));
        };
        socket.onclose = (ev) => {
            this.closed(gen, ev.code ?? CloseCode.Abnormal, ev.reason ?? "");
        };
    }
    receive(bytes) {
        try {
            const msg = decodeServer(bytes);
            switch (msg.type) {
                case "Welcome":
                    this.onWelcome(msg);
                    break;
                case "Schema": {
                    if (msg.schema.hash !== this.pendingSchemaHash)
                        throw new DecodeError("SchemaMismatch");
                    if (!this.mirror || this.mirror.schema.hash !== msg.schema.hash) {
                        const old = this.mirror;
                        this.mirror = new Mirror(msg.schema, { historySize: Math.ceil((this.delayMs * this.tickRate) / 1000) + 6 });
                        if (old)
                            for (const e of old.entities.values())
                                this.safely(() => this.removeCbs.emit(e));
                    }
                    break;
                }
                case "Snapshot": {
                    if (!this.mirror || !this.welcomed)
                        throw new DecodeError("Malformed", {}, "snapshot before Welcome and Schema");
                    this.onSnapshot(this.mirror.apply(msg));
                    break;
                }
                case "Pong": {
                    const sample = this.scheduler.now() - Number(msg.clientTime) / 1000;
                    if (sample >= 0)
                        this.rtt = Number.isNaN(this.rtt) ? sample : this.rtt + (sample - this.rtt) * 0.25;
                    break;
                }
                case "Kicked":
                    this.kickedReason = msg.reason;
                    break;
                case "Message":
                    if (this.mirror)
                        this.dispatchMessage(decodeMessage(msg.message, this.mirror.schema.serverMessages));
                    break;
            }
        }
        catch (e) {
            if (!(e instanceof DecodeError))
                throw e;
            // A message that does not decode: keep the view, drop this connection, resume.
            this.emitError(e);
            const action = e.code === "SchemaMismatch" ? "final" : "resume";
            this.closeSocket(4000, e.message.slice(0, 100), action);
        }
    }
    onWelcome(w) {
        if (this.welcomed)
            throw new DecodeError("Malformed", {}, "duplicate Welcome");
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
    onSnapshot(applied) {
        const first = !this.synced;
        this.synced = true;
        this.clock.observe(this.mirror.serial, this.scheduler.now());
        for (const ev of applied.events)
            this.trackPlayer(ev);
        this.syncPrediction(applied.ackInputSeq);
        for (const e of applied.removed)
            this.safely(() => this.removeCbs.emit(e));
        for (const e of applied.added)
            this.safely(() => this.addCbs.emit(e));
        if (this.changeCbs.active)
            for (const e of applied.changed)
                this.safely(() => this.changeCbs.emit(e));
        for (const ev of applied.events)
            this.safely(() => this.eventCbs.emit(ev));
        for (const m of applied.messages)
            this.dispatchMessage(m);
        this.safely(() => this.stateCbs.emit(this.state));
        if (first) {
            this.attempts = 0;
            this.droppedAt = Number.NaN;
            if (this.pingMs > 0)
                this.schedulePing();
            if (this.joined) {
                const { resolve } = this.joined;
                this.joined = null;
                resolve(this);
            }
            else {
                this.safely(() => this.reconnectedCbs.emit({ resumed: this.lastResume }));
            }
        }
    }
    trackPlayer(ev) {
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
                if (p)
                    players.set(ev.player, { ...p, connected: ev.type === "PlayerResumed" });
                break;
            }
            case "ServerDraining":
                break;
        }
    }
    dispatchMessage(m) {
        this.safely(() => this.messageCbs.get(m.type)?.emit(m.fields, m.type));
        this.safely(() => this.messageCbs.get("*")?.emit(m.fields, m.type));
    }
    schedulePing() {
        const gen = this.generation;
        this.pingTimer = this.scheduler.setTimeout(() => {
            if (gen !== this.generation || this.ended)
                return;
            this.ping();
            this.schedulePing();
        }, this.pingMs);
    }
    closeSocket(code, reason, action) {
        this.closing = { action, code, reason };
        const s = this.socket;
        try {
            s?.close(code, reason);
        }
        finally {
            // Do not wait for the close handshake: this connection is done.
            this.closed(this.generation, code, reason);
        }
    }
    closed(gen, code, reason) {
        if (gen !== this.generation || this.ended)
            return;
        this.generation++;
        this.socket = null;
        this.synced = this.welcomed = false;
        if (this.pingTimer !== null)
            this.scheduler.clearTimeout(this.pingTimer);
        this.pingTimer = null;
        const why = reason || this.kickedReason;
        const action = this.leaving ? "final" : (this.closing?.action ?? closeAction(code, why));
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
        if (Number.isNaN(this.droppedAt))
            this.droppedAt = this.scheduler.now();
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
            if (this.ended)
                return;
            this.lastResume = resume;
            this.open(resume);
        }, delayMs);
    }
    finish(info) {
        if (this.ended)
            return;
        this.ended = true;
        this.generation++;
        if (this.retryTimer !== null)
            this.scheduler.clearTimeout(this.retryTimer);
        if (this.pingTimer !== null)
            this.scheduler.clearTimeout(this.pingTimer);
        const s = this.socket;
        this.socket = null;
        if (s && s.readyState === OPEN)
            s.close(CloseCode.Normal, "");
        this.safely(() => this.leaveCbs.emit(info));
        for (const done of this.leaveDone.splice(0))
            done();
    }
    emitError(e) {
        const err = e instanceof Error ? e : new Error(String(e));
        if (this.errorCbs.active)
            this.errorCbs.emit(err);
    }
    /** Runs a callback; its exception goes to `onError`, not into the decoder. */
    safely(fn) {
        try {
            fn();
        }
        catch (e) {
            this.emitError(e);
        }
    }
}
