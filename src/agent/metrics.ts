// Prometheus metrics. kube-proxy's names where one exists, so dashboards carry over.

import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { listen, splitHostPort } from './health.js';

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
  readonly attachFailures = new Counter({
    name: 'kpx_attach_failures_total',
    help: 'Failed attempts to attach the datapath to an interface',
    labelNames: ['interface'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
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
