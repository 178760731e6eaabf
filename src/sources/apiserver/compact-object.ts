// What the agent keeps of a watched object: the fields a service proxy reads, and nothing
// else. A client-node informer caches every object it lists or watches, whole, for as long
// as it runs; at 10,000 Services x 10 endpoints that cache was most of the agent's heap,
// and objects from a real API server also carry managedFields, ownerReferences, every
// label and annotation, and a targetRef per endpoint that kpx never reads. The API-server
// source hands the informer compacted objects (see compacting-watch.ts and the list in
// resource-watcher.ts), so its cache, the source's previous-object map and the change
// tracker all share one small copy.
//
// The fields kept are those the signatures (src/tracker/signatures.ts) and the change
// metrics read, plus what the informer itself needs: name, namespace and resourceVersion.
// Input is a client-node model object (typed.ts): a compacted object of a list item and of
// a watch event of the same object are equal field by field.

import type { V1Container, V1Endpoint, V1EndpointSlice, V1ObjectMeta, V1Pod, V1Service } from '@kubernetes/client-node';
import { LABELS, TRIGGER_TIME_ANNOTATION } from '../../model/labels.js';
import { API_VERSIONS, type KindTypes, type SourceKind } from '../typed.js';

/** The labels and annotations a proxy reads, per kind. Everything else is dropped. */
const KEPT_LABELS = {
  Service: [LABELS.serviceProxyName, LABELS.headless],
  EndpointSlice: [LABELS.serviceName, LABELS.serviceProxyName],
} as const;
const KEPT_ANNOTATIONS = [TRIGGER_TIME_ANNOTATION] as const;

function pick(from: Record<string, string> | undefined, names: readonly string[]): Record<string, string> | undefined {
  if (!from) return undefined;
  let out: Record<string, string> | undefined;
  for (const n of names) {
    const v = from[n];
    if (v !== undefined) (out ??= {})[n] = v;
  }
  return out;
}

/** Copies the defined values only: an own property holding undefined still costs a slot. */
function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function meta(m: V1ObjectMeta | undefined, labels: readonly string[]): V1ObjectMeta {
  return defined({
    name: m?.name,
    namespace: m?.namespace,
    resourceVersion: m?.resourceVersion,
    labels: pick(m?.labels, labels),
    annotations: pick(m?.annotations, KEPT_ANNOTATIONS),
  });
}

function service(s: V1Service): V1Service {
  return defined({
    apiVersion: API_VERSIONS.Service,
    kind: 'Service',
    metadata: meta(s.metadata, KEPT_LABELS.Service),
    // The whole spec: every field of it can change what a proxy programs.
    spec: s.spec,
    status: s.status?.loadBalancer ? { loadBalancer: s.status.loadBalancer } : undefined,
  });
}

function endpoint(e: V1Endpoint): V1Endpoint {
  return defined({ addresses: e.addresses, conditions: e.conditions, nodeName: e.nodeName, zone: e.zone, hints: e.hints });
}

function endpointSlice(s: V1EndpointSlice): V1EndpointSlice {
  return defined({
    apiVersion: API_VERSIONS.EndpointSlice,
    kind: 'EndpointSlice',
    metadata: meta(s.metadata, KEPT_LABELS.EndpointSlice),
    addressType: s.addressType,
    endpoints: s.endpoints?.map(endpoint),
    ports: s.ports,
  });
}

/** A container reduced to its published host ports (hostPortsOf reads nothing else). */
function container(c: V1Container): V1Container {
  const ports = c.ports?.filter((p) => p.hostPort);
  return defined({ name: c.name, ports: ports?.length ? ports : undefined });
}

function pod(p: V1Pod): V1Pod {
  return defined({
    apiVersion: API_VERSIONS.Pod,
    kind: 'Pod',
    metadata: meta(p.metadata, []),
    spec: p.spec ? { containers: p.spec.containers.map(container) } : undefined,
    status: p.status?.podIP ? { podIP: p.status.podIP } : undefined,
  });
}

/** `obj` (a model object of `kind`) reduced to what the proxy reads, kind and apiVersion
 *  set (list items come without them). The Node is kept whole: there is one, and
 *  nodeInfoFromNode reduces it anyway. */
export function compactObject<K extends SourceKind>(kind: K, obj: KindTypes[K]): KindTypes[K] {
  switch (kind) {
    case 'Service':
      return service(obj as V1Service) as KindTypes[K];
    case 'EndpointSlice':
      return endpointSlice(obj as V1EndpointSlice) as KindTypes[K];
    case 'Pod':
      return pod(obj as V1Pod) as KindTypes[K];
    default:
      obj.apiVersion = API_VERSIONS[kind];
      obj.kind = kind;
      return obj;
  }
}
