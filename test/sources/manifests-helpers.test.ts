// The manifest helpers on their own: parsing, allocation and Endpoints mirroring.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../src/net/ipv4.js';
import { ServiceAllocator } from '../../src/sources/manifests/allocate.js';
import { endpointsToSlices } from '../../src/sources/manifests/endpoints-to-slices.js';
import { parseManifest } from '../../src/sources/manifests/parse.js';
import { parseNodePortRange, parseServiceCidr } from '../../src/sources/manifests/settings.js';
import { BadFlagError } from '../../src/errors.js';

type Spec = Record<string, unknown>;
const clusterIpSvc = (extra: Spec = {}): Spec => ({ type: 'ClusterIP', clusterIP: '', ports: [{ port: 80, protocol: 'TCP' }], ...extra });

test('parse: multi-document YAML, empty documents skipped, a broken document does not hide the others', () => {
  const docs = parseManifest('f.yaml', 'kind: A\n---\n---\nkind: [x\n---\nkind: C\n');
  assert.deepEqual(
    docs.map((d) => ('value' in d ? `${d.ref.doc}:ok` : `${d.ref.doc}:error`)),
    ['1:ok', '3:error', '4:ok'],
  );
});

test('parse: List and typed lists are expanded into items', () => {
  const docs = parseManifest('l.json', JSON.stringify({ apiVersion: 'v1', kind: 'ServiceList', items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] }));
  assert.deepEqual(
    docs.map((d) => ('value' in d ? [d.ref.item, (d.value as { kind: string }).kind] : [])),
    [
      [1, 'Service'],
      [2, 'Service'],
    ],
  );
});

test('parse: duplicate keys and alias bombs are syntax errors, not crashes', () => {
  assert.ok('syntaxError' in parseManifest('d.yaml', 'a: 1\na: 2\n')[0]!);
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`)].join('\n');
  assert.ok('syntaxError' in parseManifest('bomb.yaml', bomb)[0]!);
});

test('allocate: lowest free addresses in key order; explicit ones reserved first', () => {
  const alloc = new ServiceAllocator(parseCidr('10.0.0.0/29')!, { min: 30000, max: 30002 });
  const b = clusterIpSvc();
  const a = clusterIpSvc();
  const x = clusterIpSvc({ clusterIP: '10.0.0.1' });
  assert.deepEqual(alloc.allocate([{ key: 'ns/b', spec: b }, { key: 'ns/a', spec: a }, { key: 'ns/x', spec: x }]), []);
  assert.deepEqual([a['clusterIP'], b['clusterIP'], x['clusterIP']], ['10.0.0.2', '10.0.0.3', '10.0.0.1']);
});

test('allocate: the CIDR running out is reported (network and broadcast never used)', () => {
  const alloc = new ServiceAllocator(parseCidr('10.0.0.0/30')!, { min: 30000, max: 30002 });
  const specs = ['a', 'b', 'c'].map(() => clusterIpSvc());
  const problems = alloc.allocate(specs.map((spec, i) => ({ key: `ns/${'abc'[i]}`, spec })));
  assert.deepEqual(specs.map((s) => s['clusterIP']), ['10.0.0.1', '10.0.0.2', '']);
  assert.deepEqual(problems, [{ key: 'ns/c', field: 'spec.clusterIP', reason: 'no address left in the service CIDR' }]);
});

test('allocate: sticky across calls, freed when the Service goes', () => {
  const alloc = new ServiceAllocator(parseCidr('10.0.0.0/24')!, { min: 30000, max: 30010 });
  const np = (): Spec => ({ type: 'NodePort', clusterIP: '', ports: [{ port: 80, protocol: 'TCP' }] });
  const first = { b: np(), c: np() };
  alloc.allocate([{ key: 'ns/b', spec: first.b }, { key: 'ns/c', spec: first.c }]);
  const again = { a: np(), c: np() };
  alloc.allocate([{ key: 'ns/a', spec: again.a }, { key: 'ns/c', spec: again.c }]);
  assert.equal(again.c['clusterIP'], first.c['clusterIP'], 'c keeps its address');
  assert.deepEqual((again.c['ports'] as Spec[])[0]!['nodePort'], (first.c['ports'] as Spec[])[0]!['nodePort']);
  assert.equal(again.a['clusterIP'], '10.0.0.1', "b's address is free again");
});

test('mirroring: port sets and address families make separate slices; names are stable', () => {
  const ep = {
    metadata: { name: 'e', namespace: 'ns', annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': 't', keep: 'me' } },
    subsets: [
      { addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ name: 'a', port: 1, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.0.0.2', hostname: 'h2', targetRef: { kind: 'Pod', name: 'p2' } }], notReadyAddresses: [{ ip: '10.0.0.1' }], ports: [{ name: 'a', port: 1, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.0.0.3' }], ports: [{ name: 'b', port: 2, protocol: 'UDP' }] },
    ],
  };
  const slices = endpointsToSlices(structuredClone(ep));
  const summary = slices.map((s) => [s['addressType'], (s['endpoints'] as Array<{ addresses: string[]; conditions: { ready: boolean } }>).map((e) => `${e.addresses[0]}:${e.conditions.ready}`)]);
  assert.deepEqual(summary, [
    ['IPv4', ['10.0.0.1:true', '10.0.0.2:true']],
    ['IPv6', ['fd00::1:true']],
    ['IPv4', ['10.0.0.3:true']],
  ]);
  const e2 = (slices[0]!['endpoints'] as Array<Record<string, unknown>>)[1]!;
  assert.equal(e2['hostname'], 'h2');
  assert.deepEqual(e2['targetRef'], { kind: 'Pod', name: 'p2' });
  assert.deepEqual((slices[0]!['metadata'] as Record<string, unknown>)['annotations'], { keep: 'me' });
  assert.deepEqual(
    endpointsToSlices(structuredClone(ep)).map((s) => (s['metadata'] as { name: string }).name),
    slices.map((s) => (s['metadata'] as { name: string }).name),
  );
  assert.deepEqual(endpointsToSlices({ ...ep, metadata: { ...ep.metadata, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } } }), []);
});

test('settings: service CIDR and node-port range errors name the flag', () => {
  assert.equal(parseServiceCidr('10.96.0.0/12').text, '10.96.0.0/12');
  assert.deepEqual(parseNodePortRange('30000-32767'), { min: 30000, max: 32767 });
  assert.throws(() => parseServiceCidr('10.96.0.0', '--service-cluster-ip-range'), (e: unknown) => e instanceof BadFlagError && e.flag === '--service-cluster-ip-range');
  assert.throws(() => parseNodePortRange('0-10'), BadFlagError);
});
