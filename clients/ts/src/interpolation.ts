/**
 * Interpolation of remote entities (docs/PROTOCOL.md section 9.6): each
 * entity keeps its last few values of its `Fixed` and `Angle` fields, by
 * server tick, and is drawn a little in the past, blended between the two
 * snapshots around that time: fixed point linearly, angles the short way
 * around. Other fields (integers, booleans, enums, strings) show their
 * newest value.
 */

import { Conv, type KindLayout } from "./schema.js";
import type { Fields } from "./codec.js";
import type { Entity } from "./mirror.js";

/**
 * Past values of one entity's interpolated slots: a ring of samples, each
 * the tick it was seen at, the tick of the snapshot before (the value held
 * until then), and the raw values.
 */
export class History {
  private readonly data: Float64Array;
  private readonly stride: number;
  private readonly size: number;
  private head = 0;
  private count = 0;

  constructor(slots: number, size: number) {
    this.stride = 2 + slots;
    this.size = size;
    this.data = new Float64Array(this.stride * size);
  }

  /** Records the entity's values as of tick `serial`; it held its previous ones up to `prevSerial`. */
  record(layout: KindLayout, raw: Float64Array, prevSerial: number, serial: number): void {
    const d = this.data;
    const at = this.head * this.stride;
    d[at] = prevSerial;
    d[at + 1] = serial;
    const slots = layout.interpolated;
    for (let j = 0; j < slots.length; j++) d[at + 2 + j] = raw[slots[j]!]!;
    this.head = this.head + 1 === this.size ? 0 : this.head + 1;
    if (this.count < this.size) this.count++;
  }

  /** Samples kept. */
  get length(): number {
    return this.count;
  }

  /**
   * The raw values of the interpolated slots at (fractional, unwrapped)
   * tick `at`, into `out`: blended between the samples around it, the
   * oldest sample before them, the newest after.
   */
  sample(layout: KindLayout, at: number, out: Float64Array): void {
    const d = this.data;
    const stride = this.stride;
    // From the newest back: `b` the oldest sample newer than `at`.
    let b = -1;
    let a = -1;
    for (let k = 0; k < this.count; k++) {
      const idx = (this.head - 1 - k + this.size) % this.size;
      if (d[idx * stride + 1]! <= at) {
        a = idx;
        break;
      }
      b = idx;
    }
    const n = stride - 2;
    if (a < 0 || b < 0) {
      // Older than every sample (hold the oldest), or newer (the newest).
      const from = (a < 0 ? b : a) * stride + 2;
      for (let j = 0; j < n; j++) out[j] = d[from + j]!;
      return;
    }
    const aTick = d[a * stride + 1]!;
    const bTick = d[b * stride + 1]!;
    // The value was `a`'s until the snapshot before `b`.
    const t0 = Math.max(aTick, d[b * stride]!);
    const t = at <= t0 ? 0 : (at - t0) / (bTick - t0);
    const slots = layout.slots;
    const ai = a * stride + 2;
    const bi = b * stride + 2;
    for (let j = 0; j < n; j++) {
      const va = d[ai + j]!;
      const vb = d[bi + j]!;
      if (slots[layout.interpolated[j]!]!.conv === Conv.Angle) {
        // The short way around the 65,536-step circle.
        let delta = (vb - va) & 0xffff;
        if (delta >= 32768) delta -= 65536;
        const q = va + delta * t;
        out[j] = q < 0 ? q + 65536 : q >= 65536 ? q - 65536 : q;
      } else {
        out[j] = va + (vb - va) * t;
      }
    }
  }
}

const TAU = 2 * Math.PI;

/** Scratch for {@link interpolate}, by number of slots. */
const scratch: Float64Array[] = [];

/**
 * An entity's fields as of (fractional, unwrapped) server tick `at`: its
 * `Fixed` and `Angle` fields interpolated, the others as they are now.
 * Writes into `out` (a fresh object when not given) and returns it.
 */
export function interpolate(entity: Entity, at: number, out: Fields = {}): Fields {
  Object.assign(out, entity.fields);
  const rec = entity as Partial<{ history: History | null; layout: KindLayout }>;
  const history = rec.history;
  const layout = rec.layout;
  if (!history || !layout || history.length === 0) return out;
  const n = layout.interpolated.length;
  const values = (scratch[n] ??= new Float64Array(n));
  history.sample(layout, at, values);
  for (let j = 0; j < n; j++) {
    const slot = layout.slots[layout.interpolated[j]!]!;
    out[slot.name] = slot.conv === Conv.Angle ? (values[j]! / 65536) * TAU : values[j]! / slot.scale;
  }
  return out;
}
