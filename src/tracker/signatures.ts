// What of each object matters to the proxy, as a canonical string: two objects with the
// same signature program the same datapath, so a {previous, current} pair with equal
// signatures is no change (resourceVersion, managedFields, annotations, pod references
// and the like are left out on purpose). The tracker keeps a signature for every object
// it holds, so what it keeps is a SHA-256 digest of that string, not the string itself: at
// 10,000 Services x 10 endpoints the strings alone were ~20 MB of heap.

import { createHash } from 'node:crypto';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { LABELS } from '../model/labels.js';
import { namespaceOf } from '../model/object-keys.js';
import type { NodeInfo } from '../model/types.js';

/**
 * JSON with object keys sorted at every level, so key order never makes a difference:
 * the text JSON.stringify gives for the same value with every object's keys sorted
 * (toJSON honoured; undefined, functions and symbols left out of objects and null in
 * arrays). Written out by hand because it runs for every object delivered: sorting keys
 * with Array.prototype.sort in a JSON.stringify replacer allocated ~300 MB of short-lived
 * memory to deliver 10,000 Services with their slices (V8's sort sets up work arrays on
 * every call, however few the keys).
 */
export function stableStringify(value: unknown): string {
  const out: string[] = [];
  writeJson(value, out);
  return out.join('');
}

/** A key JavaScript enumerates as an integer index: "0", "1", …, up to 2^32 - 2. */
function isArrayIndex(k: string): boolean {
  if (k.length === 0 || k.length > 10 || (k.length > 1 && k.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return Number(k) < 4294967295;
}

function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function writeJson(value: unknown, out: string[]): void {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  if (v === null || typeof v !== 'object') {
    // Top-level undefined (and the like) gives '', as before ("?? ''").
    if (!omitted(v)) out.push(JSON.stringify(v));
    return;
  }
  if (Array.isArray(v)) {
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      if (omitted(v[i])) out.push('null');
      else writeJson(v[i], out);
    }
    out.push(']');
    return;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  // The order a sorted copy of the object has: integer-like keys first in numeric order
  // (JavaScript enumerates those first, as Object.keys already lists them), then the
  // rest by UTF-16 code units (Array.prototype.sort's order), by insertion sort.
  let start = 0;
  while (start < keys.length && isArrayIndex(keys[start]!)) start++;
  for (let i = start + 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= start && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  out.push('{');
  let first = true;
  for (const k of keys) {
    const e = obj[k];
    if (omitted(e)) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    writeJson(e, out);
  }
  out.push('}');
}

/** SHA-256 of `text`, base64: a fixed 44 characters whatever the object's size. Equal
 *  texts give equal digests; a collision would need a SHA-256 collision. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

function pickLabels(labels: Record<string, string> | undefined, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (labels?.[n] !== undefined) out[n] = labels[n];
  return out;
}

export function serviceSignature(svc: V1Service): string {
  return digest(stableStringify({
    labels: pickLabels(svc.metadata?.labels, [LABELS.serviceProxyName, LABELS.headless]),
    spec: svc.spec ?? {},
    loadBalancer: svc.status?.loadBalancer ?? {},
  }));
}

export function sliceSignature(slice: V1EndpointSlice): string {
  return digest(stableStringify({
    labels: pickLabels(slice.metadata?.labels, [LABELS.serviceName, LABELS.serviceProxyName]),
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      conditions: e.conditions ?? {},
      nodeName: e.nodeName,
      zone: e.zone,
      hints: e.hints,
    })),
    ports: slice.ports ?? [],
  }));
}

export function nodeSignature(info: NodeInfo | undefined): string {
  return digest(stableStringify(info ?? null));
}

/** A container port that a Pod publishes on this node's address. */
export function hostPortsSignature(ports: readonly HostPort[]): string {
  return digest(stableStringify(ports));
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
