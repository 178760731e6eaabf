// The test API server's wire behaviour, checked over plain HTTP (it stands in for
// kube-apiserver in other tests, so it has to behave like one).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TestApiServer } from './server.js';

interface WatchEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string } };
}

async function start(t: TestContext, historyLimit?: number): Promise<TestApiServer> {
  const s = await TestApiServer.start(historyLimit === undefined ? {} : { historyLimit });
  t.after(() => s.close());
  return s;
}

function get(s: TestApiServer, path: string, token = 'kpx-test-token', signal?: AbortSignal): Promise<Response> {
  return fetch(s.url + path, { headers: { Authorization: `Bearer ${token}` }, signal });
}

/** Opens a watch and collects its events until the stream ends (or abort). */
function openWatch(s: TestApiServer, path: string): { events: WatchEvent[]; ended: Promise<void>; abort(): void } {
  const events: WatchEvent[] = [];
  const ctl = new AbortController();
  const ended = (async () => {
    const res = await get(s, path, undefined, ctl.signal);
    assert.equal(res.status, 200);
    let buf = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as WatchEvent);
          buf = buf.slice(nl + 1);
        }
      }
    } catch (e) {
      if (!ctl.signal.aborted) throw e;
    }
  })();
  return { events, ended, abort: () => ctl.abort() };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const svc = (name: string, ns = 'default') => ({ kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP: '10.96.0.1' } });

test('list: items without kind, list resourceVersion, server-assigned metadata', async (t) => {
  const s = await start(t);
  const created = s.create(svc('a'));
  s.create(svc('b', 'other'));
  assert.match(created.metadata!.uid!, /^[0-9a-f-]{36}$/);
  assert.match(created.metadata!.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const res = await get(s, '/api/v1/services');
  assert.equal(res.status, 200);
  const body = (await res.json()) as { kind: string; metadata: { resourceVersion: string }; items: Array<Record<string, unknown>> };
  assert.equal(body.kind, 'ServiceList');
  assert.equal(body.metadata.resourceVersion, String(s.store.resourceVersion));
  assert.equal(body.items.length, 2);
  assert.equal(body.items[0]!['kind'], undefined);

  const ns = (await (await get(s, '/api/v1/namespaces/other/services')).json()) as { items: unknown[] };
  assert.equal(ns.items.length, 1, 'namespaced collection');
});

test('auth, unknown paths and bad selectors answer with Status objects', async (t) => {
  const s = await start(t);
  assert.equal((await get(s, '/api/v1/services', 'wrong')).status, 401);
  const nf = await get(s, '/api/v1/secrets');
  assert.equal(nf.status, 404);
  assert.equal(((await nf.json()) as { kind: string }).kind, 'Status');
  assert.equal((await get(s, '/api/v1/nodes?fieldSelector=spec.nodeName%3Dx')).status, 400);
});

test('watch: replays from resourceVersion, streams live events, DELETED carries a new resourceVersion', async (t) => {
  const s = await start(t);
  const a = s.create(svc('a'));
  const b = s.create(svc('b'));
  const w = openWatch(s, `/api/v1/services?watch=true&resourceVersion=${a.metadata!.resourceVersion}`);
  t.after(() => w.abort());
  await until(() => w.events.length === 1, 'replayed event');
  assert.equal(w.events[0]!.object.metadata?.name, 'b');
  assert.equal(w.events[0]!.object.kind, 'Service', 'watch objects carry kind');
  s.update({ ...s.get('Service', 'default', 'a')!, spec: { clusterIP: '10.96.0.2' } });
  const del = s.delete('Service', 'default', 'b');
  await until(() => w.events.length === 3, 'live events');
  assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
  assert.equal(w.events[2]!.object.metadata?.resourceVersion, del.metadata!.resourceVersion);
  assert.ok(Number(del.metadata!.resourceVersion) > Number(b.metadata!.resourceVersion));
});

test('watch without resourceVersion starts with the current state as ADDED events', async (t) => {
  const s = await start(t);
  s.create(svc('a'));
  const w = openWatch(s, '/api/v1/services?watch=1');
  t.after(() => w.abort());
  await until(() => w.events.length === 1, 'initial ADDED');
  assert.equal(w.events[0]!.type, 'ADDED');
});

test('watch from a compacted resourceVersion gets an ERROR event with a 410 Status, then the stream ends', async (t) => {
  const s = await start(t);
  const a = s.create(svc('a'));
  s.create(svc('b'));
  s.compactHistory();
  const w = openWatch(s, `/api/v1/services?watch=true&resourceVersion=${a.metadata!.resourceVersion}`);
  await w.ended;
  assert.equal(w.events.length, 1);
  assert.equal(w.events[0]!.type, 'ERROR');
  assert.equal(w.events[0]!.object.kind, 'Status');
  assert.equal(w.events[0]!.object.code, 410);
  assert.equal(w.events[0]!.object.reason, 'Expired');
});

test('history is bounded: resuming from beyond the window is 410 too', async (t) => {
  const s = await start(t, 3);
  const first = s.create(svc('a'));
  for (const n of ['b', 'c', 'd', 'e']) s.create(svc(n));
  const w = openWatch(s, `/api/v1/services?watch=true&resourceVersion=${first.metadata!.resourceVersion}`);
  await w.ended;
  assert.equal(w.events[0]?.object.code, 410);
});

test('field selectors: objects moving in and out of the selector read as ADDED and DELETED', async (t) => {
  const s = await start(t);
  const w = openWatch(s, `/api/v1/pods?watch=true&resourceVersion=${s.store.resourceVersion}&fieldSelector=spec.nodeName%3Dn1`);
  t.after(() => w.abort());
  await until(() => s.activeWatches === 1, 'watch open');
  const p = s.create({ kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'n2' } });
  s.update({ ...p, spec: { nodeName: 'n1' } });
  s.update({ ...p, spec: { nodeName: 'n1' }, metadata: { ...p.metadata, labels: { x: 'y' } } });
  s.update({ ...p, spec: { nodeName: 'n2' } });
  await until(() => w.events.length === 3, 'events');
  assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
  const list = (await (await get(s, '/api/v1/nodes?fieldSelector=metadata.name%3Dnone')).json()) as { items: unknown[] };
  assert.deepEqual(list.items, []);
});

test('label selectors filter lists', async (t) => {
  const s = await start(t);
  s.create({ ...svc('a'), metadata: { name: 'a', labels: { 'service.kubernetes.io/headless': '' } } });
  s.create(svc('b'));
  const names = async (sel: string) =>
    ((await (await get(s, `/api/v1/services?labelSelector=${encodeURIComponent(sel)}`)).json()) as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name);
  assert.deepEqual(await names('!service.kubernetes.io/headless'), ['b']);
  assert.deepEqual(await names('service.kubernetes.io/headless'), ['a']);
});

test('bookmarks are sent only to watches that asked; timeoutSeconds ends the stream cleanly', async (t) => {
  const s = await start(t);
  const withBm = openWatch(s, `/api/v1/services?watch=true&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=1`);
  const without = openWatch(s, `/api/v1/services?watch=true&resourceVersion=1`);
  t.after(() => without.abort());
  await until(() => s.activeWatches === 2, 'watches open');
  s.sendBookmark();
  await withBm.ended; // the 1 s timeout
  assert.deepEqual(withBm.events.map((e) => e.type), ['BOOKMARK']);
  assert.equal(withBm.events[0]!.object.metadata?.resourceVersion, String(s.store.resourceVersion));
  assert.deepEqual(without.events, []);
});

test('stop() refuses connections and cuts watches; restart() serves the same state on the same port', async (t) => {
  const s = await start(t);
  s.create(svc('a'));
  const port = s.port;
  const w = openWatch(s, '/api/v1/services?watch=true&resourceVersion=1');
  await until(() => s.activeWatches === 1, 'watch open');
  await s.stop();
  await assert.rejects(w.ended);
  await assert.rejects(get(s, '/api/v1/services'));
  await s.restart();
  assert.equal(s.port, port);
  const list = (await (await get(s, '/api/v1/services')).json()) as { items: unknown[] };
  assert.equal(list.items.length, 1);
});

test('closeAllWatches() ends streams cleanly; freeze() holds requests until thaw()', async (t) => {
  const s = await start(t);
  const w = openWatch(s, '/api/v1/services?watch=true&resourceVersion=1');
  await until(() => s.activeWatches === 1, 'watch open');
  s.closeAllWatches();
  await w.ended;
  s.freeze();
  let answered = false;
  const pending = get(s, '/api/v1/services').then((r) => {
    answered = true;
    return r.status;
  });
  await until(() => s.requestsTo('/api/v1/services', false).length === 1, 'request arrived');
  assert.equal(answered, false);
  s.thaw();
  assert.equal(await pending, 200);
});

test('writeKubeconfig() points client-node at the server', async (t) => {
  const s = await start(t);
  const dir = await mkdtemp(join(tmpdir(), 'kpx-apiserver-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = await s.writeKubeconfig(dir);
  const cfg = parse(await readFile(path, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  assert.equal(cfg.clusters[0]!.cluster.server, s.url);
  const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  s.create(svc('a'));
  const list = await kc.makeApiClient(CoreV1Api).listServiceForAllNamespaces();
  assert.equal(list.items[0]?.metadata?.name, 'a');
});
