// Pure: the ordered map writes that take the datapath from what is programmed to what is
// desired, for a set of frontends. The order is what keeps packets safe while it runs:
//   1. upsert backends        — every id a slot may name exists before it is named
//   2. write changed slots 1..n
//   3. write slot 0 (count)   — only now can packets reach new slots; a frontend removal
//                               deletes its slot 0 here, so packets stop matching first
//   4. delete slots beyond the new count
//   5. delete backends no slot names any more
// A packet reads count from slot 0 and then one slot, so at every step any slot below
// count names a backend that exists (old or new).

import type { Backend, SvcKey, SvcValue } from '../datapath/abi.js';
import type { EncodedFrontend } from '../encoder/types.js';

/** One allowed source CIDR of one frontend (T5). */
export interface SrcRange {
  svcId: number;
  cidr: string;
}

export interface WritePlan {
  backendUpserts: Array<[number, Backend]>;
  slotWrites: Array<[SvcKey, SvcValue]>;
  /** Written before slot 0, so a frontend never carries SOURCE_RANGES without its ranges. */
  rangeUpserts: SrcRange[];
  frontendWrites: Array<[SvcKey, SvcValue]>;
  frontendDeletes: SvcKey[];
  slotDeletes: SvcKey[];
  backendDeletes: number[];
  rangeDeletes: SrcRange[];
}

export function emptyPlan(): WritePlan {
  return {
    backendUpserts: [],
    slotWrites: [],
    rangeUpserts: [],
    frontendWrites: [],
    frontendDeletes: [],
    slotDeletes: [],
    backendDeletes: [],
    rangeDeletes: [],
  };
}

export function planSize(p: WritePlan): number {
  return (
    p.backendUpserts.length +
    p.slotWrites.length +
    p.rangeUpserts.length +
    p.frontendWrites.length +
    p.frontendDeletes.length +
    p.slotDeletes.length +
    p.backendDeletes.length +
    p.rangeDeletes.length
  );
}

function sameBackend(a: Backend | undefined, b: Backend): boolean {
  return !!a && a.addr === b.addr && a.port === b.port && a.proto === b.proto && a.state === b.state && a.svcId === b.svcId;
}

function sameValue(a: SvcValue, b: SvcValue): boolean {
  return (
    a.backendId === b.backendId &&
    a.svcId === b.svcId &&
    a.count === b.count &&
    a.flags === b.flags &&
    a.affinityTimeoutS === b.affinityTimeoutS
  );
}

const NO_RANGES: ReadonlySet<string> = new Set();

function rangesOf(f: EncodedFrontend | undefined): ReadonlySet<string> {
  // Most frontends have no source ranges: no empty Set per frontend.
  return f?.sourceRanges?.length ? new Set(f.sourceRanges) : NO_RANGES;
}

export function sameFrontend(a: EncodedFrontend | undefined, b: EncodedFrontend | undefined): boolean {
  // Encoded frontends are never changed once built: the very object the reconciler last
  // wrote (a full sync that kept a Service's outcome) is equal without a look inside,
  // which would build every backend of it again (BackendTable builds them on read).
  if (a === b) return true;
  if (!a || !b) return false;
  if (!sameValue(a.value, b.value) || a.slots.length !== b.slots.length) return false;
  const ra = rangesOf(a);
  const rb = rangesOf(b);
  if (ra.size !== rb.size || [...rb].some((r) => !ra.has(r))) return false;
  if (a.slots.some((id, i) => id !== b.slots[i])) return false;
  if (a.backends.size !== b.backends.size) return false;
  for (const [id, be] of b.backends) if (!sameBackend(a.backends.get(id), be)) return false;
  return true;
}

function slotKey(k: SvcKey, slot: number): SvcKey {
  // A literal, not a spread: one per slot of every frontend a full sync writes.
  return { addr: k.addr, port: k.port, slot, proto: k.proto, scope: k.scope };
}

/** Adds to `plan` the writes that turn `old` into `next` for one frontend. */
export function planFrontend(plan: WritePlan, old: EncodedFrontend | undefined, next: EncodedFrontend | undefined): void {
  if (sameFrontend(old, next)) return;
  if (next) {
    // forEach, not for-of: a full sync plans 100,000 backends, and the generator of a
    // BackendTable's entries allocated an iterator result and a pair per backend.
    next.backends.forEach((be, id) => {
      if (!old || !sameBackend(old.backends.get(id), be)) plan.backendUpserts.push([id, be]);
    });
    const slots = next.slots;
    for (let i = 0; i < slots.length; i++) {
      const id = slots[i]!;
      if (old?.slots[i] !== id || old.value.svcId !== next.svcId) {
        plan.slotWrites.push([slotKey(next.key, i + 1), { backendId: id, svcId: next.svcId, count: 0, flags: 0, affinityTimeoutS: 0 }]);
      }
    }
    const had = old && old.svcId === next.svcId ? rangesOf(old) : NO_RANGES;
    for (const cidr of rangesOf(next)) if (!had.has(cidr)) plan.rangeUpserts.push({ svcId: next.svcId, cidr });
    if (!old || !sameValue(old.value, next.value)) plan.frontendWrites.push([slotKey(next.key, 0), next.value]);
  } else if (old) {
    plan.frontendDeletes.push(slotKey(old.key, 0));
  }
  if (old) {
    const keep = next?.slots.length ?? 0;
    for (let s = keep + 1; s <= old.slots.length; s++) plan.slotDeletes.push(slotKey(old.key, s));
    for (const id of old.backends.keys()) if (!next?.backends.has(id)) plan.backendDeletes.push(id);
    const keepRanges = next && next.svcId === old.svcId ? rangesOf(next) : NO_RANGES;
    for (const cidr of rangesOf(old)) if (!keepRanges.has(cidr)) plan.rangeDeletes.push({ svcId: old.svcId, cidr });
  }
}
