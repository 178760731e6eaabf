// The lab's cluster and its example Services: the classics an operator knows, written as
// the manifests one would apply, plus the EndpointSlices and Pods the control plane
// would publish for the lab's pods (the lab plays the endpoint controller and the
// scheduler, since there is no API server). Every agent reads the same directory; each
// takes its own Node object and the Pods scheduled on it.

import type { BuiltPod, Lab, LabSpec } from './topology.js';

export const LAB_NET = {
  external: '10.255.0.0/24',
  client: '10.255.0.100',
  /** LoadBalancer ingress and externalIP addresses, routed by the client to node1. */
  lbPool: '10.255.1.0/24',
  lbIP: '10.255.1.10',
  externalIP: '10.255.1.20',
} as const;

export const NODES = [
  { name: 'node1', podCidr: '10.244.1.0/24', addr: '10.255.0.11' },
  { name: 'node2', podCidr: '10.244.2.0/24', addr: '10.255.0.12' },
] as const;

const SERVE = { tcpPorts: [8000], udpPorts: [8000] };

export function labSpec(prefix: string): LabSpec {
  return {
    prefix,
    nodes: NODES.map((n) => ({ ...n })),
    pods: [
      { name: 'hdls-0', node: 'node1', ...SERVE },
      { name: 'hdls-1', node: 'node1', ...SERVE },
      { name: 'hdls-2', node: 'node2', ...SERVE },
      { name: 'web-0', node: 'node1', ...SERVE },
      { name: 'web-1', node: 'node2', ...SERVE },
      { name: 'lb-0', node: 'node1', ...SERVE },
      { name: 'db-0', node: 'node2', ...SERVE },
      { name: 'host-0', node: 'node2', ...SERVE },
      { name: 'client', node: 'node1', client: true },
    ],
    external: {
      cidr: LAB_NET.external,
      clientAddr: LAB_NET.client,
      routes: [{ to: LAB_NET.lbPool, via: 'node1' }],
    },
  };
}

type Obj = Record<string, unknown>;

function svc(name: string, spec: Obj, status?: Obj): Obj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec, ...(status ? { status } : {}) };
}

function endpointSlice(service: string, pods: BuiltPod[], ports: Array<{ name: string; port: number; protocol: string }>): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service}-lab`,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'kpx-lab' },
    },
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: p.node,
      targetRef: { kind: 'Pod', namespace: 'default', name: p.name },
    })),
    ports,
  };
}

const HTTP = [{ name: 'http', port: 8000, protocol: 'TCP' }];

/** Every manifest document of the lab, in apply order. */
export function labManifests(lab: Lab): Obj[] {
  const pods = (prefix: string) => lab.pods.filter((p) => p.name.startsWith(prefix));
  const pod = (name: string) => lab.pods.find((p) => p.name === name)!;
  return [
    ...lab.nodes.map((n) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } },
      status: { addresses: [{ type: 'InternalIP', address: n.addr }] },
    })),
    // 1. The classic: ClusterIP 8080 -> 8000.
    svc('hdls', { clusterIP: '10.96.0.10', selector: { app: 'hdls' }, ports: [{ name: 'http', port: 8080, targetPort: 8000 }] }),
    endpointSlice('hdls', pods('hdls-'), HTTP),
    // 2. NodePort with a fixed nodePort, and an externalIP assigned to no interface.
    svc('web', {
      type: 'NodePort',
      clusterIP: '10.96.0.11',
      selector: { app: 'web' },
      externalIPs: [LAB_NET.externalIP],
      ports: [{ name: 'http', port: 80, targetPort: 8000, nodePort: 30080 }],
    }),
    endpointSlice('web', pods('web-'), HTTP),
    // 3. ClientIP session affinity.
    svc('sticky', {
      clusterIP: '10.96.0.12',
      selector: { app: 'hdls' },
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      ports: [{ name: 'http', port: 80, targetPort: 8000 }],
    }),
    endpointSlice('sticky', pods('hdls-'), HTTP),
    // 4. Multi-port: a TCP and a UDP port.
    svc('multi', {
      clusterIP: '10.96.0.13',
      selector: { app: 'hdls' },
      ports: [
        { name: 'http', port: 80, targetPort: 8000, protocol: 'TCP' },
        { name: 'dns', port: 53, targetPort: 8000, protocol: 'UDP' },
      ],
    }),
    endpointSlice('multi', pods('hdls-'), [
      { name: 'http', port: 8000, protocol: 'TCP' },
      { name: 'dns', port: 8000, protocol: 'UDP' },
    ]),
    // 5. Selectorless Service with hand-written Endpoints.
    svc('external-db', { clusterIP: '10.96.0.14', ports: [{ port: 5432, targetPort: 8000 }] }),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'external-db', namespace: 'default' },
      subsets: [{ addresses: [{ ip: pod('db-0').ip }], ports: [{ port: 8000 }] }],
    },
    // 6. Headless: not proxied.
    svc('headless', { clusterIP: 'None', selector: { app: 'hdls' }, ports: [{ port: 80, targetPort: 8000 }] }),
    // 7. LoadBalancer with an ingress IP and externalTrafficPolicy Local.
    svc(
      'lb',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.15',
        selector: { app: 'lb' },
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        ports: [{ name: 'http', port: 80, targetPort: 8000, nodePort: 30090 }],
      },
      { loadBalancer: { ingress: [{ ip: LAB_NET.lbIP }] } },
    ),
    endpointSlice('lb', pods('lb-'), HTTP),
    // 8. No endpoints at all: rejected.
    svc('empty', { clusterIP: '10.96.0.16', selector: { app: 'none' }, ports: [{ port: 80, targetPort: 8000 }] }),
    // 9. A UDP port no backend listens on: each answers ICMP port unreachable, which kpx
    //    translates back so the client's socket sees ECONNREFUSED at once.
    svc('closed', { clusterIP: '10.96.0.17', selector: { app: 'hdls' }, ports: [{ name: 'dns', port: 53, targetPort: 9999, protocol: 'UDP' }] }),
    endpointSlice('closed', pods('hdls-'), [{ name: 'dns', port: 9999, protocol: 'UDP' }]),
    // 10. A container exposing 8000 on its host's 8000.
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'host-0', namespace: 'default' },
      spec: { nodeName: 'node2', containers: [{ name: 'app', image: 'lab', ports: [{ containerPort: 8000, hostPort: 8000 }] }] },
      status: { podIP: pod('host-0').ip },
    },
  ];
}

/** Where the lab sends traffic from, and to what. */
export interface LabProbe {
  service: string;
  from: 'pod' | 'node1' | 'external';
  target: string; // addr:port
  proto: 'tcp' | 'udp';
  count: number;
  /** UDP: bytes per datagram (and per answer); past the MTU they travel in fragments. */
  size?: number;
  /** What the rules say should happen. */
  expect: string;
}

export function labProbes(): LabProbe[] {
  const n1 = NODES[0].addr;
  const n2 = NODES[1].addr;
  return [
    { service: 'hdls', from: 'pod', target: '10.96.0.10:8080', proto: 'tcp', count: 30, expect: 'all 3 backends, pod address kept' },
    { service: 'hdls', from: 'node1', target: '10.96.0.10:8080', proto: 'tcp', count: 30, expect: 'all 3 backends (node-originated)' },
    { service: 'web', from: 'pod', target: `${n1}:30080`, proto: 'tcp', count: 20, expect: 'both backends' },
    { service: 'web', from: 'external', target: `${n1}:30080`, proto: 'tcp', count: 20, expect: 'local: client kept; remote: node1 address' },
    { service: 'web', from: 'external', target: `${n2}:30080`, proto: 'tcp', count: 20, expect: 'NodePort on every node' },
    { service: 'web', from: 'external', target: `${LAB_NET.externalIP}:80`, proto: 'tcp', count: 20, expect: 'externalIP on no interface' },
    { service: 'sticky', from: 'pod', target: '10.96.0.12:80', proto: 'tcp', count: 20, expect: 'one backend (ClientIP affinity)' },
    { service: 'multi', from: 'pod', target: '10.96.0.13:80', proto: 'tcp', count: 20, expect: 'TCP port' },
    { service: 'multi', from: 'pod', target: '10.96.0.13:53', proto: 'udp', count: 20, expect: 'UDP port' },
    { service: 'multi', from: 'pod', target: '10.96.0.13:53', proto: 'udp', count: 10, size: 4000, expect: '4,000-byte datagrams and answers, three fragments each, arriving whole' },
    { service: 'closed', from: 'pod', target: '10.96.0.17:53', proto: 'udp', count: 1, expect: 'connection refused: the backend\'s ICMP port unreachable, translated back' },
    { service: 'external-db', from: 'pod', target: '10.96.0.14:5432', proto: 'tcp', count: 10, expect: 'the address the Endpoints name' },
    { service: 'lb', from: 'external', target: `${LAB_NET.lbIP}:80`, proto: 'tcp', count: 20, expect: 'local backend only, client kept (eTP Local)' },
    { service: 'lb', from: 'external', target: `${n2}:30090`, proto: 'tcp', count: 1, expect: 'timeout: no local endpoint on node2 (T1)' },
    { service: 'lb', from: 'external', target: `${n1}:32000`, proto: 'tcp', count: 1, expect: 'healthCheckNodePort: 200 on node1' },
    { service: 'empty', from: 'pod', target: '10.96.0.16:80', proto: 'tcp', count: 1, expect: 'connection refused (N1)' },
    { service: 'host-0', from: 'external', target: `${n2}:8000`, proto: 'tcp', count: 5, expect: 'hostPort 8000 -> host-0' },
  ];
}
