// The kpx side of the benchmark: the agent's control plane end to end. Its API-server
// source (client-node informers) lists and watches a test API server in another process
// (apiserver-process.ts) into the ChangeTracker; SyncEngine -> Reconciler then write the
// real kernel maps of bpf/kpx.bpf.o, pinned under a bench-only bpffs directory. Measures
// the initial full sync, per-change latency and RSS, and checks the maps really hold
// what was synced.

import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { KubeConfig, type V1EndpointSlice } from '@kubernetes/client-node';
import { Datapath } from '../../src/datapath/datapath.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import { silentLogger } from '../../src/log.js';
import type { ModelOptions } from '../../src/model/types.js';
import { sliceServiceKey } from '../../src/model/object-keys.js';
import { Reconciler } from '../../src/reconciler/reconciler.js';
import { ApiServerSource } from '../../src/sources/apiserver.js';
import { compactObject } from '../../src/sources/apiserver/compact-object.js';
import type { SourceSink } from '../../src/sources/types.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { ChangeTracker } from '../../src/tracker/change-tracker.js';
import { startBenchApiServer, type BenchApiServer } from './apiserver-process.js';
import { CHANGE_KINDS, nextChange, rng, type ChangeKind, type ChangeTarget } from './changes.js';
import { CLUSTER, firstFreePodIp, type ClusterShape } from './cluster.js';

/** Map capacities in bpf/constants.h (KPX_SERVICES_MAX, KPX_BACKENDS_MAX). */
const DEFAULT_CAPACITY = 262_144;

export interface KpxOptions extends ClusterShape {
  readonly pinDir: string;
  readonly changes: number;
  readonly warmup: number;
}

/** Called around the measured work, e.g. to profile it. afterLoad runs once the BPF
 *  object is loaded: a sampling profiler's SIGPROF during verification makes
 *  BPF_PROG_LOAD fail with EAGAIN, so profiling must start after it. */
export interface KpxHooks {
  afterLoad?(): Promise<void>;
  beforeClose?(): Promise<void>;
}

export interface KpxResult {
  deliverS: number;
  fullSyncS: number;
  fullSyncWrites: number;
  servicesEntries: number;
  backendsEntries: number;
  rssAfterSyncMb: number;
  heapAfterSyncMb: number;
  rssBaselineMb: number;
  /** Heap still in use after a full GC right after the sync: what the sync state retains. */
  heapRetainedMb: number | undefined;
  changeMs: number[];
  changeMsByKind: Record<ChangeKind, number[]>;
  maxEntries: { services: number; backends: number };
  /** Durations of RESYNCS full syncs with nothing changed, after the change phase. */
  resyncS: number[];
  rssAfterResyncsMb: number;
}

const MB = 1024 * 1024;
/** Full resyncs run after the change phase. */
export const RESYNCS = 3;

/** Capacities with headroom for the added endpoints of the change phase. */
function capacities(o: KpxOptions): { services: number; backends: number } {
  const backends = Math.ceil(o.services * o.endpointsPerService * 1.25) + o.changes + o.warmup;
  const services = backends + o.services;
  return { services: Math.max(DEFAULT_CAPACITY, services), backends: Math.max(DEFAULT_CAPACITY, backends) };
}

/** A full GC, when the runtime allows asking for one (for the retained-heap figure). */
function fullGc(): boolean {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    return true;
  } catch {
    return false;
  }
}

/** Whether this process runs compiled JavaScript (dist/, as the agent image does) or the
 *  TypeScript sources through tsx. */
export function runtimeKind(): 'compiled' | 'tsx' {
  return import.meta.url.endsWith('.js') ? 'compiled' : 'tsx';
}

/** The tracker as the source's sink, keeping each Service's current slice for the change
 *  phase (references to the objects the tracker holds: no copies). */
function sliceRecorder(tracker: ChangeTracker, slices: Map<string, V1EndpointSlice>): SourceSink {
  return {
    service: (prev, cur) => tracker.service(prev, cur),
    endpointSlice: (prev, cur) => {
      tracker.endpointSlice(prev, cur);
      const key = cur && sliceServiceKey(cur);
      if (cur && key !== undefined) slices.set(key, cur);
    },
    node: (cur) => tracker.node(cur),
    pod: (prev, cur) => tracker.pod(prev, cur),
    synced: () => tracker.synced(),
  };
}

function changeTargets(slices: Map<string, V1EndpointSlice>): ChangeTarget[] {
  return [...slices].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, slice]) => {
    const [namespace = '', name = ''] = key.split('/');
    return { key, namespace, name, slice };
  });
}

export async function runKpx(o: KpxOptions, progress: (msg: string) => void, hooks: KpxHooks = {}): Promise<KpxResult> {
  // Everything the agent process loads (its API-server client, metrics, HTTP servers'
  // code), so that the RSS below is an agent's and not just the sync path's: the
  // Kubernetes client alone is ~70 MB of it.
  await import('../../src/agent/agent.js');
  const rssBaselineMb = process.memoryUsage().rss / MB;
  const maxEntries = capacities(o);
  rmSync(o.pinDir, { recursive: true, force: true });
  let dp: Datapath;
  try {
    dp = Datapath.load({ pinDir: o.pinDir, maxEntries });
  } catch (err) {
    rmSync(o.pinDir, { recursive: true, force: true });
    throw err;
  }
  const tracker = new ChangeTracker();
  let apiServer: BenchApiServer | undefined;
  let source: ApiServerSource | undefined;
  try {
    await hooks.afterLoad?.();
    const opts: ModelOptions = { nodeName: CLUSTER.nodeName, family: 'IPv4' };
    const engine = new SyncEngine(tracker, new Reconciler(dp.maps), new IdAllocator(), opts, silentLogger);
    engine.adopt();

    progress(`kpx: starting the bench API server (${o.services} Services x ${o.endpointsPerService} endpoints, in its own process)`);
    apiServer = await startBenchApiServer(o);
    // "Informer-synced": the agent's own API-server source lists every resource over HTTP
    // (in pages, compacting as it goes) into the tracker, which then reports synced().
    progress('kpx: listing through the API-server source (client-node informers)');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(apiServer.kubeconfigPath);
    const slices = new Map<string, V1EndpointSlice>();
    source = new ApiServerSource({ kubeConfig, nodeName: CLUSTER.nodeName, logger: silentLogger });
    const d0 = performance.now();
    await source.start(sliceRecorder(tracker, slices));
    while (!tracker.ready) await sleep(5);
    const deliverS = (performance.now() - d0) / 1000;

    progress('kpx: initial full sync into the kernel maps');
    const t0 = performance.now();
    const report = engine.sync(true);
    const fullSyncS = (performance.now() - t0) / 1000;
    const mem = process.memoryUsage();
    const heapRetainedMb = fullGc() ? process.memoryUsage().heapUsed / MB : undefined;
    if (!report) throw new Error('sync(true) did not run: tracker not ready');
    if (report.errors.length) throw new Error(`initial sync reported ${report.errors.length} errors, first: ${report.errors[0]?.message}`);

    // The maps must hold one slot-0 entry plus one slot per backend for every Service.
    // count(), not keys(): the keys of 210,000 entries as Buffers would be ~50 MB of the
    // bench's own garbage in the old generation, in the RSS after the resyncs below.
    const servicesEntries = dp.maps.services.count();
    const backendsEntries = dp.maps.backends.count();
    const wantSvc = o.services * (o.endpointsPerService + 1);
    const wantBe = o.services * o.endpointsPerService;
    if (servicesEntries !== wantSvc || backendsEntries !== wantBe) {
      throw new Error(`maps hold ${servicesEntries} service / ${backendsEntries} backend entries, expected ${wantSvc} / ${wantBe}`);
    }

    progress(`kpx: ${o.warmup} warm-up + ${o.changes} single-EndpointSlice changes`);
    // Changes go to the tracker as the source would deliver them (compacted), not through
    // the API server: the latency measured is the agent's, not the watch's.
    const targets = changeTargets(slices);
    const pods = { nextPodIp: firstFreePodIp(o) };
    const pick = rng(0x6b7078);
    const changeMs: number[] = [];
    const changeMsByKind: Record<ChangeKind, number[]> = { add: [], remove: [], flip: [] };
    for (let i = 0; i < o.warmup + o.changes; i++) {
      const svc = targets[Math.floor(pick() * targets.length)];
      if (!svc) throw new Error('no service to change');
      const ch = nextChange(pods, svc, CHANGE_KINDS[i % CHANGE_KINDS.length] ?? 'add', pick);
      const cur = compactObject('EndpointSlice', ch.cur) as V1EndpointSlice;
      svc.slice = cur;
      const c0 = performance.now();
      tracker.endpointSlice(ch.prev, cur);
      const r = engine.sync(false);
      const ms = performance.now() - c0;
      if (!r || r.full || r.changedFrontends !== 1 || r.writes === 0) {
        throw new Error(`change ${i} (${ch.kind} in ${svc.key}) did not write exactly one frontend: ${JSON.stringify(r && { ...r, errors: r.errors.length })}`);
      }
      if (i < o.warmup) continue;
      changeMs.push(ms);
      changeMsByKind[ch.kind].push(ms);
    }
    await hooks.beforeClose?.();

    // What a running agent's periodic full resyncs (--sync-period) do to its RSS: nothing
    // changed, so they write nothing, but each one models and encodes every Service again.
    const resyncS: number[] = [];
    for (let i = 0; i < RESYNCS; i++) {
      const r0 = performance.now();
      const r = engine.sync(true);
      resyncS.push((performance.now() - r0) / 1000);
      if (!r || r.writes !== 0) throw new Error(`resync ${i} wrote ${r?.writes} entries, expected none`);
    }
    const rssAfterResyncsMb = process.memoryUsage().rss / MB;

    return {
      deliverS,
      fullSyncS,
      fullSyncWrites: report.writes,
      servicesEntries,
      backendsEntries,
      rssAfterSyncMb: mem.rss / MB,
      heapAfterSyncMb: mem.heapUsed / MB,
      rssBaselineMb,
      heapRetainedMb,
      changeMs,
      changeMsByKind,
      maxEntries,
      resyncS,
      rssAfterResyncsMb,
    };
  } finally {
    await source?.stop();
    apiServer?.close();
    dp.close();
    rmSync(o.pinDir, { recursive: true, force: true });
  }
}
