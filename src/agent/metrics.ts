// Prometheus metrics. kube-proxy's names where one exists, so dashboards carry over.
// docs/metrics.md lists every metric with its labels and an example scrape.

import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { listen, splitHostPort } from './health.js';
import { registerDatapathMetrics, type DatapathView, type FrontendView } from './metrics-datapath.js';

/** kube-proxy's network programming buckets (0.25 s to 5 min), with finer ones below
 *  0.25 s added: kpx usually programs a change within milliseconds of seeing it. */
const PROGRAMMING_BUCKETS = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
  ...Array.from({ length: 59 }, (_, i) => i + 1),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

export class AgentMetrics {
  readonly registry = new Registry();
  readonly syncDuration = new Histogram({
    name: 'kubeproxy_sync_proxy_rules_duration_seconds',
    help: 'Time one sync took to compute and write the datapath maps',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly lastSync = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
    help: 'Unix time of the last successful sync',
    registers: [this.registry],
  });
  readonly syncErrors = new Counter({
    name: 'kpx_sync_errors_total',
    help: 'Syncs that failed to write the maps (a full resync follows)',
    registers: [this.registry],
  });
  readonly objectErrors = new Counter({
    name: 'kpx_object_errors_total',
    help: 'Invalid objects reported and skipped',
    registers: [this.registry],
  });
  readonly mapWrites = new Counter({
    name: 'kpx_map_writes_total',
    help: 'Map entries written or deleted by syncs',
    registers: [this.registry],
  });
  readonly mapFull = new Counter({
    name: 'kpx_map_full_total',
    help: 'Syncs that left Services unprogrammed because a map was full (the error log names them)',
    labelNames: ['map'],
    registers: [this.registry],
  });
  readonly networkProgramming = new Histogram({
    name: 'kubeproxy_network_programming_duration_seconds',
    help: 'From the last-change-trigger-time of an EndpointSlice (or Service) to the end of the sync that programmed it',
    buckets: PROGRAMMING_BUCKETS,
    registers: [this.registry],
  });
  readonly endpointChanges = new Counter({
    name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
    help: 'EndpointSlice events (add, update, delete) of the proxied family received',
    registers: [this.registry],
  });
  readonly serviceChanges = new Counter({
    name: 'kubeproxy_sync_proxy_rules_service_changes_total',
    help: 'Service events (add, update, delete) received',
    registers: [this.registry],
  });
  readonly attachFailures = new Counter({
    name: 'kpx_attach_failures_total',
    help: 'Failed attempts to attach the datapath to an interface',
    labelNames: ['interface'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Adds the metrics read from the datapath's maps at scrape time (metrics-datapath.ts). */
  observeDatapath(dp: DatapathView, frontends: FrontendView): void {
    registerDatapathMetrics(this.registry, dp, frontends);
  }

  async serve(bind: string): Promise<Server> {
    const [host, port] = splitHostPort(bind);
    const srv = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404);
        res.end();
        return;
      }
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
    });
    return listen(srv, host, port);
  }
}
