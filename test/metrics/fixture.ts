// The agent's metric wiring without the agent: the real datapath loaded with its maps
// pinned under /sys/fs/bpf/kpxmet-<pid>-<n>, the real change tracker, sync engine and
// reconciler writing those maps, ChangeMetrics in front of the tracker, and an
// AgentMetrics registry observing the datapath — what Agent.start() puts together.
// Objects are fed straight to the sink; packets go through BPF_PROG_TEST_RUN.

import { rmSync } from 'node:fs';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { Datapath } from '../../src/datapath/datapath.js';
import type { MapRole, ProgramRole } from '../../src/datapath/abi.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import type { EncodedFrontend } from '../../src/encoder/types.js';
import { silentLogger } from '../../src/log.js';
import { Reconciler } from '../../src/reconciler/reconciler.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { ChangeTracker } from '../../src/tracker/change-tracker.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { ChangeMetrics, TRIGGER_TIME_ANNOTATION } from '../../src/agent/metrics-changes.js';
import { parseScrape, type Scrape } from './scrape.js';

let seq = 0;

export class MetricsFixture {
  readonly tracker = new ChangeTracker();
  readonly reconciler: Reconciler;
  readonly engine: SyncEngine;
  readonly metrics = new AgentMetrics();
  readonly changes: ChangeMetrics;

  private constructor(
    readonly dp: Datapath,
    readonly pinDir: string,
    clock: () => number,
  ) {
    this.reconciler = new Reconciler(dp.maps);
    this.engine = new SyncEngine(this.tracker, this.reconciler, new IdAllocator(), { nodeName: 'node1', family: 'IPv4' }, silentLogger);
    this.engine.adopt();
    this.metrics.observeDatapath(dp, { desired: () => this.engine.desiredState(), programmed: () => this.reconciler.current() });
    this.changes = new ChangeMetrics(this.tracker, this.metrics, clock);
  }

  /** `clock`: ChangeMetrics' clock (ms since the epoch); `maxEntries`: map capacities. */
  static load(clock: () => number = Date.now, maxEntries: Partial<Record<MapRole, number>> = {}): MetricsFixture {
    const pinDir = `/sys/fs/bpf/kpxmet-${process.pid}-${seq++}`;
    rmSync(pinDir, { recursive: true, force: true });
    const dp = Datapath.load({ pinDir, maxEntries });
    try {
      return new MetricsFixture(dp, pinDir, clock);
    } catch (err) {
      dp.close();
      rmSync(pinDir, { recursive: true, force: true });
      throw err;
    }
  }

  close(): void {
    this.dp.close();
    rmSync(this.pinDir, { recursive: true, force: true });
  }

  /** One sync as the agent's runner does it: trigger times taken before, observed after. */
  sync(full = false): void {
    const taken = this.changes.beginSync();
    try {
      const r = this.engine.sync(full);
      if (!r) throw new Error('sync did not run: sources not synced');
      this.changes.syncSucceeded(taken);
    } catch (err) {
      this.changes.syncFailed(taken);
      throw err;
    }
  }

  /** The programmed frontend of a Service port (SCOPE_EXTERNAL), by owner "ns/name:port". */
  frontend(owner: string): EncodedFrontend {
    const fe = [...this.engine.desiredState().values()].find((f) => f.owner === owner && f.key.scope === 0);
    if (!fe) throw new Error(`no frontend of ${owner}`);
    return fe;
  }

  /** Runs one frame through a program; returns its retval. */
  run(frame: Buffer, prog: ProgramRole = 'fromPod'): number {
    return this.dp.programs[prog].testRun({ data: frame }).retval;
  }

  async scrape(): Promise<Scrape> {
    return parseScrape(await this.metrics.registry.metrics());
  }
}

// ---- objects ---------------------------------------------------------------------------

export interface PortSpec {
  name: string;
  port: number;
  targetPort?: number;
  protocol?: 'TCP' | 'UDP';
}

export function service(name: string, clusterIP: string, ports: PortSpec[], annotations?: Record<string, string>): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      selector: { app: name },
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: (p.targetPort ?? p.port) as never, protocol: p.protocol ?? 'TCP' })),
    },
  };
}

export function endpointSlice(svc: string, addrs: string[], ports: PortSpec[], triggerTime?: Date, name = `${svc}-a`): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': svc },
      ...(triggerTime ? { annotations: { [TRIGGER_TIME_ANNOTATION]: triggerTime.toISOString() } } : {}),
    },
    addressType: 'IPv4',
    endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node1' })),
    ports: ports.map((p) => ({ name: p.name, port: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP' })),
  };
}
