// Manifest validation as rows: an object, the field it is refused on, and why (as the API
// server would refuse it). Every row must fail on exactly the named field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../src/net/ipv4.js';
import { validateObject, type ValidateContext } from '../../src/sources/manifests/validate.js';

const ctx: ValidateContext = { nodeName: 'n1', serviceCidr: parseCidr('10.96.0.0/12')!, nodePortRange: { min: 30000, max: 32767 } };

const service = (spec: object, meta: object = { name: 's' }) => ({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec });
const p80 = [{ port: 80 }];

const rows: Array<[string, unknown, string, RegExp]> = [
  ['not a mapping', ['a'], '(document)', /mapping/],
  ['kind missing', { apiVersion: 'v1', metadata: { name: 'x' } }, 'kind', /required/],
  ['wrong apiVersion', { apiVersion: 'discovery.k8s.io/v1beta1', kind: 'EndpointSlice', metadata: { name: 'x' }, addressType: 'IPv4' }, 'apiVersion', /use discovery\.k8s\.io\/v1/],
  ['name missing', service({ ports: p80 }, {}), 'metadata.name', /required/],
  ['bad Service name', service({ ports: p80 }, { name: '1abc' }), 'metadata.name', /RFC 1035/],
  ['bad namespace', service({ ports: p80 }, { name: 's', namespace: 'Bad_NS' }), 'metadata.namespace', /RFC 1123/],
  ['labels not strings', service({ ports: p80 }, { name: 's', labels: { a: 1 } }), 'metadata.labels.a', /string/],
  ['port out of range', service({ ports: [{ port: 65536 }] }), 'spec.ports[0].port', /between 1 and 65535/],
  ['port as string', service({ ports: [{ port: '80' }] }), 'spec.ports[0].port', /integer/],
  ['unknown protocol', service({ ports: [{ port: 80, protocol: 'ICMP' }] }), 'spec.ports[0].protocol', /TCP, UDP, SCTP/],
  ['clusterIP not IPv4', service({ clusterIP: '10.96.0.300', ports: p80 }), 'spec.clusterIP', /IPv4/],
  ['clusterIP IPv6', service({ clusterIP: 'fd00::10', ports: p80 }), 'spec.clusterIP', /IPv4/],
  ['clusterIP outside the CIDR', service({ clusterIP: '192.168.0.1', ports: p80 }), 'spec.clusterIP', /service CIDR 10\.96\.0\.0\/12/],
  ['clusterIP is the network address', service({ clusterIP: '10.96.0.0', ports: p80 }), 'spec.clusterIP', /valid range/],
  ['clusterIPs disagree', service({ clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.2'], ports: p80 }), 'spec.clusterIPs[0]', /match/],
  ['no ports', service({}), 'spec.ports', /at least one port/],
  ['unnamed ports in a multi-port Service', service({ ports: [{ port: 80 }, { name: 'b', port: 81 }] }), 'spec.ports[0].name', /required/],
  ['duplicate port', service({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), 'spec.ports[1].port', /duplicate port 80\/TCP/],
  ['bad named targetPort', service({ ports: [{ port: 80, targetPort: 'Not_A_Name' }] }), 'spec.ports[0].targetPort', /IANA/],
  ['nodePort on ClusterIP', service({ ports: [{ port: 80, nodePort: 30000 }] }), 'spec.ports[0].nodePort', /ClusterIP/],
  ['nodePort outside the range', service({ type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }), 'spec.ports[0].nodePort', /30000-32767/],
  ['unknown type', service({ type: 'Ingress', ports: p80 }), 'spec.type', /one of/],
  ['headless NodePort', service({ type: 'NodePort', clusterIP: 'None', ports: p80 }), 'spec.clusterIP', /None/],
  ['ExternalName with a clusterIP', service({ type: 'ExternalName', externalName: 'a.example', clusterIP: '10.96.0.1' }), 'spec.clusterIP', /empty/],
  ['ExternalName without a name', service({ type: 'ExternalName' }), 'spec.externalName', /required/],
  ['bad affinity', service({ sessionAffinity: 'Cookie', ports: p80 }), 'spec.sessionAffinity', /None, ClientIP/],
  ['affinity timeout too long', service({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } }, ports: p80 }), 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', /86400/],
  ['eTP on an internal Service', service({ externalTrafficPolicy: 'Local', ports: p80 }), 'spec.externalTrafficPolicy', /externally-accessible/],
  ['bad eTP', service({ type: 'NodePort', externalTrafficPolicy: 'Global', ports: p80 }), 'spec.externalTrafficPolicy', /Cluster, Local/],
  ['healthCheckNodePort without eTP Local', service({ type: 'LoadBalancer', healthCheckNodePort: 30100, ports: p80 }), 'spec.healthCheckNodePort', /Local/],
  ['bad externalIP', service({ externalIPs: ['1.2.3.4.5'], ports: p80 }), 'spec.externalIPs[0]', /IP address/],
  ['bad source range', service({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/40'], ports: p80 }), 'spec.loadBalancerSourceRanges[0]', /CIDR/],
  ['source ranges on a ClusterIP Service', service({ loadBalancerSourceRanges: ['10.0.0.0/8'], ports: p80 }), 'spec.loadBalancerSourceRanges', /LoadBalancer/],
  ['bad ingress ipMode', { ...service({ type: 'LoadBalancer', ports: p80 }), status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'Tunnel' }] } } }, 'status.loadBalancer.ingress[0].ipMode', /VIP, Proxy/],
  ['Endpoints: bad address', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: 'x' }], ports: p80 }] }, 'subsets[0].addresses[0].ip', /IP address/],
  ['Endpoints: loopback address', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: p80 }] }, 'subsets[0].addresses[0].ip', /loopback/],
  ['Endpoints: port 0', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 0 }] }] }, 'subsets[0].ports[0].port', /between/],
  ['EndpointSlice: no addressType', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'x' }, endpoints: [] }, 'addressType', /required/],
  ['EndpointSlice: address of the wrong family', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] }, 'endpoints[0].addresses[0]', /IPv4/],
  ['EndpointSlice: empty addresses', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [{ addresses: [] }] }, 'endpoints[0].addresses', /at least one/],
  ['EndpointSlice: ready not a boolean', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: 'yes' } }] }, 'endpoints[0].conditions.ready', /true or false/],
  ['EndpointSlice: duplicate port names', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'x' }, addressType: 'IPv4', ports: [{ name: 'a', port: 1 }, { name: 'a', port: 2 }] }, 'ports[1].name', /duplicate/],
  ['Pod: bad hostPort', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 70000 }] }] } }, 'spec.containers[0].ports[0].hostPort', /between/],
];

for (const [what, obj, field, reason] of rows) {
  test(`refused: ${what}`, () => {
    const v = validateObject(obj, ctx);
    assert.equal(v.status, 'invalid', JSON.stringify(v));
    if (v.status !== 'invalid') return;
    assert.deepEqual(v.problems.map((p) => p.field), [field], JSON.stringify(v.problems));
    assert.match(v.problems[0]!.reason, reason);
  });
}

test('accepted objects come back defaulted; the input is not modified', () => {
  const input = service({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 'http' }], loadBalancerSourceRanges: [' 10.0.0.0/8 '] });
  const before = JSON.stringify(input);
  const v = validateObject(input, ctx);
  assert.equal(v.status, 'ok');
  assert.equal(JSON.stringify(input), before);
  if (v.status !== 'ok') return;
  assert.deepEqual(v.id, { kind: 'Service', namespace: 'default', name: 's' });
  const spec = v.obj['spec'] as Record<string, unknown>;
  assert.equal(spec['externalTrafficPolicy'], 'Cluster');
  assert.equal(spec['allocateLoadBalancerNodePorts'], true);
  assert.equal(spec['sessionAffinity'], 'None');
});

test('server-owned metadata from `kubectl get -o yaml` copies is dropped', () => {
  const v = validateObject(service({ ports: p80 }, { name: 's', uid: 'u', resourceVersion: '5', creationTimestamp: '2020-01-01T00:00:00Z', managedFields: [] }), ctx);
  assert.equal(v.status, 'ok');
  if (v.status === 'ok') assert.deepEqual(v.obj['metadata'], { name: 's', namespace: 'default' });
});

test('kinds kpx does not read, other Nodes and Pods of other nodes are ignored, not errors', () => {
  assert.equal(validateObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }, ctx).status, 'ignored');
  assert.equal(validateObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } }, ctx).status, 'ignored');
  assert.equal(validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { nodeName: 'n2' } }, ctx).status, 'ignored');
  assert.equal(validateObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }, ctx).status, 'ok');
});
