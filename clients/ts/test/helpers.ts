// Shared by the tests: the vector files, hex, and a view of a mirror in the
// vectors' format.
import { readFileSync } from "node:fs";
import { Conv, type CompiledSchema, type Entity, type Fields, type Layout, type Mirror } from "../src/index.js";

/** A vector file, parsed. */
export function vectors<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), "utf8")) as T;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Fields in the vectors' format: fixed point and angles as {q, value}, enums as {index, name}. */
export function fieldsJson(layout: Layout, fields: Readonly<Fields>, raw?: ArrayLike<number>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  layout.slots.forEach((slot, i) => {
    const v = fields[slot.name];
    switch (slot.conv) {
      case Conv.Fixed:
      case Conv.Angle:
        out[slot.name] = { q: raw ? raw[i] : Math.round(slot.conv === Conv.Fixed ? (v as number) * slot.scale : ((v as number) / (2 * Math.PI)) * 65536), value: v };
        break;
      case Conv.Enum:
        out[slot.name] = { index: slot.variants.indexOf(v as string), name: v };
        break;
      default:
        out[slot.name] = v;
    }
  });
  return out;
}

export function entityJson(schema: CompiledSchema, e: Entity): unknown {
  return { id: e.id, kind: e.kind, owner: e.owner, fields: fieldsJson(schema.kinds[e.kindIndex]!, e.fields, e.raw) };
}

/** The whole view, by ascending id, as the vectors write it. */
export function viewJson(m: Mirror): unknown {
  const entities = [...m.entities.values()].sort((a, b) => a.id - b.id).map((e) => entityJson(m.schema, e));
  return { tick: m.tick, entities };
}

export function stateJson(m: Mirror): unknown {
  return fieldsJson(m.schema.state, m.state, m.stateRaw);
}

/** Field values in the vectors' format back to what encoders take. */
export function plainFields(json: Record<string, any>): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(json)) out[k] = typeof v === "object" && v !== null ? ("value" in v ? v.value : v.name) : v;
  return out;
}
