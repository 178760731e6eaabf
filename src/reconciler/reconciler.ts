// Writes the difference between the desired datapath state and what the maps hold, in
// the order plan.ts explains, batching each phase. After any failure it forgets what it
// believed was programmed and re-reads the maps, so the next (full) sync starts from truth.

import { encodeBackend, encodeBackendId, encodeSrcRangeKey, encodeSvcKey, encodeSvcValue } from '../datapath/abi.js';
import { parseCidr, formatIpv4 } from '../net/ipv4.js';
import type { EncodedFrontend, EncodedState } from '../encoder/types.js';
import { emptyPlan, planFrontend, planSize, type SrcRange, type WritePlan } from './plan.js';
import { readProgrammed, type MapReader, type ProgrammedState } from './read-programmed.js';

/** The map operations the reconciler needs; native/BpfMap provides them. */
export interface WritableMap extends MapReader {
  updateBatch(keys: Buffer[], values: Buffer[]): void;
  deleteBatch(keys: Buffer[]): void;
}

export interface DatapathMaps {
  services: WritableMap;
  backends: WritableMap;
  srcRanges: WritableMap;
}

function rangeKey(r: SrcRange): Buffer {
  const c = parseCidr(r.cidr);
  if (!c) throw new RangeError(`not a CIDR: ${r.cidr}`);
  return encodeSrcRangeKey({ svcId: r.svcId, addr: formatIpv4(c.base), bits: c.bits });
}

const ALLOWED = Buffer.from([1]);

export interface ApplyResult {
  /** Frontends whose map entries changed. */
  changed: number;
  /** Map writes and deletes issued. */
  writes: number;
}

export class Reconciler {
  private programmed = new Map<string, EncodedFrontend>();
  private orphans: Pick<ProgrammedState, 'orphanBackends' | 'orphanSlots' | 'orphanRanges'> = {
    orphanBackends: [],
    orphanSlots: [],
    orphanRanges: [],
  };

  constructor(private readonly maps: DatapathMaps) {}

  /** Reads the maps (pinned state from an earlier run) and takes them as programmed. */
  adopt(): ReadonlyMap<string, EncodedFrontend> {
    const st = readProgrammed(this.maps.services, this.maps.backends, this.maps.srcRanges);
    this.programmed = st.frontends;
    this.orphans = { orphanBackends: st.orphanBackends, orphanSlots: st.orphanSlots, orphanRanges: st.orphanRanges };
    return this.programmed;
  }

  /** What the reconciler believes the maps hold. */
  current(): ReadonlyMap<string, EncodedFrontend> {
    return this.programmed;
  }

  /**
   * Brings the frontends named in `only` (or, when omitted, every frontend either side
   * knows — a full sync) to their desired state.
   */
  apply(desired: EncodedState, only?: Iterable<string>): ApplyResult {
    const full = only === undefined;
    const ids = full ? new Set([...this.programmed.keys(), ...desired.keys()]) : new Set(only);
    const plan = emptyPlan();
    let changed = 0;
    for (const id of ids) {
      const before = planSize(plan);
      planFrontend(plan, this.programmed.get(id), desired.get(id));
      if (planSize(plan) > before) changed++;
    }
    if (full) {
      plan.backendDeletes.push(...this.orphans.orphanBackends);
      plan.slotDeletes.push(...this.orphans.orphanSlots);
      plan.rangeDeletes.push(...this.orphans.orphanRanges);
    }
    // An id freed by one frontend may be reused by another in the same sync: never delete
    // a backend id that some desired frontend owns.
    const wanted = new Set<number>();
    for (const id of ids) for (const b of desired.get(id)?.backends.keys() ?? []) wanted.add(b);
    plan.backendDeletes = plan.backendDeletes.filter((b) => !wanted.has(b));

    try {
      this.write(plan);
    } catch (err) {
      this.adopt();
      throw err;
    }
    for (const id of ids) {
      const next = desired.get(id);
      if (next) this.programmed.set(id, next);
      else this.programmed.delete(id);
    }
    if (full) this.orphans = { orphanBackends: [], orphanSlots: [], orphanRanges: [] };
    return { changed, writes: planSize(plan) };
  }

  private write(p: WritePlan): void {
    const { services, backends, srcRanges } = this.maps;
    if (p.backendUpserts.length)
      backends.updateBatch(
        p.backendUpserts.map(([id]) => encodeBackendId(id)),
        p.backendUpserts.map(([, b]) => encodeBackend(b)),
      );
    if (p.slotWrites.length)
      services.updateBatch(
        p.slotWrites.map(([k]) => encodeSvcKey(k)),
        p.slotWrites.map(([, v]) => encodeSvcValue(v)),
      );
    if (p.rangeUpserts.length)
      srcRanges.updateBatch(
        p.rangeUpserts.map(rangeKey),
        p.rangeUpserts.map(() => ALLOWED),
      );
    if (p.frontendWrites.length)
      services.updateBatch(
        p.frontendWrites.map(([k]) => encodeSvcKey(k)),
        p.frontendWrites.map(([, v]) => encodeSvcValue(v)),
      );
    if (p.frontendDeletes.length) services.deleteBatch(p.frontendDeletes.map(encodeSvcKey));
    if (p.slotDeletes.length) services.deleteBatch(p.slotDeletes.map(encodeSvcKey));
    if (p.backendDeletes.length) backends.deleteBatch(p.backendDeletes.map(encodeBackendId));
    if (p.rangeDeletes.length) srcRanges.deleteBatch(p.rangeDeletes.map(rangeKey));
  }
}
