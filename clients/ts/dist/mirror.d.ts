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
import type { Fields, GameMessage, ServerEvent, SnapshotHeader } from "./codec.js";
import type { CompiledSchema, KindLayout } from "./schema.js";
import { History } from "./interpolation.js";
/** One entity of the view. */
export interface Entity {
    /** Its id, unique in the room for the room's lifetime. */
    readonly id: number;
    /** Its kind's name in the descriptor. */
    readonly kind: string;
    /** Its kind's index in the descriptor. */
    readonly kindIndex: number;
    /** The player who owns it; 0 for nobody. */
    readonly owner: number;
    /**
     * Its fields by name: fixed point in units, angles in radians, enums by
     * variant name, refs as entity ids (0: none). Updated in place.
     */
    readonly fields: Readonly<Fields>;
    /** Its fields' raw values by slot (fixed point in quanta; 0 for strings). */
    readonly raw: ArrayLike<number>;
}
/** An entity as the mirror keeps it. */
export declare class EntityRecord implements Entity {
    readonly id: number;
    readonly kind: string;
    readonly kindIndex: number;
    owner: number;
    readonly fields: Fields;
    readonly raw: Float64Array;
    /** The kind's layout. */
    readonly layout: KindLayout;
    /** Past values of the interpolated slots (see `interpolation.ts`). */
    readonly history: History | null;
    constructor(id: number, layout: KindLayout, owner: number, zero: Fields, historySize: number);
}
/** What one applied snapshot did. The lists are valid until the next apply. */
export interface Applied {
    readonly tick: number;
    readonly baseTick: number;
    /** The last input `seq` the server had applied at this tick (0 before any). */
    readonly ackInputSeq: number;
    /** Entities that entered the view. */
    readonly added: readonly Entity[];
    /** Entities whose fields (or owner) changed. */
    readonly changed: readonly Entity[];
    /** Entities that left the view (their last values). */
    readonly removed: readonly Entity[];
    /** Whether the room state changed. */
    readonly stateChanged: boolean;
    /** Room events, in order. */
    readonly events: readonly ServerEvent[];
    /** Game messages that rode on the snapshot, in order. */
    readonly messages: readonly GameMessage[];
}
/** Mirror options. */
export interface MirrorOptions {
    /** Past samples kept per entity for interpolation (default 8). */
    readonly historySize?: number;
}
/** A mirror of one client's view of a room. */
export declare class Mirror {
    /** The schema it decodes with. */
    readonly schema: CompiledSchema;
    /** The view's entities by id. */
    readonly entities: Map<number, EntityRecord>;
    /** The room state's fields by name. */
    readonly state: Fields;
    /** The room state's raw values by slot. */
    readonly stateRaw: Float64Array;
    /** The newest applied snapshot's tick; 0 before the first. */
    tick: number;
    /** {@link Mirror.tick} unwrapped (it keeps growing past 2^32); 0 before the first. */
    serial: number;
    /** The input `seq` the newest snapshot acknowledged (0 before any). */
    ack: number;
    private readonly historySize;
    private readonly zero;
    private readonly log;
    private removedIds;
    private updates;
    private updateEnd;
    private spawns;
    private spawnEnd;
    private added;
    private changed;
    private removed;
    constructor(schema: CompiledSchema, options?: MirrorOptions);
    /**
     * Takes the next complete snapshot as a first one, whatever its tick (a
     * new connection starts a new chain); the view stays until it replaces it.
     */
    restart(): void;
    /** The entity with this id, if in view. */
    get(id: number): Entity | undefined;
    /**
     * Reads one change (section 8.1) against `base` (`null`: the zero
     * baseline) into the log. Refuses what the encoder never writes (8.2).
     */
    private readChange;
    /**
     * Applies a snapshot. A complete one (`baseTick` 0) replaces the view; a
     * delta must be based on the view's tick. On error the view is unchanged.
     */
    apply(head: SnapshotHeader): Applied;
    /**
     * A complete snapshot's spawns become the view. An entity already in view
     * with the same kind keeps its object (and is reported changed if its
     * values differ); the others are removed and added.
     */
    private replaceView;
}
