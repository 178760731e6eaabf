// The API-server source: informers for Services, EndpointSlices, this node's Node and
// (optionally) the Pods on this node, forwarded to the sink as {prev, cur} pairs.
// Failures are retried with backoff and never reach the sink; the datapath keeps serving
// the last state meanwhile (nothing here clears state on errors).

import type { KubeConfig, KubernetesObject, V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../log.js';
import type { BackoffOptions } from './apiserver/backoff.js';
import { ResourceWatcher } from './apiserver/resource-watcher.js';
import { watchedResources, type WatchedResource } from './apiserver/resources.js';
import type { Source, SourceSink } from './types.js';

export interface ApiServerSourceOptions {
  /** From KubeConfig.loadFromCluster() or loadFromFile(). */
  kubeConfig: KubeConfig;
  /** This node's name: its Node object and its Pods are watched. */
  nodeName: string;
  /** Watch Pods on this node (needed for hostPort). Default false. */
  watchPods?: boolean;
  logger?: Logger;
  /** Retry delays after a failed list or watch. Default 1 s doubling up to 30 s. */
  backoff?: BackoffOptions;
  /** Objects per list request (paged-list.ts's DEFAULT_PAGE_SIZE by default). */
  listPageSize?: number;
  /**
   * Server-side watch timeout in seconds; a resource that hears nothing for twice this long
   * is relisted. Default: random in 300..599 (spreads reconnects of many nodes, as client-go).
   */
  watchTimeoutSeconds?: number;
}

export class ApiServerSource implements Source {
  private watchers: ResourceWatcher[] = [];
  private stopped = false;

  constructor(private readonly options: ApiServerSourceOptions) {}

  async start(sink: SourceSink): Promise<void> {
    if (this.watchers.length > 0) throw new Error('ApiServerSource already started');
    const logger = this.options.logger ?? silentLogger;
    const resources = watchedResources(this.options.nodeName, this.options.watchPods ?? false);
    const watchTimeoutSeconds = this.options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const unsynced = new Set(resources.map((r) => r.name));
    const guarded = (what: string, f: () => void): void => {
      if (this.stopped) return;
      try {
        f();
      } catch (err) {
        logger.error('source sink threw', { call: what, error: err });
      }
    };
    this.watchers = resources.map(
      (resource) =>
        new ResourceWatcher({
          kubeConfig: this.options.kubeConfig,
          resource,
          logger,
          backoff: this.options.backoff,
          listPageSize: this.options.listPageSize,
          watchTimeoutSeconds,
          onChange: (prev, cur) => guarded(resource.name, () => deliver(sink, resource, prev, cur)),
          onSynced: () => {
            unsynced.delete(resource.name);
            logger.debug('initial list delivered', { resource: resource.name });
            if (unsynced.size === 0) guarded('synced', () => sink.synced());
          },
        }),
    );
    // Not awaited: an unreachable API server must not block startup; watchers retry alone.
    for (const w of this.watchers) w.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.watchers.map((w) => w.stop()));
  }
}

function deliver(sink: SourceSink, r: WatchedResource, prev: KubernetesObject | undefined, cur: KubernetesObject | undefined): void {
  switch (r.kind) {
    case 'Service':
      sink.service(prev as V1Service | undefined, cur as V1Service | undefined);
      return;
    case 'EndpointSlice':
      sink.endpointSlice(prev as V1EndpointSlice | undefined, cur as V1EndpointSlice | undefined);
      return;
    case 'Node':
      sink.node(cur as V1Node | undefined);
      return;
    case 'Pod':
      sink.pod(prev as V1Pod | undefined, cur as V1Pod | undefined);
      return;
    case 'Endpoints':
      return; // never watched: the control plane mirrors Endpoints into EndpointSlices (S5)
  }
}
