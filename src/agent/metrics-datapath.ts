// Metrics read from the datapath's maps when Prometheus scrapes (collect() callbacks), so
// the packet path never does more than bump its per-CPU counters:
//   kpx_service_{packets,bytes,new_connections,drops}_total  kpx_svc_stats_dense_v1 and
//       kpx_svc_stats_v1, CPUs summed, one series per frontend (a frontend's
//       SCOPE_INTERNAL id added to its SCOPE_EXTERNAL one), named through the sync
//       engine's desired state;
//   kpx_datapath_{packets,bytes}_total{reason}  kpx_counters_v1;
//   kpx_map_entries{map} / kpx_map_capacity{map}  every map.
// Each group reads its maps once per scrape however many metrics it feeds.
//
// Cost per scrape: one BPF_PROG_TEST_RUN for the element counts of every hash map
// (bpf/map_counts.h), one lookup per reason, one lookup per frontend id (the array) and
// a walk of kpx_svc_stats_v1 (two syscalls per entry; only ids past the array's
// capacity have entries). With 10,000 frontends that is some tens of milliseconds.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { BpfMap, BpfProgram } from '../../native/index.js';
import {
  COUNTED_MAPS,
  LAYOUTS,
  MAP_NAMES,
  REASONS,
  decodeMapCounts,
  decodeSvcStatsKey,
  encodeSvcStatsKey,
  sumPerCpuCounter,
  sumPerCpuSvcStats,
  type CountedMap,
  type Counter as ReasonCounter,
  type MapRole,
  type SvcStats,
} from '../datapath/abi.js';
import type { EncodedFrontend, EncodedState } from '../encoder/types.js';
import { protoName } from '../inspect/names.js';
import { formatIpv4, parseCidr } from '../net/ipv4.js';

/** The parts of a loaded Datapath the metrics read. */
export interface DatapathView {
  readonly maps: Readonly<Record<MapRole, BpfMap>>;
  readonly programs: { readonly mapCounts: BpfProgram };
}

/** Where frontend ids get their names. */
export interface FrontendView {
  /** The sync engine's desired state. */
  desired(): EncodedState;
  /** What the reconciler believes the maps hold (ids still in the maps after a failed
   *  sync; loadBalancerSourceRanges entries). */
  programmed(): EncodedState;
}

export const SERVICE_LABELS = ['namespace', 'service', 'port', 'frontend'] as const;
export type ServiceLabels = Record<(typeof SERVICE_LABELS)[number], string>;

/**
 * Labels of a frontend: namespace, Service and port name (or number) from its owner
 * ("ns/name:port"; a hostPort frontend's owner is "ns/pod:hostPort/N", so its service
 * label is the pod's name), and the frontend itself as "address:port/PROTO".
 */
export function serviceLabels(fe: EncodedFrontend): ServiceLabels {
  const frontend = `${fe.key.addr}:${fe.key.port}/${protoName(fe.key.proto)}`;
  const m = /^([^/\s]+)\/([^:]+):(.*)$/.exec(fe.owner);
  if (!m) return { namespace: '', service: fe.owner, port: '', frontend };
  return { namespace: m[1]!, service: m[2]!, port: m[3]!, frontend };
}

/**
 * One read of the maps shared by the metrics of a group. prom-client collects a scrape's
 * metrics in the order they were registered, each collect() running to its end before
 * the next starts, so the group's first metric reads (`lead`) and the others reuse what
 * it read (`follow`). A metric asked for alone shows the last scrape's read.
 */
function scrapeGroup<T>(read: () => T): { lead: () => T; follow: () => T } {
  let last: { v: T } | undefined;
  return {
    lead: () => (last = { v: read() }).v,
    follow: () => (last ??= { v: read() }).v,
  };
}

/** The two statistics maps (bpf/maps.h): an array indexed by the ids below its
 *  capacity, an LRU hash for the others. */
export interface SvcStatsMaps {
  readonly dense: BpfMap;
  readonly hash: BpfMap;
}

export function svcStatsMaps(maps: Readonly<Record<MapRole, BpfMap>>): SvcStatsMaps {
  return { dense: maps.svcStatsDense, hash: maps.svcStats };
}

const isZero = (s: SvcStats): boolean => !s.packets && !s.bytes && !s.newConns && !s.drops;

/** Statistics summed over CPUs, by svc_id: the array slots of `ids` (those that are not
 *  all zero) and every entry of the hash. */
export function readSvcStats(m: SvcStatsMaps, ids: Iterable<number>): Map<number, SvcStats> {
  const out = new Map<number, SvcStats>();
  for (const id of ids) {
    if (id >= m.dense.maxEntries) continue;
    const v = m.dense.lookup(encodeSvcStatsKey(id));
    const s = v && sumPerCpuSvcStats(v);
    if (s && !isZero(s)) out.set(id, s);
  }
  for (const key of m.hash.keys()) {
    const v = m.hash.lookup(key);
    if (v) out.set(decodeSvcStatsKey(key), sumPerCpuSvcStats(v));
  }
  return out;
}

/** Zeroes the array slots of `ids` (every CPU's part), in batches. */
function zeroSlots(dense: BpfMap, ids: number[]): void {
  const zero = Buffer.alloc(dense.valueBufferSize);
  const CHUNK = 4096;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    dense.updateBatch(part.map(encodeSvcStatsKey), part.map(() => zero));
  }
}

/**
 * At start: forgets the statistics of every id that no frontend in the maps owns (ids
 * of a previous run that are gone; the allocator may hand them out again), so a reused
 * id starts from zero. Zeroes those array slots and deletes those hash entries.
 */
export function resetSvcStats(m: SvcStatsMaps, live: ReadonlySet<number>): void {
  const dead: number[] = [];
  for (let id = 0; id < m.dense.maxEntries; id++) if (!live.has(id)) dead.push(id);
  zeroSlots(m.dense, dead);
  forgetHashEntries(m.hash, live);
}

/** Deletes the hash entries of ids not in `live`; returns how many. */
function forgetHashEntries(hash: BpfMap, live: ReadonlySet<number>, present: Iterable<number> = hash.keys().map(decodeSvcStatsKey)): number {
  const gone = [...present].filter((id) => !live.has(id));
  return gone.length ? hash.deleteBatch(gone.map(encodeSvcStatsKey)) : 0;
}

/** Every frontend id of the given states (SCOPE_EXTERNAL and SCOPE_INTERNAL entries). */
export function liveSvcIds(...states: EncodedState[]): Set<number> {
  const ids = new Set<number>();
  for (const s of states) for (const fe of s.values()) ids.add(fe.svcId);
  return ids;
}

/** Per-frontend totals: the stats of every id, added up per label set. */
function serviceSeries(stats: ReadonlyMap<number, SvcStats>, names: ReadonlyMap<number, ServiceLabels>): Array<{ labels: ServiceLabels; s: SvcStats }> {
  const out = new Map<string, { labels: ServiceLabels; s: SvcStats }>();
  for (const [id, s] of stats) {
    const labels = names.get(id);
    if (!labels) continue;
    const k = SERVICE_LABELS.map((l) => labels[l]).join('\u0000');
    const have = out.get(k);
    if (!have) out.set(k, { labels, s: { ...s } });
    else {
      have.s.packets += s.packets;
      have.s.bytes += s.bytes;
      have.s.newConns += s.newConns;
      have.s.drops += s.drops;
    }
  }
  return [...out.values()];
}

/** Elements per map, by pinned name; arrays always hold max_entries elements. Maps the
 *  kernel cannot count (Linux < 6.6) are left out. */
export function mapEntries(dp: DatapathView, fronts: FrontendView): Map<string, number> {
  const out = new Map<string, number>();
  const r = dp.programs.mapCounts.testRun({ data: Buffer.alloc(LAYOUTS.mapCounts.size) });
  if (r.retval === 0) {
    const counts = decodeMapCounts(r.data);
    for (const role of Object.keys(COUNTED_MAPS) as CountedMap[]) {
      const n = counts[role];
      if (n !== undefined) out.set(MAP_NAMES[role], n);
    }
  }
  out.set(MAP_NAMES.config, dp.maps.config.maxEntries);
  out.set(MAP_NAMES.counters, dp.maps.counters.maxEntries);
  out.set(MAP_NAMES.svcStatsDense, dp.maps.svcStatsDense.maxEntries);
  // An LPM trie keeps no element count: count what the reconciler wrote (one entry per
  // distinct CIDR of each frontend).
  const ranges = new Set<string>();
  for (const fe of fronts.programmed().values()) {
    for (const text of fe.sourceRanges ?? []) {
      const c = parseCidr(text);
      if (c) ranges.add(`${fe.svcId}|${formatIpv4(c.base)}/${c.bits}`);
    }
  }
  out.set(MAP_NAMES.srcRanges, ranges.size);
  return out;
}

/** Registers every datapath metric on `registry`. */
export function registerDatapathMetrics(registry: Registry, dp: DatapathView, fronts: FrontendView): void {
  const stats = svcStatsMaps(dp.maps);
  let lastLive = new Set<number>();
  const services = scrapeGroup(() => {
    const names = new Map<number, ServiceLabels>();
    for (const fe of fronts.programmed().values()) names.set(fe.svcId, serviceLabels(fe));
    for (const fe of fronts.desired().values()) names.set(fe.svcId, serviceLabels(fe));
    const live = new Set(names.keys());
    const read = readSvcStats(stats, live);
    // Ids gone since the last scrape: their statistics go with them. (Ids are not handed
    // out again while the agent runs, so an id that came and went in between only
    // leaves zeros-to-be in a slot nobody reads.)
    forgetHashEntries(stats.hash, live, [...read.keys()].filter((id) => id >= stats.dense.maxEntries));
    zeroSlots(stats.dense, [...lastLive].filter((id) => !live.has(id) && id < stats.dense.maxEntries));
    lastLive = live;
    return serviceSeries(read, names);
  });
  const perService = (name: string, help: string, pick: (s: SvcStats) => bigint, read: () => ReturnType<typeof services.lead>): void => {
    new Counter({
      name,
      help,
      labelNames: SERVICE_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, s } of read()) this.inc(labels, Number(pick(s)));
      },
    });
  };
  perService('kpx_service_packets_total', 'Packets clients sent to the frontend that the datapath forwarded to a backend (replies not counted)', (s) => s.packets, services.lead);
  perService('kpx_service_bytes_total', 'Bytes of those packets, as they arrived', (s) => s.bytes, services.follow);
  perService('kpx_service_new_connections_total', 'New flows to the frontend (packet path) and translated connect()/sendmsg() calls (node-originated)', (s) => s.newConns, services.follow);
  perService('kpx_service_drops_total', 'Packets to the frontend dropped or rejected (no endpoints, traffic policy, source ranges, datapath errors) and refused socket calls', (s) => s.drops, services.follow);

  const reasons = scrapeGroup(() => {
    const out: Array<[string, ReasonCounter]> = [];
    REASONS.forEach((name, id) => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(id);
      const v = dp.maps.counters.lookup(key);
      out.push([name, v ? sumPerCpuCounter(v) : { packets: 0n, bytes: 0n }]);
    });
    return out;
  });
  const perReason = (name: string, help: string, pick: (c: ReasonCounter) => bigint, read: () => ReturnType<typeof reasons.lead>): void => {
    new Counter({
      name,
      help,
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, c] of read()) this.inc({ reason }, Number(pick(c)));
      },
    });
  };
  perReason('kpx_datapath_packets_total', 'Packets (socket hooks: calls) the datapath decided on, by the reason of the decision', (c) => c.packets, reasons.lead);
  perReason('kpx_datapath_bytes_total', 'Bytes of those packets as they arrived (socket hooks count 0)', (c) => c.bytes, reasons.follow);

  new Gauge({
    name: 'kpx_map_entries',
    help: 'Elements in the datapath map (arrays always hold their capacity)',
    labelNames: ['map'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [map, n] of mapEntries(dp, fronts)) this.set({ map }, n);
    },
  });
  new Gauge({
    name: 'kpx_map_capacity',
    help: 'max_entries of the datapath map',
    labelNames: ['map'],
    registers: [registry],
    collect() {
      this.reset();
      for (const role of Object.keys(MAP_NAMES) as MapRole[]) this.set({ map: MAP_NAMES[role] }, dp.maps[role].maxEntries);
    },
  });
}
