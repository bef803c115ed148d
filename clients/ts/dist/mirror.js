/**
 * The client's copy of its view (docs/PROTOCOL.md sections 8 and 9): the
 * entities it sees and the room state, kept up to date by applying each
 * snapshot, decoded with the schema descriptor alone.
 *
 * A snapshot is applied in two phases: every byte is read and checked
 * against the current view first, into scratch lists; only then is the view
 * changed. A snapshot that fails (a {@link DecodeError}) leaves the view
 * exactly as it was.
 */
import { DecodeError } from "./errors.js";
import { SERVER_DECODE_LIMIT, fieldValue, applyZigzag, readEvents, readMessage } from "./codec.js";
import { Conv } from "./schema.js";
import { History } from "./interpolation.js";
import { Reader, decodeUtf8 } from "./varint.js";
/** An entity as the mirror keeps it. */
export class EntityRecord {
    constructor(id, layout, owner, zero, historySize) {
        this.id = id;
        this.kind = layout.name;
        this.kindIndex = layout.index;
        this.owner = owner;
        this.fields = { ...zero };
        this.raw = new Float64Array(layout.slots.length);
        this.layout = layout;
        this.history = layout.interpolated.length > 0 ? new History(layout.interpolated.length, historySize) : null;
    }
}
/** The values every field has against the zero baseline. */
function zeroFields(layout) {
    const out = {};
    for (const s of layout.slots)
        out[s.name] = s.conv === Conv.Str ? "" : fieldValue(s, 0);
    return out;
}
/** Growable scratch of changes: (slot, number) or (slot, string). */
class ChangeLog {
    constructor() {
        this.slot = [];
        this.num = [];
        this.str = [];
        this.n = 0;
    }
    push(slot, num, str) {
        const i = this.n++;
        this.slot[i] = slot;
        this.num[i] = num;
        this.str[i] = str;
    }
}
/** A mirror of one client's view of a room. */
export class Mirror {
    constructor(schema, options = {}) {
        /** The view's entities by id. */
        this.entities = new Map();
        /** The newest applied snapshot's tick; 0 before the first. */
        this.tick = 0;
        /** {@link Mirror.tick} unwrapped (it keeps growing past 2^32); 0 before the first. */
        this.serial = 0;
        /** The input `seq` the newest snapshot acknowledged (0 before any). */
        this.ack = 0;
        // Scratch, kept between snapshots.
        this.log = new ChangeLog();
        this.removedIds = [];
        this.updates = [];
        this.updateEnd = [];
        this.spawns = [];
        this.spawnEnd = [];
        this.added = [];
        this.changed = [];
        this.removed = [];
        this.schema = schema;
        this.historySize = Math.max(2, options.historySize ?? 8);
        this.zero = schema.kinds.map(zeroFields);
        this.state = zeroFields(schema.state);
        this.stateRaw = new Float64Array(schema.state.slots.length);
    }
    /**
     * Takes the next complete snapshot as a first one, whatever its tick (a
     * new connection starts a new chain); the view stays until it replaces it.
     */
    restart() {
        this.tick = 0;
    }
    /** The entity with this id, if in view. */
    get(id) {
        return this.entities.get(id);
    }
    /**
     * Reads one change (section 8.1) against `base` (`null`: the zero
     * baseline) into the log. Refuses what the encoder never writes (8.2).
     */
    readChange(r, layout, baseRaw, baseFields, nonzero) {
        r.mask();
        let lo = r.maskLo;
        let hi = r.maskHi;
        const slots = layout.slots;
        const n = slots.length;
        if (n < 32 ? hi !== 0 || lo >>> n !== 0 : n < 64 && hi >>> (n - 32) !== 0)
            throw new DecodeError("Malformed");
        if (nonzero && lo === 0 && hi === 0)
            throw new DecodeError("Malformed");
        if (baseRaw === null && ((~lo & layout.nonZeroLo) !== 0 || (~hi & layout.nonZeroHi) !== 0)) {
            // From zero, an absent field is 0: it must be valid.
            throw new DecodeError("Malformed");
        }
        const log = this.log;
        for (let word = 0; word < 2; word++) {
            let m = word === 0 ? lo : hi;
            while (m !== 0) {
                const bit = 31 - Math.clz32(m & -m);
                m &= m - 1;
                const i = word * 32 + bit;
                const slot = slots[i];
                if (slot.conv === Conv.Str) {
                    const len = r.len();
                    if (len > slot.max)
                        throw new DecodeError("Malformed");
                    const s = decodeUtf8(r.raw(len), "Malformed");
                    const old = baseFields === null ? "" : baseFields[slot.name];
                    if (s === old)
                        throw new DecodeError("Malformed");
                    log.push(i, 0, s);
                }
                else {
                    const z = r.u32();
                    if (z === 0)
                        throw new DecodeError("Malformed");
                    const v = applyZigzag(slot, baseRaw === null ? 0 : baseRaw[i], z);
                    if (v === undefined || v < slot.min || v > slot.max)
                        throw new DecodeError("Malformed");
                    log.push(i, v, null);
                }
            }
        }
    }
    /**
     * Applies a snapshot. A complete one (`baseTick` 0) replaces the view; a
     * delta must be based on the view's tick. On error the view is unchanged.
     */
    apply(head) {
        const complete = head.baseTick === 0;
        if (this.tick !== 0 && ((head.tick - this.tick) | 0) <= 0)
            throw new DecodeError("Stale");
        if (!complete && head.baseTick !== this.tick)
            throw new DecodeError("BaseMismatch");
        const schema = this.schema;
        const r = new Reader(head.bytes, SERVER_DECODE_LIMIT, head.bodyStart);
        const log = this.log;
        log.n = 0;
        // Room state.
        const st = schema.state;
        if (st.slots.length > 0) {
            this.readChange(r, st, complete ? null : this.stateRaw, complete ? null : this.state, false);
        }
        const stateEnd = log.n;
        // Removed.
        const view = this.entities;
        const removedIds = this.removedIds;
        const nRemoved = r.len();
        let prev = 0;
        for (let k = 0; k < nRemoved; k++) {
            prev = nextId(prev, r.u32());
            removedIds[k] = prev;
        }
        const has = (id) => !complete && view.has(id);
        // Updated.
        const nUpdated = r.len();
        const updates = this.updates;
        const updateEnd = this.updateEnd;
        let ri = 0;
        prev = 0;
        for (let k = 0; k < nUpdated; k++) {
            const id = (prev = nextId(prev, r.u32()));
            for (; ri < nRemoved && removedIds[ri] < id; ri++) {
                if (!has(removedIds[ri]))
                    throw new DecodeError("Missing", { entity: removedIds[ri] });
            }
            const e = complete ? undefined : view.get(id);
            if (e === undefined || (ri < nRemoved && removedIds[ri] === id))
                throw new DecodeError("Missing", { entity: id });
            this.readChange(r, e.layout, e.raw, e.fields, true);
            updates[k] = e;
            updateEnd[k] = log.n;
        }
        for (; ri < nRemoved; ri++) {
            if (!has(removedIds[ri]))
                throw new DecodeError("Missing", { entity: removedIds[ri] });
        }
        // Spawned.
        const nSpawned = r.len();
        const kinds = schema.kinds;
        const spawns = this.spawns;
        const spawnEnd = this.spawnEnd;
        prev = 0;
        for (let k = 0; k < nSpawned; k++) {
            const id = (prev = nextId(prev, r.u32()));
            const kind = kinds.length > 1 ? r.u32() : 0;
            const owner = r.u32();
            const layout = kinds[kind];
            if (layout === undefined)
                throw new DecodeError("Malformed");
            this.readChange(r, layout, null, null, false);
            spawns[k] = new EntityRecord(id, layout, owner, this.zero[kind], this.historySize);
            spawnEnd[k] = log.n;
        }
        // A spawned id must not still be in view (in it, and not removed).
        ri = 0;
        for (let k = 0; k < nSpawned; k++) {
            const id = spawns[k].id;
            while (ri < nRemoved && removedIds[ri] < id)
                ri++;
            if (has(id) && !(ri < nRemoved && removedIds[ri] === id))
                throw new DecodeError("AlreadyPresent", { entity: id });
        }
        // Events and game messages.
        const events = [];
        readEvents(r, events);
        const messages = [];
        if (schema.serverMessages.length > 0) {
            const n = r.len();
            for (let k = 0; k < n; k++)
                messages.push(readMessage(r, schema.serverMessages));
        }
        r.finish();
        // Accepted: change the view.
        const added = this.added;
        const changed = this.changed;
        const removed = this.removed;
        added.length = changed.length = removed.length = 0;
        const prevSerial = this.serial;
        const serial = this.tick === 0 ? head.tick : prevSerial + ((head.tick - this.tick) | 0);
        const stateChanged = stateEnd > 0;
        if (complete)
            this.stateRaw.fill(0);
        const zeroState = complete ? zeroFields(st) : null;
        if (zeroState)
            Object.assign(this.state, zeroState);
        applyLog(log, 0, stateEnd, st, this.stateRaw, this.state);
        let start = stateEnd;
        for (let k = 0; k < nUpdated; k++) {
            const e = updates[k];
            const end = updateEnd[k];
            applyLog(log, start, end, e.layout, e.raw, e.fields);
            start = end;
            e.history?.record(e.layout, e.raw, prevSerial, serial);
            changed.push(e);
        }
        for (let k = 0; k < nRemoved; k++) {
            const e = view.get(removedIds[k]);
            view.delete(e.id);
            removed.push(e);
        }
        if (complete)
            this.replaceView(nSpawned, start, serial, added, changed, removed);
        else {
            for (let k = 0; k < nSpawned; k++) {
                const e = spawns[k];
                const end = spawnEnd[k];
                applyLog(log, start, end, e.layout, e.raw, e.fields);
                start = end;
                e.history?.record(e.layout, e.raw, serial, serial);
                view.set(e.id, e);
                added.push(e);
            }
        }
        updates.length = spawns.length = 0;
        this.tick = head.tick;
        this.serial = serial;
        // Section 9.3: the ack travels as the gap from the baseline's.
        this.ack = complete ? head.ackGap : (this.ack + head.ackGap) >>> 0;
        return {
            tick: head.tick,
            baseTick: head.baseTick,
            ackInputSeq: this.ack,
            added,
            changed,
            removed,
            stateChanged: stateChanged || complete,
            events,
            messages,
        };
    }
    /**
     * A complete snapshot's spawns become the view. An entity already in view
     * with the same kind keeps its object (and is reported changed if its
     * values differ); the others are removed and added.
     */
    replaceView(nSpawned, start, serial, added, changed, removed) {
        const view = this.entities;
        const old = new Map(view);
        view.clear();
        for (let k = 0; k < nSpawned; k++) {
            const fresh = this.spawns[k];
            const end = this.spawnEnd[k];
            applyLog(this.log, start, end, fresh.layout, fresh.raw, fresh.fields);
            start = end;
            const kept = old.get(fresh.id);
            if (kept !== undefined && kept.kindIndex === fresh.kindIndex) {
                old.delete(fresh.id);
                let differs = kept.owner !== fresh.owner;
                for (const name of fresh.layout.names)
                    differs || (differs = kept.fields[name] !== fresh.fields[name]);
                if (differs) {
                    kept.owner = fresh.owner;
                    kept.raw.set(fresh.raw);
                    Object.assign(kept.fields, fresh.fields);
                    changed.push(kept);
                }
                kept.history?.record(kept.layout, kept.raw, serial, serial);
                view.set(kept.id, kept);
            }
            else {
                fresh.history?.record(fresh.layout, fresh.raw, serial, serial);
                view.set(fresh.id, fresh);
                added.push(fresh);
            }
        }
        for (const e of old.values())
            removed.push(e);
    }
}
/** The id after `prev` by a gap (section 8.3): gaps are never 0, ids never pass 2^32 - 1. */
function nextId(prev, gap) {
    const id = prev + gap;
    if (gap === 0 || id > 0xffffffff)
        throw new DecodeError("Malformed");
    return id;
}
/** Writes the logged changes `[start, end)` into an entity's (or the state's) values. */
function applyLog(log, start, end, layout, raw, fields) {
    const slots = layout.slots;
    for (let j = start; j < end; j++) {
        const i = log.slot[j];
        const slot = slots[i];
        const s = log.str[j];
        if (s !== null && s !== undefined)
            fields[slot.name] = s;
        else {
            const v = log.num[j];
            raw[i] = v;
            fields[slot.name] = fieldValue(slot, v);
        }
    }
}
