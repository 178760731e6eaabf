// Objects of one source have one shape, whichever way they arrived: here, the client-node
// model classes (Dates for timestamps, unknown fields dropped) with apiVersion and kind
// set. Manifest files and the API server's Node use it; the API server's Services,
// EndpointSlices and Pods are compacted into plain objects instead (apiserver/compact-
// object.ts), whether they came in a list page or a watch event. Without one shape, prev
// and cur of one object could differ in form alone.

// The serializer is not re-exported by the package index; this path is stable across 1.x.
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import type { V1EndpointSlice, V1Endpoints, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

export interface KindTypes {
  Service: V1Service;
  EndpointSlice: V1EndpointSlice;
  Endpoints: V1Endpoints;
  Node: V1Node;
  Pod: V1Pod;
}
export type SourceKind = keyof KindTypes;

export const API_VERSIONS: { readonly [K in SourceKind]: string } = {
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Endpoints: 'v1',
  Node: 'v1',
  Pod: 'v1',
};

const MODEL_NAMES: { readonly [K in SourceKind]: string } = {
  Service: 'V1Service',
  EndpointSlice: 'V1EndpointSlice',
  Endpoints: 'V1Endpoints',
  Node: 'V1Node',
  Pod: 'V1Pod',
};

/** Converts raw JSON (or a model object) of `kind` into the model class, kind/apiVersion set. */
export function toTyped<K extends SourceKind>(kind: K, obj: unknown): KindTypes[K] {
  const typed = ObjectSerializer.deserialize(obj, MODEL_NAMES[kind], '') as KindTypes[K];
  typed.apiVersion = API_VERSIONS[kind];
  typed.kind = kind;
  return typed;
}
