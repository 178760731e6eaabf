// /healthz and /readyz, as kube-proxy serves them: healthz is 200 while syncs keep
// succeeding (503 when the last success is older than twice the sync period), readyz is
// 200 once every source has synced and the first sync has been written.

import { createServer, type Server } from 'node:http';

export interface HealthState {
  ready(): boolean;
  lastSuccessMs(): number | undefined;
}

export function startHealthServer(bind: string, state: HealthState, staleAfterMs: number): Promise<Server> {
  const [host, port] = splitHostPort(bind);
  const srv = createServer((req, res) => {
    const last = state.lastSuccessMs();
    const healthy = last !== undefined && Date.now() - last <= staleAfterMs;
    const body = (ok: boolean, extra: Record<string, unknown>): void => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok, ...extra }) + '\n');
    };
    if (req.url === '/healthz') body(healthy, { lastUpdated: last ? new Date(last).toISOString() : null });
    else if (req.url === '/readyz') body(state.ready(), {});
    else {
      res.writeHead(404);
      res.end();
    }
  });
  return listen(srv, host, port);
}

export function splitHostPort(bind: string): [string, number] {
  const i = bind.lastIndexOf(':');
  const port = Number(bind.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`not HOST:PORT: ${bind}`);
  return [bind.slice(0, i) || '0.0.0.0', port];
}

export function listen(srv: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      resolve(srv);
    });
  });
}
