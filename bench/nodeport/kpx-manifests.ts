// The bench cluster as the manifests kpx reads in standalone mode: the two Node objects,
// then per Service the Service and the EndpointSlice the control plane would publish.
// Written as one JSON `List` (kpx reads *.json; 20,000 documents serialise in
// milliseconds this way, where a YAML writer takes seconds).

import { NAMESPACE, NODE1, NODE2, PORT_NAME, SERVICE_PORT, TARGET_PORT, type BenchService } from './cluster.js';

type Obj = Record<string, unknown>;

function node(n: { name: string; addr: string }): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } },
    status: { addresses: [{ type: 'InternalIP', address: n.addr }] },
  };
}

function service(s: BenchService): Obj {
  const port: Obj = { name: PORT_NAME, port: SERVICE_PORT, targetPort: TARGET_PORT, protocol: 'TCP' };
  if (s.nodePort !== undefined) port['nodePort'] = s.nodePort;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: NAMESPACE },
    spec: {
      type: s.nodePort !== undefined ? 'NodePort' : 'ClusterIP',
      clusterIP: s.clusterIP,
      selector: { app: s.name },
      ports: [port],
      ...(s.nodePort !== undefined ? { externalTrafficPolicy: 'Cluster' } : {}),
    },
  };
}

function endpointSlice(s: BenchService): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${s.name}-bench`,
      namespace: NAMESPACE,
      labels: { 'kubernetes.io/service-name': s.name, 'endpointslice.kubernetes.io/managed-by': 'kpx-bench' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [s.endpoint.ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: s.endpoint.node }],
    ports: [{ name: PORT_NAME, port: TARGET_PORT, protocol: 'TCP' }],
  };
}

export function kpxManifestList(services: readonly BenchService[]): string {
  const items: Obj[] = [node(NODE1), node(NODE2)];
  for (const s of services) items.push(service(s), endpointSlice(s));
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** kpx frontends the list makes on node1: a ClusterIP each, plus a NodePort each on
 *  node1's one address. The agent's "ready" line must report exactly this many. */
export function expectedFrontends(services: readonly BenchService[]): number {
  return services.length + services.filter((s) => s.nodePort !== undefined).length;
}
