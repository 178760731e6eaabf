// The lab's example Services, as the manifests an operator would write, plus the
// EndpointSlices that the endpoint controller would publish for the lab's pods (the lab
// plays the controller, since there is no API server).

import type { BuiltPod } from './topology.js';

export interface Example {
  /** Service name (namespace default). */
  name: string;
  /** What the lab sends to it: protocol, frontend port, number of requests. */
  probes: Array<{ proto: 'tcp' | 'udp'; port: number; count: number }>;
  /** Backend pods (by name) the example selects. */
  pods: string[];
  manifest(pods: BuiltPod[], clusterIP: string): string;
}

function slice(service: string, pods: BuiltPod[], ports: Array<{ name: string; port: number; protocol: string }>): string {
  const eps = pods
    .map(
      (p) => `  - addresses: ["${p.ip}"]
    conditions: { ready: true, serving: true, terminating: false }
    nodeName: ${p.node}
    targetRef: { kind: Pod, namespace: default, name: ${p.name} }`,
    )
    .join('\n');
  const ps = ports.map((p) => `  - { name: "${p.name}", port: ${p.port}, protocol: ${p.protocol} }`).join('\n');
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${service}-lab
  namespace: default
  labels: { kubernetes.io/service-name: ${service}, endpointslice.kubernetes.io/managed-by: kpx-lab }
addressType: IPv4
endpoints:
${eps}
ports:
${ps}
`;
}

/** The classic: Service hdls, port 8080 -> targetPort 8000, selector app=hdls, three pods. */
export const HDLS: Example = {
  name: 'hdls',
  probes: [
    { proto: 'tcp', port: 8080, count: 60 },
    { proto: 'udp', port: 8080, count: 30 },
  ],
  pods: ['hdls-0', 'hdls-1', 'hdls-2'],
  manifest(pods, clusterIP) {
    return `apiVersion: v1
kind: Service
metadata:
  name: hdls
  namespace: default
spec:
  type: ClusterIP
  clusterIP: ${clusterIP}
  selector: { app: hdls }
  ports:
  - { name: http, port: 8080, targetPort: 8000, protocol: TCP }
  - { name: echo, port: 8080, targetPort: 8000, protocol: UDP }
---
${slice('hdls', pods, [
  { name: 'http', port: 8000, protocol: 'TCP' },
  { name: 'echo', port: 8000, protocol: 'UDP' },
])}`;
  },
};
