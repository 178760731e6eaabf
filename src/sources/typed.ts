// Every object a source delivers has the same shape, whichever way it arrived: the
// client-node model classes (Dates for timestamps, unknown fields dropped) with apiVersion
// and kind set. List responses come back as model objects without kind/apiVersion (the API
// server omits them in list items) while watch events and manifest files are raw JSON;
// without this, prev and cur of one object could differ in shape alone.

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
