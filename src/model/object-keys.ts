// How Services and EndpointSlices are named in keys and error messages.

import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { LABELS } from './labels.js';

/** Objects from manifest files may omit the namespace; the API server defaults it. */
export function namespaceOf(obj: { metadata?: { namespace?: string } }): string {
  return obj.metadata?.namespace || 'default';
}

/** "namespace/name" of a Service. */
export function serviceKey(svc: V1Service): string {
  return `${namespaceOf(svc)}/${svc.metadata?.name ?? ''}`;
}

/** "namespace/service" a slice belongs to, or undefined when it lacks the service-name label. */
export function sliceServiceKey(slice: V1EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[LABELS.serviceName];
  return svc ? `${namespaceOf(slice)}/${svc}` : undefined;
}

export function sliceName(slice: V1EndpointSlice): string {
  return slice.metadata?.name ?? '';
}

/** The `where` of a BadObjectError about a Service. */
export function serviceWhere(key: string): string {
  return `Service ${key}`;
}

export function sliceWhere(slice: V1EndpointSlice): string {
  return `EndpointSlice ${namespaceOf(slice)}/${sliceName(slice)}`;
}
