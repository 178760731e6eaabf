// What the API-server source keeps of each object (src/sources/apiserver/compact-object.ts):
// every golden case programs the same maps from compacted objects, signatures do not change,
// list items and watch events of one object compact to the same thing, and what a real API
// server adds that a proxy never reads is gone.

import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { compactObject } from '../../src/sources/apiserver/compact-object.js';

import { toTyped } from '../../src/sources/typed.js';
import { hostPortsOf, serviceSignature, sliceSignature } from '../../src/tracker/signatures.js';
import { runCase } from '../golden/run-case.js';

const goldenRoot = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const goldenCases = readdirSync(goldenRoot, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(goldenRoot, d.name, 'input.yaml')))
  .map((d) => d.name);

test('every golden case (groups S, P, E, A) programs the same maps from compacted objects', () => {
  assert.ok(goldenCases.length >= 14);
  for (const name of goldenCases) {
    const dir = join(goldenRoot, name);
    assert.equal(runCase(dir, compactObject), readFileSync(join(dir, 'expected.txt'), 'utf8'), name);
  }
});

/** A Service as a real API server returns it: server-set metadata, managedFields, status. */
function fullService(): Record<string, unknown> {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: '3b1c0e7e-0000-4000-8000-000000000001',
      resourceVersion: '4711',
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'web', 'service.kubernetes.io/service-proxy-name': 'kpx', 'service.kubernetes.io/headless': '' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' },
      managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:ports': {} } } }],
    },
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }],
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      loadBalancerSourceRanges: ['192.0.2.0/24'],
    },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] }, conditions: [{ type: 'x', status: 'True', reason: 'r', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  };
}

function fullSlice(): Record<string, unknown> {
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name: 'web-x7k2p',
      namespace: 'shop',
      uid: '3b1c0e7e-0000-4000-8000-000000000002',
      resourceVersion: '4712',
      generation: 3,
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', app: 'web' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:01Z', other: 'x' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'u', controller: true, blockOwnerDeletion: true }],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'discovery.k8s.io/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:endpoints': {} } }],
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['10.244.1.5'],
        conditions: { ready: true, serving: true, terminating: false },
        hostname: 'web-0',
        nodeName: 'node-a',
        zone: 'zone-a',
        hints: { forZones: [{ name: 'zone-a' }] },
        targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-0', uid: 'p' },
        deprecatedTopology: { 'kubernetes.io/hostname': 'node-a' },
      },
      { addresses: ['10.244.2.9'], conditions: { ready: false, serving: true, terminating: true }, nodeName: 'node-b' },
    ],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
  };
}

/** Model classes (V1EndpointConditions, …) compared by value. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

/** A list item: the client's model object, without kind/apiVersion (the server omits them). */
function asListItem<K extends 'Service' | 'EndpointSlice' | 'Pod'>(kind: K, raw: Record<string, unknown>) {
  const typed = toTyped(kind, raw);
  delete typed.kind;
  delete typed.apiVersion;
  return typed;
}

test('a Service keeps its spec, load-balancer status, proxy labels; server-added fields are dropped', () => {
  const raw = fullService();
  const full = toTyped('Service', raw);
  const c = compactObject('Service', raw) as V1Service;
  assert.deepEqual(c.metadata, {
    name: 'web',
    namespace: 'shop',
    resourceVersion: '4711',
    labels: { 'service.kubernetes.io/service-proxy-name': 'kpx', 'service.kubernetes.io/headless': '' },
  });
  assert.deepEqual(c.spec, plain(full.spec));
  assert.deepEqual(c.status, plain({ loadBalancer: full.status?.loadBalancer }));
  assert.equal(serviceSignature(c), serviceSignature(full));
  assert.equal(c.kind, 'Service');
  assert.equal(c.apiVersion, 'v1');
});

test('an EndpointSlice keeps what endpoints program and the trigger time; targetRef, ownerReferences, managedFields go', () => {
  const raw = fullSlice();
  const full = toTyped('EndpointSlice', raw);
  const c = compactObject('EndpointSlice', raw) as V1EndpointSlice;
  assert.deepEqual(c.metadata, {
    name: 'web-x7k2p',
    namespace: 'shop',
    resourceVersion: '4712',
    labels: { 'kubernetes.io/service-name': 'web' },
    annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:01Z' },
  });
  assert.deepEqual(plain(c.endpoints), [
    { addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-a', zone: 'zone-a', hints: { forZones: [{ name: 'zone-a' }] } },
    { addresses: ['10.244.2.9'], conditions: { ready: false, serving: true, terminating: true }, nodeName: 'node-b' },
  ]);
  assert.deepEqual(c.ports, plain(full.ports));
  assert.equal(sliceSignature(c), sliceSignature(full));
});

test('a list item and a watch event of the same object compact to the same object', () => {
  assert.deepEqual(compactObject('Service', asListItem('Service', fullService())), compactObject('Service', fullService()));
  assert.deepEqual(compactObject('EndpointSlice', asListItem('EndpointSlice', fullSlice())), compactObject('EndpointSlice', fullSlice()));
});

test('a Pod keeps only its published host ports and address (hostPort mapping unchanged)', () => {
  const raw = {
    kind: 'Pod',
    metadata: { name: 'dns-0', namespace: 'kube-system', resourceVersion: '9', uid: 'u', labels: { app: 'dns' } },
    spec: {
      nodeName: 'node-a',
      containers: [
        { name: 'dns', image: 'dns:1', args: ['-v'], ports: [{ containerPort: 53, hostPort: 53, protocol: 'UDP' }, { containerPort: 9153 }] },
        { name: 'sidecar', image: 'side:1', ports: [{ containerPort: 8080 }] },
      ],
    },
    status: { podIP: '10.244.0.7', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
  const full = toTyped('Pod', raw);
  const c = compactObject('Pod', raw) as V1Pod;
  assert.deepEqual(c.spec, { containers: [{ name: 'dns', ports: [{ containerPort: 53, hostPort: 53, protocol: 'UDP' }] }, { name: 'sidecar' }] });
  assert.deepEqual(c.status, { podIP: '10.244.0.7' });
  assert.deepEqual(hostPortsOf(c), hostPortsOf(full));
  assert.deepEqual(compactObject('Pod', asListItem('Pod', raw)), c);
});

test('a Node is kept whole as a model object, with kind and apiVersion set on list items', () => {
  const raw = { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'z', other: 'x' } }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.1' }] } };
  const c = compactObject('Node', raw);
  assert.deepEqual(c, toTyped('Node', raw));
  assert.equal(c.metadata?.labels?.['other'], 'x');
  assert.equal(c.kind, 'Node');
  assert.equal(c.apiVersion, 'v1');
});

test('compacted objects are plain objects, and endpoints share one frozen object per set of conditions', () => {
  const walk = (v: unknown, path: string): void => {
    if (v === null || typeof v !== 'object') return;
    const proto = Object.getPrototypeOf(v);
    assert.ok(proto === Object.prototype || proto === Array.prototype, `${path} is a ${proto?.constructor?.name}`);
    for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(compactObject('Service', fullService()), 'service');
  walk(compactObject('EndpointSlice', fullSlice()), 'slice');
  walk(compactObject('EndpointSlice', asListItem('EndpointSlice', fullSlice())), 'listed slice');

  const a = compactObject('EndpointSlice', fullSlice()) as V1EndpointSlice;
  const b = compactObject('EndpointSlice', asListItem('EndpointSlice', fullSlice())) as V1EndpointSlice;
  assert.equal(a.endpoints[0]!.conditions, b.endpoints[0]!.conditions, 'shared');
  assert.notEqual(a.endpoints[0]!.conditions, a.endpoints[1]!.conditions, 'different conditions, different objects');
  assert.ok(Object.isFrozen(a.endpoints[0]!.conditions));
  // Unset conditions stay unset (E1 reads an unset ready as ready).
  const partial = compactObject('EndpointSlice', { ...fullSlice(), endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }] }) as V1EndpointSlice;
  assert.deepEqual(partial.endpoints[0]!.conditions, { ready: true });
});
