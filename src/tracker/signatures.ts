// What of each object matters to the proxy, as a canonical string: two objects with the
// same signature program the same datapath, so a {previous, current} pair with equal
// signatures is no change (resourceVersion, managedFields, annotations, pod references
// and the like are left out on purpose). The tracker keeps a signature for every object
// it holds, so what it keeps is a SHA-256 digest of that string, not the string itself: at
// 10,000 Services x 10 endpoints the strings alone were ~20 MB of heap.

import { createHash } from 'node:crypto';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { PROXY_LABELS, pickLabels } from '../model/labels.js';
import { namespaceOf } from '../model/object-keys.js';
import type { NodeInfo } from '../model/types.js';
import { canonicalDigest } from './canonical-json.js';

export { canonicalDigest, stableStringify } from './canonical-json.js';

/** SHA-256 of `text`, base64: a fixed 44 characters whatever the object's size. Equal
 *  texts give equal digests; a collision would need a SHA-256 collision. The signatures
 *  below are canonicalDigest(v), which equals digest(stableStringify(v)) without building
 *  the text. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

export function serviceSignature(svc: V1Service): string {
  return canonicalDigest({
    labels: pickLabels(svc.metadata?.labels, PROXY_LABELS.Service) ?? {},
    spec: svc.spec ?? {},
    loadBalancer: svc.status?.loadBalancer ?? {},
  });
}

export function sliceSignature(slice: V1EndpointSlice): string {
  return canonicalDigest({
    labels: pickLabels(slice.metadata?.labels, PROXY_LABELS.EndpointSlice) ?? {},
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      conditions: e.conditions ?? {},
      nodeName: e.nodeName,
      zone: e.zone,
      hints: e.hints,
    })),
    ports: slice.ports ?? [],
  });
}

export function nodeSignature(info: NodeInfo | undefined): string {
  return canonicalDigest(info ?? null);
}

/** A container port that a Pod publishes on this node's address. */
export function hostPortsSignature(ports: readonly HostPort[]): string {
  return canonicalDigest(ports);
}

export interface HostPort {
  readonly pod: string;
  readonly podIP?: string;
  readonly hostIP?: string;
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: string;
}

export function hostPortsOf(pod: V1Pod): HostPort[] {
  const key = `${namespaceOf(pod)}/${pod.metadata?.name ?? ''}`;
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({
        pod: key,
        ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}),
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
        hostPort: p.hostPort,
        containerPort: p.containerPort,
        protocol: p.protocol ?? 'TCP',
      });
    }
  }
  return out;
}
