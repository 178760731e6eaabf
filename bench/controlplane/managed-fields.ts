// managedFields as a real API server keeps them: one entry per field manager, listing the
// fields it set (FieldsV1). Every object a client lists or watches carries them, so an
// agent's informer receives them; kpx drops them before caching (compact-object.ts), and
// the bench's objects must carry them for the agent's RSS to be a real agent's.

import type { KubernetesObject } from '@kubernetes/client-node';

type Fields = { [k: string]: Fields };

/** The FieldsV1 set of `value`: "f:<name>" per field, nested. Every list is written as
 *  atomic ("f:endpoints": {}), the smallest form: the server itemises lists keyed by a
 *  merge key (Service ports, for one), so real entries are at least this large. */
function fieldsOf(value: unknown): Fields {
  const out: Fields = {};
  if (value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldsOf(v);
  }
  return out;
}

const MANAGERS: Record<string, { manager: string; operation: string }> = {
  Service: { manager: 'kubectl-client-side-apply', operation: 'Update' },
  EndpointSlice: { manager: 'kube-controller-manager', operation: 'Update' },
  Node: { manager: 'kubelet', operation: 'Update' },
};

/** `obj` with the managedFields entry of the manager that writes objects of its kind. */
export function withManagedFields<T extends KubernetesObject>(obj: T): T {
  const who = MANAGERS[obj.kind ?? ''] ?? { manager: 'unknown', operation: 'Update' };
  const { apiVersion: _a, kind: _k, metadata, ...rest } = obj as T & Record<string, unknown>;
  // Fields the server sets itself are not any manager's.
  const { name: _n, namespace: _ns, uid: _u, resourceVersion: _rv, creationTimestamp: _c, generation: _g, ...ownMeta } = metadata ?? {};
  const entry = {
    manager: who.manager,
    operation: who.operation,
    apiVersion: obj.apiVersion,
    time: '2024-01-01T00:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': fieldsOf(ownMeta), ...fieldsOf(rest) },
  };
  return { ...obj, metadata: { ...metadata, managedFields: [entry] } };
}
