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
// Input is wire JSON (a list item or a watch event) or a client-node model object (field
// names are the same); the output is plain objects built field by field (see plain() for
// why), so any two forms of the same object compact to equal objects.

import type { V1Container, V1Endpoint, V1EndpointConditions, V1EndpointSlice, V1ObjectMeta, V1Pod, V1Service } from '@kubernetes/client-node';
import { PROXY_LABELS, TRIGGER_TIME_ANNOTATION, pickLabels } from '../../model/labels.js';
import { API_VERSIONS, toTyped, type KindTypes, type SourceKind } from '../typed.js';

/** The one annotation a proxy reads (change metrics). Every other is dropped. */
const KEPT_ANNOTATIONS = [TRIGGER_TIME_ANNOTATION] as const;

/**
 * A plain deep copy holding only defined values, every array exactly as long as it is.
 * client-node's model objects carry every attribute of their type (undefined ones too, in
 * out-of-object property storage), and its deserializer builds arrays by push(), which
 * leaves room for 17 elements: one endpoint's one-address array took 184 bytes.
 * Objects are built by adding properties, never by deleting them: a delete of any but
 * the last-added property turns a V8 object into a hash table several times larger.
 */
function plain<T>(v: T): T {
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v === null || typeof v !== 'object' || v instanceof Date) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
  return out as T;
}

/**
 * One copy of each node name and zone: parsed JSON makes a new string per endpoint, and
 * 100,000 endpoints name a few hundred nodes. The table only grows with distinct names
 * (nodes and zones in the cluster), so it is never pruned.
 */
const interned = new Map<string, string>();
function intern(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const known = interned.get(s);
  if (known !== undefined) return known;
  interned.set(s, s);
  return s;
}

function meta(m: V1ObjectMeta | undefined, labels: readonly string[]): V1ObjectMeta {
  const out: V1ObjectMeta = { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion };
  const l = pickLabels(m?.labels, labels);
  if (l) out.labels = l;
  const a = pickLabels(m?.annotations, KEPT_ANNOTATIONS);
  if (a) out.annotations = a;
  return out;
}

function service(s: V1Service): V1Service {
  const out: V1Service = { apiVersion: API_VERSIONS.Service, kind: 'Service', metadata: meta(s.metadata, PROXY_LABELS.Service) };
  // The whole spec: every field of it can change what a proxy programs.
  if (s.spec) out.spec = plain(s.spec);
  if (s.status?.loadBalancer) out.status = { loadBalancer: plain(s.status.loadBalancer) };
  return out;
}

/**
 * One shared, frozen object per combination of an endpoint's conditions: there are 27
 * (each of ready, serving and terminating is true, false or unset), and 100,000 endpoints
 * with one object each took ~5 MB. Nothing writes to a delivered object.
 */
const sharedConditions = new Map<string, V1EndpointConditions>();
function conditions(c: V1EndpointConditions): V1EndpointConditions {
  const key = `${c.ready}|${c.serving}|${c.terminating}`;
  let shared = sharedConditions.get(key);
  if (!shared) {
    shared = {};
    if (c.ready !== undefined) shared.ready = c.ready;
    if (c.serving !== undefined) shared.serving = c.serving;
    if (c.terminating !== undefined) shared.terminating = c.terminating;
    sharedConditions.set(key, Object.freeze(shared));
  }
  return shared;
}

function endpoint(e: V1Endpoint): V1Endpoint {
  // One literal with every field, so V8 gives the object room for all five in place
  // (added one by one, the fifth needs a separate property array). Unset fields hold
  // undefined, which signatures and the model read as absent.
  return {
    addresses: e.addresses.slice(),
    conditions: e.conditions ? conditions(e.conditions) : undefined,
    nodeName: intern(e.nodeName),
    zone: intern(e.zone),
    hints: e.hints ? plain(e.hints) : undefined,
  };
}

function endpointSlice(s: V1EndpointSlice): V1EndpointSlice {
  const out: V1EndpointSlice = {
    apiVersion: API_VERSIONS.EndpointSlice,
    kind: 'EndpointSlice',
    metadata: meta(s.metadata, PROXY_LABELS.EndpointSlice),
    addressType: s.addressType,
    endpoints: (s.endpoints ?? []).map(endpoint),
  };
  if (s.ports) out.ports = plain(s.ports);
  return out;
}

/** A container reduced to its published host ports (hostPortsOf reads nothing else). */
function container(c: V1Container): V1Container {
  const out: V1Container = { name: c.name };
  const ports = c.ports?.filter((p) => p.hostPort);
  if (ports?.length) out.ports = plain(ports);
  return out;
}

function pod(p: V1Pod): V1Pod {
  const out: V1Pod = { apiVersion: API_VERSIONS.Pod, kind: 'Pod', metadata: meta(p.metadata, []) };
  if (p.spec) out.spec = { containers: p.spec.containers.map(container) };
  if (p.status?.podIP) out.status = { podIP: p.status.podIP };
  return out;
}

/** `obj` (wire JSON or a model object of `kind`) reduced to what the proxy reads, kind
 *  and apiVersion set (list items come without them). The Node is kept whole, as a model
 *  object: there is one, and nodeInfoFromNode reduces it anyway. */
export function compactObject<K extends SourceKind>(kind: K, obj: unknown): KindTypes[K] {
  switch (kind) {
    case 'Service':
      return service(obj as V1Service) as KindTypes[K];
    case 'EndpointSlice':
      return endpointSlice(obj as V1EndpointSlice) as KindTypes[K];
    case 'Pod':
      return pod(obj as V1Pod) as KindTypes[K];
    default:
      return toTyped(kind, obj);
  }
}
