import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BACKEND_STATE, PROTO, SCOPE, SVC_FLAGS } from '../../src/datapath/abi.js';
import { encodeServices } from '../../src/encoder/encode-state.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import { frontendIdentity, type EncodedFrontend } from '../../src/encoder/types.js';
import { modelServices } from '../../src/model/model-services.js';
import type { ServiceInput, ServiceModel } from '../../src/model/types.js';
import { ep, NODE, OPTS, slice, svc } from '../model/fixtures.js';

function models(inputs: ServiceInput[]): ServiceModel[] {
  return modelServices(inputs, NODE, OPTS).flatMap((o) => (o.status === 'ok' ? [o.model] : []));
}

const CIP = frontendIdentity({ addr: '10.96.0.1', port: 80, proto: PROTO.TCP, scope: SCOPE.EXTERNAL });

function web(endpoints: Parameters<typeof slice>[2]): ServiceInput {
  return { key: 'default/web', service: svc('web', {}), slices: [slice('web', 'web-1', endpoints)] };
}

function byAddr(fe: EncodedFrontend): Record<string, { id: number; state: number }> {
  const out: Record<string, { id: number; state: number }> = {};
  for (const [id, b] of fe.backends) out[b.addr] = { id, state: b.state };
  return out;
}

test('slot 0: count = active slots, backendId 0, kind flags; slots sorted by address then port', () => {
  const r = encodeServices(models([web([ep('10.244.10.1'), ep('10.244.2.1'), ep('10.244.9.9', { conditions: { ready: false, serving: true, terminating: true } })])]), new IdAllocator());
  const fe = r.state.get(CIP)!;
  assert.equal(fe.value.count, fe.slots.length);
  assert.equal(fe.value.count, 2);
  assert.equal(fe.value.backendId, 0);
  assert.equal(fe.value.flags, SVC_FLAGS.CLUSTER_IP);
  assert.deepEqual(fe.slots.map((id) => fe.backends.get(id)!.addr), ['10.244.2.1', '10.244.10.1']);
  assert.equal(fe.backends.size, 3);
  for (const id of fe.slots) assert.equal(fe.backends.get(id)!.state, BACKEND_STATE.ACTIVE);
});

test('C3: ids stay stable across syncs; a backend that starts terminating keeps its id', () => {
  const ids = new IdAllocator();
  const first = encodeServices(models([web([ep('10.244.1.1'), ep('10.244.1.2')])]), ids).state.get(CIP)!;
  const second = encodeServices(
    models([web([ep('10.244.1.1', { conditions: { ready: false, serving: true, terminating: true } }), ep('10.244.1.2'), ep('10.244.1.3')])]),
    ids,
  ).state.get(CIP)!;
  assert.equal(second.svcId, first.svcId);
  const a = byAddr(first);
  const b = byAddr(second);
  assert.equal(b['10.244.1.1']!.id, a['10.244.1.1']!.id);
  assert.equal(b['10.244.1.1']!.state, BACKEND_STATE.TERMINATING);
  assert.equal(b['10.244.1.2']!.id, a['10.244.1.2']!.id);
  assert.ok(![a['10.244.1.1']!.id, a['10.244.1.2']!.id].includes(b['10.244.1.3']!.id));
  assert.deepEqual(second.slots, [b['10.244.1.2']!.id, b['10.244.1.3']!.id]);
});

test('KPX_MAX_BACKENDS_PER_SVC: an oversized Service is reported, fails whole, and allocates nothing', () => {
  const ids = new IdAllocator();
  const big: ServiceInput = {
    key: 'default/big',
    service: svc('big', { clusterIP: '10.96.0.9', type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }] }),
    slices: [slice('big', 'big-1', [ep('10.244.1.1'), ep('10.244.1.2'), ep('10.244.1.3')])],
  };
  const r = encodeServices(models([big, web([ep('10.244.2.1')])]), ids, { maxBackendsPerSvc: 2 });
  assert.deepEqual([...r.failed], ['default/big']);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!.message, /Service default\/big: endpoints: 3 backends .* exceed the limit of 2/);
  assert.deepEqual([...r.state.values()].map((f) => f.owner), ['default/web:http']);
  assert.deepEqual(ids.sizes(), { svcs: 1, backends: 1 });
});

test('a frontend another Service already uses is reported and left out; the first Service keeps it', () => {
  const a: ServiceInput = { key: 'default/a', service: svc('a', { clusterIP: '10.96.0.2', externalIPs: ['203.0.113.1'] }), slices: [] };
  const b: ServiceInput = { key: 'default/b', service: svc('b', { clusterIP: '10.96.0.3', externalIPs: ['203.0.113.1'] }), slices: [] };
  const r = encodeServices(models([b, a]), new IdAllocator());
  const ext = r.state.get(frontendIdentity({ addr: '203.0.113.1', port: 80, proto: PROTO.TCP, scope: SCOPE.EXTERNAL }))!;
  assert.equal(ext.owner, 'default/a:http');
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!.message, /Service default\/b: frontend 203\.0\.113\.1:80\/TCP: already used by default\/a:http/);
  assert.equal(r.state.size, 3);
  assert.equal(r.failed.size, 0);
});

test('T1/T3: Local policies add an INTERNAL entry with its own svcId and backend ids', () => {
  const s: ServiceInput = {
    key: 'default/l',
    service: svc('l', { internalTrafficPolicy: 'Local' }),
    slices: [slice('l', 'l-1', [ep('10.244.1.1', { nodeName: 'node-a' }), ep('10.244.2.1', { nodeName: 'node-b' })])],
  };
  const r = encodeServices(models([s]), new IdAllocator());
  const ext = r.state.get(CIP)!;
  const int = r.state.get(frontendIdentity({ addr: '10.96.0.1', port: 80, proto: PROTO.TCP, scope: SCOPE.INTERNAL }))!;
  assert.equal(ext.value.flags, SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.ITP_LOCAL);
  assert.equal(int.value.flags, ext.value.flags);
  assert.notEqual(int.svcId, ext.svcId);
  assert.equal(ext.value.count, 2);
  assert.equal(int.value.count, 1);
  for (const [id, b] of int.backends) {
    assert.equal(b.svcId, int.svcId);
    assert.ok(!ext.backends.has(id));
  }
});

test('A1: affinity sets the flag and timeout on every frontend of the Service', () => {
  const s: ServiceInput = {
    key: 'default/s',
    service: svc('s', { type: 'NodePort', sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
    slices: [],
  };
  const r = encodeServices(models([s]), new IdAllocator());
  for (const fe of r.state.values()) {
    assert.ok(fe.value.flags & SVC_FLAGS.AFFINITY);
    assert.equal(fe.value.affinityTimeoutS, 10800);
  }
  assert.equal(r.state.size, 2);
});

test('P1: SCTP frontends are listed as unsupported and not encoded', () => {
  const s: ServiceInput = { key: 'default/s', service: svc('s', { ports: [{ name: 'sig', port: 5060, protocol: 'SCTP' }] }), slices: [] };
  const r = encodeServices(models([s]), new IdAllocator());
  assert.equal(r.state.size, 0);
  assert.deepEqual(r.unsupported.map((u) => u.frontend), ['10.96.0.1:5060/SCTP']);
});
