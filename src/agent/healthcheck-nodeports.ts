// T6: for every LoadBalancer Service with externalTrafficPolicy Local, an HTTP server on
// its healthCheckNodePort answers 200 while this node has at least one local ready
// endpoint and 503 otherwise, so a cloud load balancer only sends to nodes that can
// serve without leaving the node. Servers follow the Services: created, updated in
// place, closed when the Service goes.

import { createServer, type Server } from 'node:http';
import type { Logger } from '../log.js';
import type { HealthCheckTarget } from '../model/types.js';

interface Entry {
  server: Server;
  service: string;
  localEndpoints: number;
}

export class HealthCheckNodePorts {
  private readonly byPort = new Map<number, Entry>();

  constructor(
    private readonly log: Logger,
    private readonly host = '0.0.0.0',
  ) {}

  /** Brings the set of servers in line with the Services that have a healthCheckNodePort. */
  update(targets: Iterable<HealthCheckTarget>): void {
    const want = new Map<number, { service: string; localEndpoints: number }>();
    for (const m of targets) {
      if (want.has(m.healthCheckNodePort)) {
        this.log.warn('healthCheckNodePort used by two Services', { port: m.healthCheckNodePort, service: m.key });
        continue;
      }
      want.set(m.healthCheckNodePort, { service: m.key, localEndpoints: m.localReadyEndpoints });
    }
    for (const [port, e] of this.byPort) {
      if (!want.has(port)) {
        e.server.close();
        this.byPort.delete(port);
      }
    }
    for (const [port, w] of want) {
      const e = this.byPort.get(port);
      if (e) {
        e.service = w.service;
        e.localEndpoints = w.localEndpoints;
      } else {
        this.byPort.set(port, this.serve(port, w.service, w.localEndpoints));
      }
    }
  }

  ports(): number[] {
    return [...this.byPort.keys()].sort((a, b) => a - b);
  }

  close(): void {
    for (const e of this.byPort.values()) e.server.close();
    this.byPort.clear();
  }

  private serve(port: number, service: string, localEndpoints: number): Entry {
    const entry: Entry = { server: createServer(), service, localEndpoints };
    entry.server.on('request', (_req, res) => {
      const [namespace, name] = entry.service.split('/');
      const ok = entry.localEndpoints > 0;
      const body = JSON.stringify({ service: { namespace, name }, localEndpoints: entry.localEndpoints, serviceProxyHealthy: true }) + '\n';
      res.writeHead(ok ? 200 : 503, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
    });
    entry.server.on('error', (err) => this.log.error('healthCheckNodePort server failed', { port, service, err }));
    entry.server.listen(port, this.host);
    return entry;
  }
}
