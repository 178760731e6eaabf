// Lists in pages (src/sources/apiserver/paged-list.ts, raw-list.ts) against the test API
// server over real HTTP with a kubeconfig's credentials: every object once, the first
// page's resourceVersion, objects reduced page by page, one unpaged list when a continue
// token expires mid-way, API errors with their status. The whole source lists in pages too.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiServerSource } from '../../src/sources/apiserver.js';
import { listInPages, type PageRequest } from '../../src/sources/apiserver/paged-list.js';
import { ListError, listPage } from '../../src/sources/apiserver/raw-list.js';
import { TestApiServer } from '../apiserver/server.js';
import { RecordingSink } from './recording-sink.js';
import { waitFor } from './wait.js';

function service(i: number): object {
  const ip = `10.96.0.${10 + i}`;
  return { kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] } };
}

async function setup(t: TestContext, services: number): Promise<{ server: TestApiServer; kubeConfig: KubeConfig }> {
  const server = await TestApiServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'kpx-paged-'));
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < services; i++) server.create(service(i));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(await server.writeKubeconfig(dir));
  return { server, kubeConfig };
}

const nameOf = (o: unknown): string => (o as { metadata?: { name?: string } }).metadata?.name ?? '';
const services = (kc: KubeConfig) => (p: PageRequest) => listPage(kc, '/api/v1/services', undefined, p, nameOf);

test('a list in pages of 3 asks with limit and continue and returns every object once, reduced as it goes', async (t) => {
  const { server, kubeConfig } = await setup(t, 8);
  const rvBefore = String(server.store.resourceVersion);
  const result = await listInPages(services(kubeConfig), 3);
  assert.deepEqual(result.items, ['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4', 'svc-5', 'svc-6', 'svc-7']);
  assert.equal(result.resourceVersion, rvBefore);
  const lists = server.requestsTo('/api/v1/services', false);
  assert.equal(lists.length, 3);
  assert.deepEqual(lists.map((r) => r.query['limit']), ['3', '3', '3']);
  assert.equal(lists[0]!.query['continue'], undefined);
  assert.ok(lists[1]!.query['continue'] && lists[2]!.query['continue']);
});

test('objects changed between pages do not show: every page comes from the first page\'s snapshot', async (t) => {
  const { server, kubeConfig } = await setup(t, 5);
  const rvBefore = String(server.store.resourceVersion);
  let pages = 0;
  const result = await listInPages(
    async (p: PageRequest) => {
      const page = await services(kubeConfig)(p);
      if (pages++ === 0) {
        server.delete('Service', 'default', 'svc-4');
        server.create(service(9));
      }
      return page;
    },
    2,
  );
  assert.deepEqual(result.items, ['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4']);
  assert.equal(result.resourceVersion, rvBefore, 'the watch resumes from the snapshot, so it will see the delete and the create');
});

test('a continue token that expired mid-list (410) falls back to one unpaged list', async (t) => {
  const { server, kubeConfig } = await setup(t, 5);
  let pages = 0;
  const result = await listInPages(
    async (p: PageRequest) => {
      const page = await services(kubeConfig)(p);
      if (pages++ === 0) {
        server.create(service(7));
        server.compactHistory(); // expires every continue token
      }
      return page;
    },
    2,
  );
  assert.deepEqual(result.items.sort(), ['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4', 'svc-7']);
  assert.equal(result.resourceVersion, String(server.store.resourceVersion));
  const lists = server.requestsTo('/api/v1/services', false);
  assert.equal(lists.length, 3, 'first page, expired second page, unpaged list');
  assert.equal(lists[2]!.query['limit'], undefined);
  assert.equal(lists[2]!.query['continue'], undefined);
});

test('any other error on a page fails the list (the source retries it with backoff)', async (t) => {
  const { server, kubeConfig } = await setup(t, 5);
  let pages = 0;
  await assert.rejects(
    listInPages(
      async (p: PageRequest) => {
        if (pages++ === 1) await server.stop();
        return services(kubeConfig)(p);
      },
      2,
    ),
  );
});

test('a list sends the kubeconfig\'s credentials and the field selector; an API error keeps its status', async (t) => {
  const { server, kubeConfig } = await setup(t, 1);
  const page = await listPage(kubeConfig, '/api/v1/services', 'metadata.name=svc-0', { limit: 5 }, (o) => o);
  assert.deepEqual(page.items.map(nameOf), ['svc-0']);
  const rec = server.requestsTo('/api/v1/services', false).at(-1)!;
  assert.equal(rec.query['fieldSelector'], 'metadata.name=svc-0');
  assert.equal(rec.query['limit'], '5');
  // The server refuses requests without the kubeconfig's bearer token.
  const anonymous = new KubeConfig();
  anonymous.loadFromClusterAndUser({ name: 'c', server: server.url, skipTLSVerify: true }, { name: 'u' });
  await assert.rejects(listPage(anonymous, '/api/v1/services', undefined, {}, (o) => o), (err: unknown) => err instanceof ListError && err.statusCode === 401);
  await assert.rejects(listPage(kubeConfig, '/api/v1/services', 'no-operator', {}, (o) => o), (err: unknown) => err instanceof ListError && err.statusCode === 400);
});

test('the API-server source lists every resource in pages and delivers each object once', async (t) => {
  const { server, kubeConfig } = await setup(t, 7);
  const sink = new RecordingSink();
  const source = new ApiServerSource({ kubeConfig, nodeName: 'node-a', listPageSize: 2, watchTimeoutSeconds: 60 });
  t.after(() => source.stop());
  await source.start(sink);
  await waitFor(() => sink.syncedCount === 1, 'synced');
  assert.equal(sink.services.size, 7);
  assert.equal(sink.of('service').length, 7);
  assert.equal(server.requestsTo('/api/v1/services', false).length, 4, '7 objects in pages of 2');
  for (const r of server.requestsTo('/api/v1/services', false)) assert.equal(r.query['limit'], '2');
  assert.deepEqual(sink.violations, []);
});

test('a list response cut off mid-body fails the list (the source retries it), never yields a partial list', async (t) => {
  // A server that sends half of a list and then drops the connection, or ends it cleanly
  // where the JSON is not finished.
  const body = JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: '7' }, items: [service(0), service(1), service(2)] });
  for (const how of ['destroy', 'end'] as const) {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(body.slice(0, Math.floor(body.length / 2)));
      setTimeout(() => (how === 'destroy' ? res.socket?.destroy() : res.end()), 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser({ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }, { name: 'u' });
    await assert.rejects(
      listPage(kc, '/api/v1/services', undefined, {}, nameOf),
      (err: unknown) => err instanceof Error,
      how,
    );
  }
});
