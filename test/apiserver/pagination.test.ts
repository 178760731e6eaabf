// List pagination (limit/continue) of the test API server, checked over plain HTTP and through
// client-node, as kube-apiserver serves it: key order, one consistent snapshot for every page,
// remainingItemCount, 410 Expired for tokens whose snapshot is gone.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestApiServer } from './server.js';

interface ListBody {
  kind: string;
  code?: number;
  reason?: string;
  message?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: Array<{ metadata: { name: string; namespace?: string }; spec?: { clusterIP?: string } }>;
}

async function start(t: TestContext): Promise<TestApiServer> {
  const s = await TestApiServer.start();
  t.after(() => s.close());
  return s;
}

async function list(s: TestApiServer, path: string): Promise<{ status: number; body: ListBody }> {
  const res = await fetch(s.url + path, { headers: { Authorization: 'Bearer kpx-test-token' } });
  return { status: res.status, body: (await res.json()) as ListBody };
}

/** Follows continue tokens from `path` (which carries limit) to the end; returns every page. */
async function allPages(s: TestApiServer, path: string): Promise<ListBody[]> {
  const pages: ListBody[] = [];
  let token: string | undefined;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const { status, body } = await list(s, token === undefined ? path : `${path}${sep}continue=${encodeURIComponent(token)}`);
    assert.equal(status, 200, body.message);
    pages.push(body);
    token = body.metadata.continue;
  } while (token !== undefined);
  return pages;
}

const keys = (b: ListBody): string[] => b.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`);

const svc = (name: string, ns = 'default', labels?: Record<string, string>) => ({
  kind: 'Service',
  metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
  spec: { clusterIP: '10.96.0.1' },
});

test('paged list: pages cover every object once in key order, with remainingItemCount and the first page\'s resourceVersion', async (t) => {
  const s = await start(t);
  // Created out of order; "a-b/…" sorts before "a/…" in key order ('-' < '/'), "x10" before "x9".
  for (const [name, ns] of [['x9', 'a'], ['x10', 'a'], ['y', 'a-b'], ['z', 'default'], ['b', 'default'], ['c', 'kube-system'], ['a', 'a']]) {
    s.create(svc(name!, ns));
  }
  const expected = ['a-b/y', 'a/a', 'a/x10', 'a/x9', 'default/b', 'default/z', 'kube-system/c'];
  const pages = await allPages(s, '/api/v1/services?limit=3');
  assert.deepEqual(pages.map((p) => p.items.length), [3, 3, 1]);
  assert.deepEqual(pages.flatMap(keys), expected);
  assert.deepEqual(pages.map((p) => p.metadata.remainingItemCount), [4, 1, undefined]);
  assert.deepEqual(pages.map((p) => p.metadata.resourceVersion), Array(3).fill(String(s.store.resourceVersion)));
  assert.equal(pages[2]!.metadata.continue, undefined, 'no continue on the last page');
  assert.deepEqual(keys((await list(s, '/api/v1/services')).body), expected, 'unpaged lists are in key order too');

  const exact = await allPages(s, '/api/v1/services?limit=7');
  assert.equal(exact.length, 1, 'a page that holds everything has no continue');
  assert.equal(exact[0]!.metadata.remainingItemCount, undefined);

  const ns = await allPages(s, '/api/v1/namespaces/a/services?limit=2');
  assert.deepEqual(ns.flatMap(keys), ['a/a', 'a/x10', 'a/x9']);
  assert.equal(ns[0]!.metadata.remainingItemCount, 1, 'counts only the namespace the path names');

  for (const n of ['n3', 'n1', 'n2']) s.create({ kind: 'Node', metadata: { name: n } });
  const nodes = await allPages(s, '/api/v1/nodes?limit=2');
  assert.deepEqual(nodes.flatMap((p) => p.items.map((i) => i.metadata.name)), ['n1', 'n2', 'n3']);
});

test('continued pages come from the first page\'s snapshot: later creates, updates and deletes do not show', async (t) => {
  const s = await start(t);
  for (const n of ['s1', 's2', 's3', 's4', 's5', 's6']) s.create(svc(n));
  const first = await list(s, '/api/v1/services?limit=2');
  const rv = first.body.metadata.resourceVersion;
  assert.equal(first.body.metadata.remainingItemCount, 4);

  s.delete('Service', 'default', 's3');
  s.create(svc('s2a'));
  s.create(svc('s0'));
  s.update({ ...svc('s5'), spec: { clusterIP: '10.96.0.99' } });

  const token = encodeURIComponent(first.body.metadata.continue!);
  const second = await list(s, `/api/v1/services?limit=2&continue=${token}`);
  assert.equal(second.status, 200);
  assert.deepEqual(keys(second.body), ['default/s3', 'default/s4'], 'deleted s3 is still there, created s2a is not');
  assert.equal(second.body.metadata.resourceVersion, rv);
  assert.equal(second.body.metadata.remainingItemCount, 2);
  const third = await list(s, `/api/v1/services?limit=2&continue=${encodeURIComponent(second.body.metadata.continue!)}`);
  assert.deepEqual(keys(third.body), ['default/s5', 'default/s6']);
  assert.equal(third.body.items[0]!.spec?.clusterIP, '10.96.0.1', 's5 as it was at the snapshot');
  assert.equal(third.body.metadata.continue, undefined);

  const again = await list(s, `/api/v1/services?limit=2&continue=${token}`);
  assert.deepEqual(keys(again.body), ['default/s3', 'default/s4'], 'a token can be replayed while its snapshot is kept');
  const fresh = await allPages(s, '/api/v1/services?limit=100');
  assert.deepEqual(fresh.flatMap(keys), ['default/s0', 'default/s1', 'default/s2', 'default/s2a', 'default/s4', 'default/s5', 'default/s6']);
  assert.equal(fresh[0]!.metadata.resourceVersion, String(s.store.resourceVersion));
});

function assertExpired(r: { status: number; body: ListBody }): void {
  assert.equal(r.status, 410);
  assert.equal(r.body.kind, 'Status');
  assert.equal(r.body.code, 410);
  assert.equal(r.body.reason, 'Expired');
  assert.match(r.body.message!, /continue token has expired/);
}

test('a continue token whose snapshot was evicted gets 410 Expired; a malformed one gets 400', async (t) => {
  const s = await start(t);
  for (const n of ['a', 'b', 'c']) s.create(svc(n));
  const old = await list(s, '/api/v1/services?limit=1');
  // Eight newer paged lists: the server keeps the last eight snapshots.
  const newer: ListBody[] = [];
  for (let i = 0; i < 8; i++) newer.push((await list(s, '/api/v1/services?limit=1')).body);
  assertExpired(await list(s, `/api/v1/services?limit=1&continue=${encodeURIComponent(old.body.metadata.continue!)}`));
  const kept = await list(s, `/api/v1/services?limit=1&continue=${encodeURIComponent(newer[0]!.metadata.continue!)}`);
  assert.equal(kept.status, 200, 'the eight newest are kept');

  const bad = await list(s, '/api/v1/services?limit=1&continue=not-a-token');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.reason, 'BadRequest');
  const token = encodeURIComponent(newer[7]!.metadata.continue!);
  assert.equal((await list(s, `/api/v1/pods?limit=1&continue=${token}`)).status, 400, 'token of another resource');
  assert.equal((await list(s, `/api/v1/services?limit=1&resourceVersion=5&continue=${token}`)).status, 400, 'resourceVersion with continue');
});

test('compactHistory() expires every continue token', async (t) => {
  const s = await start(t);
  for (const n of ['a', 'b']) s.create(svc(n));
  const first = await list(s, '/api/v1/services?limit=1');
  s.compactHistory();
  assertExpired(await list(s, `/api/v1/services?limit=1&continue=${encodeURIComponent(first.body.metadata.continue!)}`));
  assert.deepEqual((await allPages(s, '/api/v1/services?limit=1')).flatMap(keys), ['default/a', 'default/b'], 'a new list works');
});

test('selectors with limit: limit counts matching objects, no remainingItemCount, continue may lead to an empty page', async (t) => {
  const s = await start(t);
  for (const n of ['s1', 's2', 's3', 's4', 's5']) s.create(svc(n, 'default', n === 's1' || n === 's3' ? { app: 'web' } : { app: 'db' }));
  s.create({ ...svc('s6'), spec: { clusterIP: 'None' } });
  const web = await allPages(s, `/api/v1/services?limit=2&labelSelector=${encodeURIComponent('app=web')}`);
  // s3 fills the first page while s4..s6 remain unread, so there is a continue; nothing matches after it.
  assert.deepEqual(web.map(keys), [['default/s1', 'default/s3'], []]);
  assert.deepEqual(web.map((p) => p.metadata.remainingItemCount), [undefined, undefined]);

  const db = await allPages(s, `/api/v1/services?limit=1&labelSelector=${encodeURIComponent('app=db')}`);
  assert.deepEqual(db.flatMap(keys), ['default/s2', 'default/s4', 'default/s5']);

  const both = await allPages(s, `/api/v1/services?limit=1&labelSelector=app&fieldSelector=${encodeURIComponent('spec.clusterIP!=None')}`);
  assert.deepEqual(both.flatMap(keys), ['default/s1', 'default/s2', 'default/s3', 'default/s4', 'default/s5'], 'field and label selectors compose');
});

test('limit=0 or absent is unpaged, a malformed limit is 400, limit on a watch is ignored', async (t) => {
  const s = await start(t);
  for (const n of ['a', 'b', 'c']) s.create(svc(n));
  const zero = await list(s, '/api/v1/services?limit=0');
  assert.equal(zero.body.items.length, 3);
  assert.equal(zero.body.metadata.continue, undefined);
  for (const bad of ['abc', '-1', '1.5']) {
    const r = await list(s, `/api/v1/services?limit=${bad}`);
    assert.equal(r.status, 400, `limit=${bad}`);
    assert.equal(r.body.reason, 'BadRequest');
  }

  const ctl = new AbortController();
  t.after(() => ctl.abort());
  const res = await fetch(`${s.url}/api/v1/services?watch=true&limit=1&timeoutSeconds=1`, { headers: { Authorization: 'Bearer kpx-test-token' }, signal: ctl.signal });
  const lines = (await res.text()).trim().split('\n');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { type: string }).type), ['ADDED', 'ADDED', 'ADDED']);
});

test('client-node pages listServiceForAllNamespaces with limit and _continue', async (t) => {
  const s = await start(t);
  const dir = await mkdtemp(join(tmpdir(), 'kpx-apiserver-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { KubeConfig, CoreV1Api } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(await s.writeKubeconfig(dir));
  const api = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < 5; i++) s.create(svc(`s${i}`));

  const names: string[] = [];
  const remaining: Array<number | undefined> = [];
  let token: string | undefined;
  do {
    const page = await api.listServiceForAllNamespaces({ limit: 2, ...(token === undefined ? {} : { _continue: token }) });
    names.push(...page.items.map((i) => i.metadata!.name!));
    remaining.push(page.metadata?.remainingItemCount);
    token = page.metadata?._continue;
  } while (token !== undefined);
  assert.deepEqual(names, ['s0', 's1', 's2', 's3', 's4']);
  assert.deepEqual(remaining, [3, 1, undefined]);
  const queries = s.requestsTo('/api/v1/services', false).map((r) => r.query);
  assert.deepEqual(queries.map((q) => q['limit']), ['2', '2', '2']);
  assert.equal(queries[0]!['continue'], undefined);
  assert.ok(queries.slice(1).every((q) => typeof q['continue'] === 'string'));
});
