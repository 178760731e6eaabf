// A synthetic cluster for the control-plane benchmark: N ClusterIP Services with one
// TCP port, each with one EndpointSlice of E endpoints shaped like the ones the
// EndpointSlice controller writes (labels, ownerReferences, conditions, nodeName, zone,
// targetRef), spread over a few hundred nodes. Deterministic: the same flags give the
// same objects, so runs compare.

import type { V1Endpoint, V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { formatIpv4, parseIpv4 } from '../../src/net/ipv4.js';

export interface ClusterShape {
  readonly services: number;
  readonly endpointsPerService: number;
}

/** Where the synthetic addresses come from; the iptables/nft generators reuse them. */
export const CLUSTER = {
  nodeName: 'bench-node-000',
  nodes: 500,
  zones: ['zone-a', 'zone-b', 'zone-c'],
  namespaces: 100,
  serviceCidr: '10.96.0.0/12',
  firstClusterIp: '10.96.0.10',
  podCidr: '10.244.0.0/14',
  firstPodIp: '10.244.0.2',
  port: 80,
  portName: 'http',
  targetPort: 8080,
} as const;

export interface BenchService {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  readonly service: V1Service;
  /** The current slice object (replaced on every change; the tracker sees prev/cur). */
  slice: V1EndpointSlice;
}

export interface BenchCluster {
  readonly node: V1Node;
  readonly services: BenchService[];
  /** Next unused pod address, for endpoints added later. */
  nextPodIp: number;
}

function uid(kind: string, n: number): string {
  const hex = (n >>> 0).toString(16).padStart(12, '0');
  return `${kind.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-${hex}`;
}

function nodeOf(i: number): string {
  return `bench-node-${String(i % CLUSTER.nodes).padStart(3, '0')}`;
}

/** An endpoint as the controller writes it for a ready pod. */
export function readyEndpoint(namespace: string, podName: string, podIp: string, podNumber: number): V1Endpoint {
  return {
    addresses: [podIp],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: nodeOf(podNumber),
    zone: CLUSTER.zones[podNumber % CLUSTER.zones.length] ?? 'zone-a',
    targetRef: { kind: 'Pod', namespace, name: podName, uid: uid('pod', podNumber) },
  };
}

function makeService(i: number, namespace: string, name: string, clusterIP: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      uid: uid('svc', i),
      resourceVersion: String(1000 + i),
      creationTimestamp: new Date(Date.UTC(2024, 0, 1)),
      labels: { app: name, 'app.kubernetes.io/part-of': `team-${i % 37}` },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      selector: { app: name },
      ports: [{ name: CLUSTER.portName, port: CLUSTER.port, protocol: 'TCP', targetPort: CLUSTER.targetPort }],
    },
    status: { loadBalancer: {} },
  };
}

function makeSlice(i: number, svc: V1Service, endpoints: V1Endpoint[]): V1EndpointSlice {
  const name = svc.metadata?.name ?? '';
  const namespace = svc.metadata?.namespace ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: {
      name: `${name}-${(i * 7919).toString(36).padStart(5, 'x').slice(-5)}`,
      namespace,
      uid: uid('eps', i),
      resourceVersion: String(500000 + i),
      generation: 1,
      labels: {
        'kubernetes.io/service-name': name,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        app: name,
      },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    endpoints,
    ports: [{ name: CLUSTER.portName, port: CLUSTER.targetPort, protocol: 'TCP' }],
  };
}

function addr(text: string): number {
  const n = parseIpv4(text);
  if (n === undefined) throw new Error(`bad address ${text}`);
  return n;
}

export function makeNode(): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: CLUSTER.nodeName, labels: { 'topology.kubernetes.io/zone': 'zone-a', 'kubernetes.io/hostname': CLUSTER.nodeName } },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }, { type: 'Hostname', address: CLUSTER.nodeName }] },
  };
}

export function makeCluster(shape: ClusterShape): BenchCluster {
  const services: BenchService[] = [];
  const firstVip = addr(CLUSTER.firstClusterIp);
  let pod = addr(CLUSTER.firstPodIp);
  for (let i = 0; i < shape.services; i++) {
    const namespace = `ns-${String(i % CLUSTER.namespaces).padStart(3, '0')}`;
    const name = `svc-${String(i).padStart(6, '0')}`;
    const clusterIP = formatIpv4(firstVip + i);
    const service = makeService(i, namespace, name, clusterIP);
    const endpoints: V1Endpoint[] = [];
    for (let e = 0; e < shape.endpointsPerService; e++, pod++) {
      endpoints.push(readyEndpoint(namespace, `${name}-${e}`, formatIpv4(pod), pod));
    }
    services.push({ key: `${namespace}/${name}`, namespace, name, clusterIP, service, slice: makeSlice(i, service, endpoints) });
  }
  return { node: makeNode(), services, nextPodIp: pod };
}

/** The endpoints of a slice that may take traffic (ready, or ready unset). */
export function readyAddresses(slice: V1EndpointSlice): string[] {
  return (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => e.addresses[0] ?? '');
}

/** The first pod address makeCluster(shape) leaves unused, for endpoints added later. */
export function firstFreePodIp(shape: ClusterShape): number {
  return addr(CLUSTER.firstPodIp) + shape.services * shape.endpointsPerService;
}
