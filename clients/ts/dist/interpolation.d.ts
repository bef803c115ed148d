/**
 * Interpolation of remote entities (docs/PROTOCOL.md section 9.6): each
 * entity keeps its last few values of its `Fixed` and `Angle` fields, by
 * server tick, and is drawn a little in the past, blended between the two
 * snapshots around that time: fixed point linearly, angles the short way
 * around. Other fields (integers, booleans, enums, strings) show their
 * newest value.
 */
import { type KindLayout } from "./schema.js";
import type { Fields } from "./codec.js";
import type { Entity } from "./mirror.js";
/**
 * Past values of one entity's interpolated slots: a ring of samples, each
 * the tick it was seen at, the tick of the snapshot before (the value held
 * until then), and the raw values.
 */
export declare class History {
    private readonly data;
    private readonly stride;
    private readonly size;
    private head;
    private count;
    constructor(slots: number, size: number);
    /** Records the entity's values as of tick `serial`; it held its previous ones up to `prevSerial`. */
    record(layout: KindLayout, raw: Float64Array, prevSerial: number, serial: number): void;
    /** Samples kept. */
    get length(): number;
    /**
     * The raw values of the interpolated slots at (fractional, unwrapped)
     * tick `at`, into `out`: blended between the samples around it, the
     * oldest sample before them, the newest after.
     */
    sample(layout: KindLayout, at: number, out: Float64Array): void;
}
/**
 * An entity's fields as of (fractional, unwrapped) server tick `at`: its
 * `Fixed` and `Angle` fields interpolated, the others as they are now.
 * Writes into `out` (a fresh object when not given) and returns it.
 */
export declare function interpolate(entity: Entity, at: number, out?: Fields): Fields;
