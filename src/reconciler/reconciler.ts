// Writes the difference between the desired datapath state and what the maps hold, in
// the order plan.ts explains, batching each phase. After any failure it forgets what it
// believed was programmed and re-reads the maps, so the next (full) sync starts from truth.
// A full map is handled Service by Service (see apply): batches are not atomic, so the
// fallback is what keeps every Service whole or absent.

import {
  encodeBackendId,
  encodeSrcRangeKey,
  encodeSvcKey,
  LAYOUTS,
  packRecords,
  writeBackend,
  writeSvcKey,
  writeSvcValue,
} from '../datapath/abi.js';
import { parseCidr, formatIpv4 } from '../net/ipv4.js';
import type { EncodedFrontend, EncodedState } from '../encoder/types.js';
import { emptyPlan, planFrontend, planSize, type SrcRange, type WritePlan } from './plan.js';
import { readProgrammed, type MapReader, type ProgrammedState } from './read-programmed.js';
import { entriesOf, serviceOf, ServicesNotProgrammedError } from './not-programmed.js';
import { MapFullError } from '../errors.js';
import { bumpGeneration, type GenerationMap } from './backend-generation.js';

/** The map operations the reconciler needs; native/BpfMap provides them. */
export interface WritableMap extends MapReader {
  updateBatch(keys: Buffer[], values: Buffer[]): void;
  updateBatchPacked(keys: Buffer, values: Buffer, count: number): void;
  deleteBatch(keys: Buffer[]): void;
}

export interface DatapathMaps {
  services: WritableMap;
  backends: WritableMap;
  srcRanges: WritableMap;
  /** Bumped after backends change (backend-generation.ts). */
  backendGen: GenerationMap;
}

function rangeKey(r: SrcRange): Buffer {
  const c = parseCidr(r.cidr);
  if (!c) throw new RangeError(`not a CIDR: ${r.cidr}`);
  return encodeSrcRangeKey({ svcId: r.svcId, addr: formatIpv4(c.base), bits: c.bits });
}

const ALLOWED = Buffer.from([1]);

/** Frontends planned and written per step of apply(): ~2,500 map entries at 10 backends
 *  each. At 10,000 x 10, 1,024 left up to ~20 MB more old-generation heap after a full
 *  sync than 256, for no measurable difference in sync time. */
const APPLY_CHUNK = 256;

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
    // Whatever wrote the maps before (an earlier agent, an interrupted write) may not
    // have bumped the backend generation after its last backend change: distrust every
    // backend cached in conntrack once.
    bumpGeneration(this.maps.backendGen);
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
   *
   * When a map is full the write is redone Service by Service, those that shrink first:
   * every Service that fits is written, and each one that does not is put back as it was
   * (absent if it is new), never left half-written. Then ServicesNotProgrammedError names
   * the map and the Services left out; what the reconciler believes programmed is the
   * truth, so the caller's next (full) sync retries exactly those.
   */
  apply(desired: EncodedState, only?: Iterable<string>): ApplyResult {
    const full = only === undefined;
    const ids = full ? allIds(this.programmed, desired) : new Set(only);
    const wanted = lazyWantedBackends(desired, ids);
    let changed = 0;
    let writes = 0;
    try {
      // Planned and written APPLY_CHUNK frontends at a time: each frontend's writes keep
      // their order (plan.ts) and no backend some desired frontend owns is deleted
      // (`wanted` covers all of `ids`), which is all the ordering a packet relies on. A
      // full sync thus never holds the write plan of every frontend at once (~200,000
      // keys and values at 10,000 Services x 10 endpoints); small chunks also keep a
      // chunk's plan from outliving young-generation GCs and landing in the old one.
      let chunk: string[] = [];
      const flush = (withOrphans: boolean): void => {
        const r = this.planFor(desired, chunk, withOrphans, wanted);
        this.write(r.plan);
        changed += r.changed;
        writes += planSize(r.plan);
        chunk = [];
      };
      for (const id of ids) {
        chunk.push(id);
        if (chunk.length >= APPLY_CHUNK) flush(false);
      }
      flush(full);
    } catch (err) {
      const before = this.programmed; // adopt() replaces the map object; this one stays as it was
      this.adopt();
      if (!(err instanceof MapFullError)) throw err;
      return this.applyByService(desired, ids, before);
    }
    this.commit(desired, ids);
    if (full) this.orphans = { orphanBackends: [], orphanSlots: [], orphanRanges: [] };
    return { changed, writes };
  }

  /** The writes that take `ids` from what is programmed to `desired` (plus orphans). */
  private planFor(desired: EncodedState, ids: Iterable<string>, withOrphans: boolean, wanted: () => ReadonlySet<number>): { plan: WritePlan; changed: number } {
    const plan = emptyPlan();
    let changed = 0;
    for (const id of ids) {
      const before = planSize(plan);
      planFrontend(plan, this.programmed.get(id), desired.get(id));
      if (planSize(plan) > before) changed++;
    }
    if (withOrphans) {
      plan.backendDeletes.push(...this.orphans.orphanBackends);
      plan.slotDeletes.push(...this.orphans.orphanSlots);
      plan.rangeDeletes.push(...this.orphans.orphanRanges);
    }
    // An id freed by one frontend may be reused by another in the same sync: never delete
    // a backend id that some desired frontend owns.
    if (plan.backendDeletes.length) {
      const keep = wanted();
      plan.backendDeletes = plan.backendDeletes.filter((b) => !keep.has(b));
    }
    return { plan, changed };
  }

  private commit(desired: EncodedState, ids: Iterable<string>): void {
    for (const id of ids) {
      const next = desired.get(id);
      if (next) this.programmed.set(id, next);
      else this.programmed.delete(id);
    }
  }

  /** The map-full path of apply(): called with `programmed` just re-read from the maps. */
  private applyByService(desired: EncodedState, ids: Iterable<string>, before: ReadonlyMap<string, EncodedFrontend>): ApplyResult {
    // What the interrupted write left unreachable (slots without slot 0, backends no
    // frontend owns) goes first: it only takes room.
    this.write(this.planFor(new Map(), [], true, () => new Set()).plan);
    this.orphans = { orphanBackends: [], orphanSlots: [], orphanRanges: [] };

    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const f = desired.get(id) ?? this.programmed.get(id) ?? before.get(id);
      const svc = f ? serviceOf(f) : id;
      let g = groups.get(svc);
      if (!g) groups.set(svc, (g = []));
      g.push(id);
    }
    // Growth against the state before this apply, not the re-read one: the order must not
    // depend on how far the interrupted write got.
    const growth = (g: string[]): number => g.reduce((n, id) => n + entriesOf(desired.get(id)) - entriesOf(before.get(id)), 0);
    const order = [...groups].map(([svc, g]) => ({ svc, g, grow: growth(g) })).sort((a, b) => a.grow - b.grow || (a.svc < b.svc ? -1 : a.svc > b.svc ? 1 : 0));

    const wanted = lazyWantedBackends(desired, ids);
    const failed: string[] = [];
    const fullMaps: string[] = [];
    let errno = 0;
    let changed = 0;
    let writes = 0;
    for (const { svc, g } of order) {
      const { plan, changed: c } = this.planFor(desired, new Set(g), false, wanted);
      if (planSize(plan) === 0) continue;
      try {
        this.write(plan);
        this.commit(desired, g);
        changed += c;
        writes += planSize(plan);
      } catch (err) {
        if (!(err instanceof MapFullError)) {
          this.adopt();
          throw err;
        }
        failed.push(svc);
        if (!fullMaps.includes(err.map)) fullMaps.push(err.map);
        errno ||= err.errno;
        this.restore(g, before);
      }
    }
    if (failed.length === 0) return { changed, writes };
    throw new ServicesNotProgrammedError(fullMaps, errno, failed.sort());
  }

  /**
   * Puts the frontends `ids` back to what they were before this apply. The failed write
   * stopped before any delete, so this only overwrites existing entries and deletes new
   * ones: it needs no room.
   */
  private restore(ids: string[], before: ReadonlyMap<string, EncodedFrontend>): void {
    this.adopt();
    const { plan } = this.planFor(before, new Set(ids), true, lazyWantedBackends(before, new Set(ids)));
    this.write(plan);
    this.adopt();
  }

  private write(p: WritePlan): void {
    const { services, backends, srcRanges } = this.maps;
    const upsert = <K, V>(
      map: WritableMap,
      entries: ReadonlyArray<readonly [K, V]>,
      key: [number, (b: Buffer, o: number, k: K) => void],
      value: [number, (b: Buffer, o: number, v: V) => void],
    ): void => {
      if (!entries.length) return;
      map.updateBatchPacked(
        packRecords(entries, key[0], (b, o, e) => key[1](b, o, e[0])),
        packRecords(entries, value[0], (b, o, e) => value[1](b, o, e[1])),
        entries.length,
      );
    };
    const BACKEND_ID: [number, (b: Buffer, o: number, id: number) => void] = [4, (b, o, id) => void b.writeUInt32LE(id, o)];
    const SVC_KEY: [number, typeof writeSvcKey] = [LAYOUTS.svcKey.size, writeSvcKey];
    const SVC_VALUE: [number, typeof writeSvcValue] = [LAYOUTS.svcValue.size, writeSvcValue];
    try {
      upsert(backends, p.backendUpserts, BACKEND_ID, [LAYOUTS.backend.size, writeBackend]);
      upsert(services, p.slotWrites, SVC_KEY, SVC_VALUE);
      if (p.rangeUpserts.length)
        srcRanges.updateBatch(
          p.rangeUpserts.map(rangeKey),
          p.rangeUpserts.map(() => ALLOWED),
        );
      upsert(services, p.frontendWrites, SVC_KEY, SVC_VALUE);
      if (p.frontendDeletes.length) services.deleteBatch(p.frontendDeletes.map(encodeSvcKey));
      if (p.slotDeletes.length) services.deleteBatch(p.slotDeletes.map(encodeSvcKey));
      if (p.backendDeletes.length) backends.deleteBatch(p.backendDeletes.map(encodeBackendId));
      if (p.rangeDeletes.length) srcRanges.deleteBatch(p.rangeDeletes.map(rangeKey));
    } finally {
      // Upserts include rewrites of existing ids (a state change, an id reused by
      // another frontend): any backend write may have changed what conntrack caches.
      // Also after a failed write, which may have deleted some of them.
      if (p.backendUpserts.length || p.backendDeletes.length) bumpGeneration(this.maps.backendGen);
    }
  }
}

/** Every frontend either side knows, each once (programmed ones first): an array, not a
 *  Set of every identity, which a full sync would keep as garbage to its end. */
function allIds(programmed: ReadonlyMap<string, EncodedFrontend>, desired: EncodedState): string[] {
  const ids = [...programmed.keys()];
  for (const id of desired.keys()) if (!programmed.has(id)) ids.push(id);
  return ids;
}

/** Backend ids some desired frontend among `ids` owns. */
function wantedBackends(desired: EncodedState, ids: Iterable<string>): Set<number> {
  const wanted = new Set<number>();
  for (const id of ids) for (const b of desired.get(id)?.backends.keys() ?? []) wanted.add(b);
  return wanted;
}

/** wantedBackends, built on first use: most plans delete no backend (a first full sync
 *  deletes none), and at 100,000 backends the set is a few MB for nothing. */
function lazyWantedBackends(desired: EncodedState, ids: Iterable<string>): () => ReadonlySet<number> {
  let wanted: Set<number> | undefined;
  return () => (wanted ??= wantedBackends(desired, ids));
}
