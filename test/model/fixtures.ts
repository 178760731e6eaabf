// Small builders for Services and EndpointSlices in unit tests (model, encoder, tracker).

import type { V1Endpoint, V1EndpointSlice, V1Service, V1ServicePort, V1ServiceSpec } from '@kubernetes/client-node';
import type { ModelOptions, NodeInfo } from '../../src/model/types.js';

export const NODE: NodeInfo = { name: 'node-a', zone: 'zone-a', addresses: ['192.168.1.10'] };
export const OPTS: ModelOptions = { nodeName: 'node-a', family: 'IPv4' };

export function svc(name: string, spec: Partial<V1ServiceSpec> & { ports?: V1ServicePort[] }, extra: Partial<V1Service> = {}): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    ...extra,
    metadata: { name, namespace: 'default', ...extra.metadata },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec },
  };
}

export function ep(addr: string, more: Partial<V1Endpoint> = {}): V1Endpoint {
  return { addresses: [addr], conditions: { ready: true }, ...more };
}

export function slice(service: string, name: string, endpoints: V1Endpoint[], more: Partial<V1EndpointSlice> = {}): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
    ...more,
    metadata: { name, namespace: 'default', ...more.metadata, labels: { 'kubernetes.io/service-name': service, ...more.metadata?.labels } },
  };
}
