// Reads what the pinned maps hold back into EncodedFrontends, so a restarted agent can
// adopt the state (ids included) and diff against it instead of flushing.

import {
  decodeSrcRangeKey,
  decodeBackend,
  decodeBackendId,
  decodeSvcKey,
  decodeSvcValue,
  type Backend,
  type SvcKey,
  type SvcValue,
  SVC_FLAGS,
} from '../datapath/abi.js';
import { frontendIdentity, type EncodedFrontend } from '../encoder/types.js';
import type { SrcRange } from './plan.js';

export interface MapReader {
  entries(): Array<[Buffer, Buffer]>;
}

export interface ProgrammedState {
  frontends: Map<string, EncodedFrontend>;
  /** Backends no frontend owns (left by an interrupted write); deleted on the next full sync. */
  orphanBackends: number[];
  /** Slots with no slot 0 (likewise). */
  orphanSlots: SvcKey[];
  /** Source ranges of no frontend (likewise). */
  orphanRanges: SrcRange[];
}

export function readProgrammed(services: MapReader, backends: MapReader, srcRanges: MapReader): ProgrammedState {
  const ranges = new Map<number, string[]>();
  for (const [k] of srcRanges.entries()) {
    const r = decodeSrcRangeKey(k);
    let list = ranges.get(r.svcId);
    if (!list) ranges.set(r.svcId, (list = []));
    list.push(`${r.addr}/${r.bits}`);
  }

  const allBackends = new Map<number, Backend>();
  for (const [k, v] of backends.entries()) allBackends.set(decodeBackendId(k), decodeBackend(v));

  const heads = new Map<string, { key: SvcKey; value: SvcValue }>();
  const slots = new Map<string, Map<number, { key: SvcKey; value: SvcValue }>>();
  for (const [kb, vb] of services.entries()) {
    const key = decodeSvcKey(kb);
    const value = decodeSvcValue(vb);
    const id = frontendIdentity(key);
    if (key.slot === 0) heads.set(id, { key, value });
    else {
      let m = slots.get(id);
      if (!m) slots.set(id, (m = new Map()));
      m.set(key.slot, { key, value });
    }
  }

  const frontends = new Map<string, EncodedFrontend>();
  const orphanSlots: SvcKey[] = [];
  const owned = new Set<number>();
  for (const [id, head] of heads) {
    const mine = slots.get(id) ?? new Map();
    const list: number[] = [];
    for (let s = 1; s <= head.value.count; s++) list.push(mine.get(s)?.value.backendId ?? 0);
    for (const [s, e] of mine) if (s > head.value.count) orphanSlots.push(e.key);
    const own = new Map<number, Backend>();
    for (const [bid, be] of allBackends) {
      if (be.svcId === head.value.svcId) {
        own.set(bid, be);
        owned.add(bid);
      }
    }
    const restricted = (head.value.flags & SVC_FLAGS.SOURCE_RANGES) !== 0;
    const myRanges = ranges.get(head.value.svcId);
    ranges.delete(head.value.svcId);
    frontends.set(id, {
      owner: '(adopted)',
      svcId: head.value.svcId,
      key: head.key,
      value: head.value,
      slots: list,
      backends: own,
      ...(restricted || myRanges ? { sourceRanges: (myRanges ?? []).sort() } : {}),
    });
  }
  const orphanRanges: SrcRange[] = [];
  for (const [svcId, list] of ranges) for (const cidr of list) orphanRanges.push({ svcId, cidr });
  for (const [id, m] of slots) if (!heads.has(id)) for (const e of m.values()) orphanSlots.push(e.key);
  const orphanBackends = [...allBackends.keys()].filter((b) => !owned.has(b));
  return { frontends, orphanBackends, orphanSlots, orphanRanges };
}
