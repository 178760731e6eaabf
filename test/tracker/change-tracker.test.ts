import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { ChangeTracker } from '../../src/tracker/change-tracker.js';
import { ep, slice, svc } from '../model/fixtures.js';

function node(zone: string, addr = '192.168.1.10', resourceVersion = '1'): V1Node {
  return {
    metadata: { name: 'node-a', resourceVersion, labels: { 'topology.kubernetes.io/zone': zone, unrelated: resourceVersion } },
    status: { addresses: [{ type: 'InternalIP', address: addr }] },
  };
}

const keys = (t: ChangeTracker) => [...t.takeChanges().services.keys()];

test('add, update and delete of a Service are each reported once', () => {
  const t = new ChangeTracker();
  const a = svc('a', {});
  t.service(undefined, a);
  const c = t.takeChanges();
  assert.deepEqual([...c.services.keys()], ['default/a']);
  assert.equal(c.services.get('default/a')!.service, a);
  assert.deepEqual(keys(t), []);

  const a2 = svc('a', { clusterIP: '10.96.0.2' });
  t.service(a, a2);
  assert.deepEqual(keys(t), ['default/a']);

  t.service(a2, undefined);
  const d = t.takeChanges();
  assert.deepEqual([...d.services.keys()], ['default/a']);
  assert.equal(d.services.get('default/a')!.service, undefined);
});

test('updates that end equal are dropped: irrelevant fields, a change reverted, an add deleted', () => {
  const t = new ChangeTracker();
  const a = svc('a', {});
  t.service(undefined, a);
  t.takeChanges();

  const noise = svc('a', {}, { metadata: { name: 'a', resourceVersion: '99', annotations: { note: 'x' } } });
  t.service(a, noise);
  assert.equal(t.hasChanges(), false);

  const changed = svc('a', { clusterIP: '10.96.0.9' });
  t.service(noise, changed);
  t.service(changed, a);
  assert.equal(t.hasChanges(), false);

  const b = svc('b', {});
  t.service(undefined, b);
  t.service(b, undefined);
  assert.deepEqual(keys(t), []);
});

test('EndpointSlices are grouped by service-name label and reported under their Service key', () => {
  const t = new ChangeTracker();
  const s1 = slice('web', 'web-1', [ep('10.244.1.1')]);
  const s2 = slice('web', 'web-2', [ep('10.244.1.2')]);
  t.endpointSlice(undefined, s2);
  t.endpointSlice(undefined, s1);
  const c = t.takeChanges();
  assert.deepEqual([...c.services.keys()], ['default/web']);
  assert.deepEqual(c.services.get('default/web')!.slices, [s1, s2]);
  assert.equal(c.services.get('default/web')!.service, undefined);

  // A slice update that changes nothing relevant is dropped.
  t.endpointSlice(s1, { ...s1, metadata: { ...s1.metadata, resourceVersion: '7' } });
  assert.equal(t.hasChanges(), false);

  t.endpointSlice(s1, undefined);
  const d = t.takeChanges();
  assert.deepEqual(d.services.get('default/web')!.slices, [s2]);
});

test('a slice whose service-name label changes moves between Services; both are reported', () => {
  const t = new ChangeTracker();
  const s = slice('old', 's-1', [ep('10.244.1.1')]);
  t.endpointSlice(undefined, s);
  t.takeChanges();
  const moved = slice('new', 's-1', [ep('10.244.1.1')]);
  t.endpointSlice(s, moved);
  const c = t.takeChanges();
  assert.deepEqual([...c.services.keys()], ['default/new', 'default/old']);
  assert.deepEqual(c.services.get('default/old')!.slices, []);
  assert.deepEqual(c.services.get('default/new')!.slices, [moved]);
});

test('a slice without the service-name label is ignored', () => {
  const t = new ChangeTracker();
  const s = slice('x', 's-1', [ep('10.244.1.1')]);
  delete s.metadata!.labels!['kubernetes.io/service-name'];
  t.endpointSlice(undefined, s);
  assert.equal(t.hasChanges(), false);
  assert.equal(t.snapshot().services.size, 0);
});

test('a relevant Node change marks every Service changed; an irrelevant one does not', () => {
  const t = new ChangeTracker();
  t.service(undefined, svc('a', {}));
  t.service(undefined, svc('b', {}));
  t.endpointSlice(undefined, slice('c', 'c-1', [ep('10.244.1.1')]));
  t.node(node('zone-a'));
  const first = t.takeChanges();
  assert.equal(first.all, true);
  assert.equal(first.node?.zone, 'zone-a');

  t.node(node('zone-a', '192.168.1.10', '2'));
  assert.equal(t.hasChanges(), false);

  t.node(node('zone-b'));
  const c = t.takeChanges();
  assert.equal(c.all, true);
  assert.deepEqual([...c.services.keys()], ['default/a', 'default/b', 'default/c']);
  assert.equal(c.node?.zone, 'zone-b');

  t.node(node('zone-b', '192.168.1.11'));
  assert.equal(t.takeChanges().all, true);
});

test('snapshot returns everything without consuming pending changes', () => {
  const t = new ChangeTracker();
  t.service(undefined, svc('a', {}));
  t.endpointSlice(undefined, slice('a', 'a-1', [ep('10.244.1.1')]));
  const snap = t.snapshot();
  assert.deepEqual([...snap.services.keys()], ['default/a']);
  assert.equal(snap.services.get('default/a')!.slices.length, 1);
  assert.equal(t.hasChanges(), true);
});

test('onChange fires when something is left to sync and on synced(); ready follows synced()', () => {
  let calls = 0;
  const t = new ChangeTracker({ onChange: () => calls++ });
  assert.equal(t.ready, false);
  t.service(undefined, svc('a', {}));
  assert.equal(calls, 1);
  t.synced();
  assert.equal(t.ready, true);
  assert.equal(calls, 2);
  assert.equal(t.takeChanges().synced, true);
  t.service(svc('a', {}), svc('a', {}));
  assert.equal(calls, 2);
});

test('host ports of this node’s Pods are tracked; pods without host ports are not', () => {
  const t = new ChangeTracker();
  const pod: V1Pod = {
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 9000 }] }] },
    status: { podIP: '10.244.1.7' },
  };
  t.pod(undefined, pod);
  assert.equal(t.takeChanges().hostPortsChanged, true);
  assert.deepEqual(t.snapshot().hostPorts, [{ pod: 'default/p', podIP: '10.244.1.7', hostPort: 8080, containerPort: 80, protocol: 'TCP' }]);
  t.pod(pod, { ...pod, metadata: { ...pod.metadata, resourceVersion: '2' } });
  assert.equal(t.hasChanges(), false);
  t.pod(pod, undefined);
  assert.equal(t.takeChanges().hostPortsChanged, true);
  assert.deepEqual(t.snapshot().hostPorts, []);
});

test('inputSignatures names what a model of a Service reads; inputUnchanged compares without building it', () => {
  const t = new ChangeTracker();
  assert.equal(t.inputSignatures('default/a'), undefined);
  assert.equal(t.knows('default/a'), false);
  const a = svc('a', {});
  const s1 = slice('a', 'a-1', [ep('10.244.0.1')]);
  const s2 = slice('a', 'a-2', [ep('10.244.0.2')]);
  t.service(undefined, a);
  t.endpointSlice(undefined, s2);
  t.endpointSlice(undefined, s1);
  const seen = t.inputSignatures('default/a')!;
  // The Service's signature, then each slice's name and signature, by slice name.
  assert.equal(seen.length, 5);
  assert.deepEqual([seen[1], seen[3]], ['a-1', 'a-2']);
  assert.ok(t.inputUnchanged('default/a', seen));
  assert.deepEqual(t.inputOf('default/a').slices, [s1, s2]);

  // An update that changes nothing the proxy uses keeps it; a real one does not.
  t.endpointSlice(s1, { ...s1, metadata: { ...s1.metadata, resourceVersion: '9' } });
  assert.ok(t.inputUnchanged('default/a', seen));
  const s1b = slice('a', 'a-1', [ep('10.244.0.1', { zone: 'zone-b' })]);
  t.endpointSlice(s1, s1b);
  assert.ok(!t.inputUnchanged('default/a', seen));
  t.endpointSlice(s1b, s1);
  assert.ok(t.inputUnchanged('default/a', seen));

  // Two slices swapping their contents is a change (slice order is by name).
  t.endpointSlice(s1, slice('a', 'a-1', [ep('10.244.0.2')]));
  t.endpointSlice(s2, slice('a', 'a-2', [ep('10.244.0.1')]));
  assert.ok(!t.inputUnchanged('default/a', seen));

  // A slice gone, the Service gone: changes; nothing left under the key: unknown.
  const now = t.inputSignatures('default/a')!;
  t.endpointSlice(slice('a', 'a-2', [ep('10.244.0.1')]), undefined);
  assert.ok(!t.inputUnchanged('default/a', now));
  const one = t.inputSignatures('default/a')!;
  t.service(a, undefined);
  assert.ok(!t.inputUnchanged('default/a', one));
  assert.equal(t.inputSignatures('default/a')![0], '');
  t.endpointSlice(slice('a', 'a-1', [ep('10.244.0.2')]), undefined);
  assert.equal(t.inputSignatures('default/a'), undefined);
  assert.equal(t.knows('default/a'), false);
});
