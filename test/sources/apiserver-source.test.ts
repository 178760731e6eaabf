// The API-server source against a real HTTP API server (test/apiserver), through
// client-node's informers: nothing mocked.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiServerSource, type ApiServerSourceOptions } from '../../src/sources/apiserver.js';
import { TestApiServer } from '../apiserver/server.js';
import { CaptureLogger } from './capture-logger.js';
import { RecordingSink } from './recording-sink.js';
import { waitFor } from './wait.js';

const NODE = 'node-a';

function service(name: string, clusterIP: string, port = 80, namespace = 'default'): object {
  return { kind: 'Service', metadata: { name, namespace }, spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', port, protocol: 'TCP', targetPort: 8080 }] } };
}

function slice(name: string, svc: string, ips: string[]): object {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: NODE })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

function node(name: string, zone = 'z1'): object {
  return { kind: 'Node', metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }] } };
}

function pod(name: string, nodeName: string): object {
  return { kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] } };
}

interface Harness {
  server: TestApiServer;
  sink: RecordingSink;
  source: ApiServerSource;
  logger: CaptureLogger;
}

/** A server (optionally pre-populated), a source pointed at it through a kubeconfig file. */
async function setup(t: TestContext, populate: (s: TestApiServer) => void = () => {}, extra: Partial<ApiServerSourceOptions> = {}): Promise<Harness> {
  const server = await TestApiServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'kpx-sources-'));
  const logger = new CaptureLogger();
  const sink = new RecordingSink();
  let source: ApiServerSource | undefined;
  t.after(async () => {
    await source?.stop();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  populate(server);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(await server.writeKubeconfig(dir));
  source = new ApiServerSource({ kubeConfig, nodeName: NODE, watchPods: true, logger, backoff: { initialMs: 50, maxMs: 400 }, watchTimeoutSeconds: 60, ...extra });
  return { server, sink, source, logger };
}

function rvOf(o: { metadata?: { resourceVersion?: string } } | undefined): string | undefined {
  return o?.metadata?.resourceVersion;
}

test('initial list of every resource is delivered, then synced() once (S5 inputs, node and pod filtering)', async (t) => {
  const h = await setup(t, (s) => {
    s.create(service('web', '10.96.0.10'));
    s.create(service('db', '10.96.0.11', 5432, 'prod'));
    s.create(slice('web-abc', 'web', ['10.0.0.1', '10.0.0.2']));
    s.create(node(NODE));
    s.create(node('node-b'));
    s.create(pod('here', NODE));
    s.create(pod('elsewhere', 'node-b'));
  });
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');

  const syncedAt = h.sink.events.findIndex((e) => e.kind === 'synced');
  assert.equal(syncedAt, h.sink.events.length - 1, 'synced comes after every initial object');
  assert.deepEqual([...h.sink.services.keys()].sort(), ['default/web', 'prod/db']);
  assert.deepEqual([...h.sink.slices.keys()], ['default/web-abc']);
  assert.equal(h.sink.nodeObj?.metadata?.name, NODE, 'only this node');
  assert.equal(h.sink.of('node').length, 1);
  assert.deepEqual([...h.sink.pods.keys()], ['default/here'], 'only pods on this node');
  for (const e of h.sink.events) if (e.kind !== 'synced') assert.equal(e.prev, undefined, 'initial events are adds');

  // Delivered objects have kind/apiVersion whatever the wire had (list items come
  // without), and are compacted: what the server adds and a proxy never reads is gone.
  const web = h.sink.services.get('default/web')!;
  assert.equal(web.kind, 'Service');
  assert.equal(web.apiVersion, 'v1');
  assert.equal(web.metadata?.creationTimestamp, undefined);
  assert.equal(web.metadata?.uid, undefined);
  assert.equal(h.sink.nodeObj?.kind, 'Node');
  assert.equal(h.sink.slices.get('default/web-abc')?.apiVersion, 'discovery.k8s.io/v1');
  assert.deepEqual(h.sink.violations, []);
});

test('synced() is delivered even when there is nothing to list and no Node object', async (t) => {
  const h = await setup(t);
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');
  assert.deepEqual(h.sink.events, [{ kind: 'synced', key: '' }]);
});

test('creates, updates and deletes propagate as {prev, cur} (C4)', async (t) => {
  const h = await setup(t, (s) => {
    s.create(service('web', '10.96.0.10'));
    s.create(node(NODE));
  });
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');

  const created = h.server.create(service('api', '10.96.0.12'));
  await waitFor(() => h.sink.services.has('default/api'), 'api added');
  assert.equal(rvOf(h.sink.services.get('default/api')), created.metadata?.resourceVersion);
  // Watch events are compacted as list items are (CompactingWatch): typed, server fields gone.
  assert.equal(h.sink.services.get('default/api')?.kind, 'Service');
  assert.equal(h.sink.services.get('default/api')?.metadata?.uid, undefined);
  assert.ok(created.metadata?.uid, 'the server did set a uid');

  const before = h.server.get('Service', 'default', 'web')!;
  const updated = h.server.update({ ...before, spec: { ...(before['spec'] as object), ports: [{ name: 'http', port: 81, protocol: 'TCP', targetPort: 8080 }] } });
  await waitFor(() => rvOf(h.sink.services.get('default/web')) === updated.metadata?.resourceVersion, 'web updated');
  const upd = h.sink.of('service', 'default/web').at(-1)!;
  assert.equal(rvOf(upd.prev), before.metadata?.resourceVersion, 'prev is the object before the update');
  assert.equal((upd.cur as { spec?: { ports?: Array<{ port: number }> } }).spec?.ports?.[0]?.port, 81);

  h.server.delete('Service', 'default', 'api');
  await waitFor(() => !h.sink.services.has('default/api'), 'api deleted');
  const del = h.sink.of('service', 'default/api').at(-1)!;
  assert.equal(del.cur, undefined);
  assert.equal(rvOf(del.prev), created.metadata?.resourceVersion, 'prev of a delete is the last object seen');

  h.server.create(slice('api-1', 'api', ['10.0.0.9']));
  await waitFor(() => h.sink.slices.has('default/api-1'), 'slice added');
  h.server.delete('EndpointSlice', 'default', 'api-1');
  await waitFor(() => !h.sink.slices.has('default/api-1'), 'slice deleted');

  const n = h.server.get('Node', undefined, NODE)!;
  h.server.update({ ...n, metadata: { ...n.metadata, labels: { 'topology.kubernetes.io/zone': 'z2' } } });
  await waitFor(() => h.sink.nodeObj?.metadata?.labels?.['topology.kubernetes.io/zone'] === 'z2', 'node relabelled');
  h.server.create(node('node-b')); // not ours: ignored
  h.server.delete('Node', undefined, NODE);
  await waitFor(() => h.sink.nodeObj === undefined, 'node deleted');

  h.server.create(pod('p1', NODE));
  await waitFor(() => h.sink.pods.has('default/p1'), 'pod added');
  // Moving out of the field selector reads as a delete, as the real watch cache sends it.
  const p1 = h.server.get('Pod', 'default', 'p1')!;
  h.server.update({ ...p1, spec: { ...(p1['spec'] as object), nodeName: 'node-b' } });
  await waitFor(() => !h.sink.pods.has('default/p1'), 'pod gone from this node');
  assert.deepEqual(h.sink.violations, []);
});

test('a watch closed by the server resumes from its resourceVersion without relisting', async (t) => {
  const h = await setup(t, (s) => s.create(service('web', '10.96.0.10')));
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');
  const lists = h.server.requestsTo('/api/v1/services', false).length;
  const watches = h.server.requestsTo('/api/v1/services', true).length;

  h.server.closeAllWatches();
  await waitFor(() => h.server.requestsTo('/api/v1/services', true).length > watches, 'watch re-established');
  const resumed = h.server.requestsTo('/api/v1/services', true).at(-1)!;
  assert.equal(resumed.query['resourceVersion'], rvOf(h.sink.services.get('default/web')));

  h.server.create(service('late', '10.96.0.13'));
  await waitFor(() => h.sink.services.has('default/late'), 'event after resume delivered');
  assert.equal(h.server.requestsTo('/api/v1/services', false).length, lists, 'no relist');
  assert.equal(h.sink.of('service', 'default/web').length, 1, 'nothing re-delivered');
  assert.deepEqual(h.sink.violations, []);
});

test('410 Gone: the source relists and delivers what changed in the gap, deletions included', async (t) => {
  const h = await setup(t, (s) => {
    s.create(service('keep', '10.96.0.10'));
    s.create(service('gone', '10.96.0.11'));
    s.create(service('changed', '10.96.0.12'));
    s.create(slice('gone-1', 'gone', ['10.0.0.1']));
  });
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');
  const lists = h.server.requestsTo('/api/v1/services', false).length;
  const watches = h.server.requestsTo('/api/v1/services', true).length;
  const mark = h.sink.events.length;

  // Hold the reconnect, change things, forget the history, then let it through.
  h.server.freeze();
  h.server.closeAllWatches();
  h.server.delete('Service', 'default', 'gone');
  h.server.delete('EndpointSlice', 'default', 'gone-1');
  const ch = h.server.get('Service', 'default', 'changed')!;
  h.server.update({ ...ch, spec: { ...(ch['spec'] as object), ports: [{ name: 'http', port: 81, protocol: 'TCP', targetPort: 8080 }] } });
  h.server.create(service('new', '10.96.0.14'));
  h.server.compactHistory();
  h.server.thaw();

  await waitFor(() => h.server.requestsTo('/api/v1/services', false).length > lists, 'relist after 410');
  const resumed = h.server.requestsTo('/api/v1/services', true)[watches]!;
  assert.ok(Number(resumed.query['resourceVersion']) < h.server.store.compactedRevision, 'the resume point was compacted away (410)');
  await waitFor(() => h.sink.services.has('default/new') && !h.sink.services.has('default/gone') && !h.sink.slices.has('default/gone-1'), 'gap delivered');
  await waitFor(() => h.sink.services.get('default/changed')?.spec?.ports?.[0]?.port === 81, 'update delivered');
  assert.deepEqual(h.sink.deletes('service', mark), ['default/gone']);
  assert.deepEqual(h.sink.deletes('endpointSlice', mark), ['default/gone-1']);
  assert.equal(h.sink.of('service', 'default/keep').length, 1, 'unchanged objects are not re-delivered');
  assert.equal(h.sink.syncedCount, 1);
  assert.deepEqual(h.sink.violations, []);
});

test('API server down then back: retries with backoff, no spurious deletes, catches up', async (t) => {
  const h = await setup(t, (s) => {
    s.create(service('a', '10.96.0.10'));
    s.create(service('b', '10.96.0.11'));
    s.create(slice('a-1', 'a', ['10.0.0.1']));
    s.create(node(NODE));
  });
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');

  await h.server.stop();
  const mark = h.sink.events.length;
  // Changes the source cannot see yet (the store outlives the outage, as etcd does).
  h.server.delete('Service', 'default', 'b');
  h.server.create(service('c', '10.96.0.12'));
  // Several failed attempts on every resource, and nothing delivered meanwhile.
  for (const r of ['services', 'endpointslices', 'node', 'pods']) {
    await waitFor(() => h.logger.count('list/watch failed; retrying', r) >= 3, `retries of ${r}`);
  }
  assert.equal(h.sink.events.length, mark, 'nothing delivered while the API server is down');
  assert.ok(h.sink.services.has('default/b'), 'state kept while down');

  await h.server.restart();
  await waitFor(() => h.sink.services.has('default/c') && !h.sink.services.has('default/b'), 'caught up');
  assert.deepEqual(h.sink.deletes('service', mark), ['default/b']);
  assert.deepEqual(h.sink.deletes('endpointSlice', mark), []);
  assert.equal(h.sink.nodeObj?.metadata?.name, NODE, 'node not dropped by the outage');
  await waitFor(() => h.logger.count('watch re-established') >= 1, 'recovery logged');
  assert.deepEqual(h.sink.violations, []);
});

test('API server unreachable at start: the source keeps trying and syncs once it is up', async (t) => {
  const h = await setup(t, (s) => s.create(service('a', '10.96.0.10')));
  await h.server.stop();
  await h.source.start(h.sink);
  await waitFor(() => h.logger.count('list/watch failed; retrying', 'services') >= 2, 'retrying');
  assert.equal(h.sink.syncedCount, 0, 'not synced while unreachable');
  await h.server.restart();
  await waitFor(() => h.sink.syncedCount === 1, 'synced after the server came up');
  assert.ok(h.sink.services.has('default/a'));
});

test('bookmarks advance the resume point, so compaction after quiet periods needs no relist', async (t) => {
  const h = await setup(t, (s) => s.create(service('web', '10.96.0.10')));
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');
  const lists = h.server.requestsTo('/api/v1/services', false).length;
  const watches = h.server.requestsTo('/api/v1/services', true).length;
  assert.equal(h.server.requestsTo('/api/v1/services', true).at(-1)?.query['allowWatchBookmarks'], 'true');

  // Unrelated objects move the global resourceVersion past the Services watch's.
  h.server.create(node('node-b'));
  h.server.create(node('node-c'));
  const bookmarkRv = String(h.server.store.resourceVersion);
  h.server.sendBookmark();
  h.server.compactHistory();
  // The bookmark travels on the open stream; once the stream ends, the resume point shows it.
  await waitFor(() => {
    h.server.closeAllWatches();
    return h.server.requestsTo('/api/v1/services', true).slice(watches).some((r) => r.query['resourceVersion'] === bookmarkRv);
  }, 'watch resumed from the bookmark');
  assert.equal(h.server.requestsTo('/api/v1/services', false).length, lists, 'no relist');
});

test('a silently dead watch (server hangs) is detected and relisted', async (t) => {
  const h = await setup(t, (s) => s.create(service('a', '10.96.0.10')), { watchTimeoutSeconds: 1 });
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');
  const lists = h.server.requestsTo('/api/v1/services', false).length;

  h.server.freeze();
  h.server.delete('Service', 'default', 'a');
  h.server.create(service('b', '10.96.0.11'));
  await waitFor(() => h.logger.count('watch silent for too long; restarting it with a fresh list', 'services') >= 1, 'watchdog fired');
  await waitFor(() => h.server.requestsTo('/api/v1/services', false).length > lists, 'relist requested');
  assert.ok(h.sink.services.has('default/a'), 'nothing deleted while the server hangs');
  h.server.thaw();
  await waitFor(() => h.sink.services.has('default/b') && !h.sink.services.has('default/a'), 'caught up after the hang');
  assert.equal(h.sink.deletes('service').length, 1);
  assert.deepEqual(h.sink.violations, []);
});

test('a sink that throws does not stop delivery', async (t) => {
  const h = await setup(t);
  let thrown = 0;
  const original = h.sink.service.bind(h.sink);
  h.sink.service = (prev, cur) => {
    original(prev, cur);
    if (cur?.metadata?.name === 'boom') {
      thrown++;
      throw new Error('consumer bug');
    }
  };
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');
  h.server.create(service('boom', '10.96.0.10'));
  h.server.create(service('after', '10.96.0.11'));
  await waitFor(() => h.sink.services.has('default/after'), 'later event delivered');
  assert.equal(thrown, 1);
  assert.equal(h.logger.count('source sink threw'), 1);
});

test('stop() ends delivery and closes every watch', async (t) => {
  const h = await setup(t, (s) => s.create(service('a', '10.96.0.10')));
  await h.source.start(h.sink);
  await waitFor(() => h.sink.syncedCount === 1, 'synced');
  await waitFor(() => h.server.activeWatches === 4, 'four watches open');
  await h.source.stop();
  const mark = h.sink.events.length;
  await waitFor(() => h.server.activeWatches === 0, 'watches closed by the client');
  h.server.create(service('b', '10.96.0.11'));
  h.server.closeAllWatches();
  assert.equal(h.sink.events.length, mark);
});
