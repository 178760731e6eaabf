// Endpoints (v1) → EndpointSlices, the way the EndpointSlice mirroring controller does it
// (S5): one group per (address family, port set), `kubernetes.io/service-name` naming the
// Service, ready=false for notReadyAddresses, ports copied with their names, labels and
// annotations copied. Differences, on purpose:
// - Slice names are derived from the group (not random), so every node and every rescan
//   computes the same names and a change is an update, not a delete + add.
// - Endpoints of Services with a selector are mirrored too: standalone has no endpoints
//   controller to fill them in, so hand-written Endpoints are the only source.

import { createHash } from 'node:crypto';
import { isObject, type JsonObject } from './fields.js';

export const MIRROR_LABELS = {
  serviceName: 'kubernetes.io/service-name',
  managedBy: 'endpointslice.kubernetes.io/managed-by',
  skipMirror: 'endpointslice.kubernetes.io/skip-mirror',
} as const;
export const MIRROR_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

/** The controller skips Endpoints used as leader-election locks. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
const DROPPED_ANNOTATIONS = ['endpoints.kubernetes.io/last-change-trigger-time', 'kubectl.kubernetes.io/last-applied-configuration'];
/** The mirroring controller's default --mirroring-max-endpoints-per-subset. */
const MAX_ENDPOINTS_PER_SLICE = 1000;

interface Group {
  addressType: 'IPv4' | 'IPv6';
  ports: JsonObject[];
  endpoints: Map<string, JsonObject>;
}

function list(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function stringMap(v: unknown): Record<string, string> {
  return isObject(v) ? (v as Record<string, string>) : {};
}

function toSlicePort(p: JsonObject): JsonObject {
  const out: JsonObject = { name: typeof p['name'] === 'string' ? p['name'] : '', port: p['port'], protocol: p['protocol'] ?? 'TCP' };
  if (p['appProtocol'] !== undefined) out['appProtocol'] = p['appProtocol'];
  return out;
}

function toEndpoint(a: JsonObject, ready: boolean): JsonObject {
  const e: JsonObject = { addresses: [a['ip']], conditions: { ready } };
  if (typeof a['hostname'] === 'string' && a['hostname'] !== '') e['hostname'] = a['hostname'];
  if (typeof a['nodeName'] === 'string') e['nodeName'] = a['nodeName'];
  if (isObject(a['targetRef'])) e['targetRef'] = a['targetRef'];
  return e;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** The slices mirrored from one validated Endpoints object (namespace already defaulted). */
export function endpointsToSlices(ep: JsonObject): JsonObject[] {
  const meta = isObject(ep['metadata']) ? ep['metadata'] : {};
  const name = String(meta['name']);
  const labels = stringMap(meta['labels']);
  const annotations = stringMap(meta['annotations']);
  if (labels[MIRROR_LABELS.skipMirror] === 'true' || annotations[LEADER_ANNOTATION] !== undefined) return [];

  const groups = new Map<string, Group>();
  for (const subset of list(ep['subsets'])) {
    const ports = list(subset['ports']).map(toSlicePort);
    const portsKey = JSON.stringify([...ports].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    const add = (a: JsonObject, ready: boolean): void => {
      const ip = String(a['ip']);
      const addressType = ip.includes(':') ? 'IPv6' : 'IPv4';
      const key = `${addressType}|${portsKey}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { addressType, ports, endpoints: new Map() }));
      const seen = g.endpoints.get(ip);
      // The same address listed twice counts once; ready wins over not ready.
      if (!seen || (ready && (seen['conditions'] as JsonObject)['ready'] === false)) g.endpoints.set(ip, toEndpoint(a, ready));
    };
    for (const a of list(subset['addresses'])) add(a, true);
    for (const a of list(subset['notReadyAddresses'])) add(a, false);
  }

  const sliceLabels = { ...labels, [MIRROR_LABELS.serviceName]: name, [MIRROR_LABELS.managedBy]: MIRROR_CONTROLLER };
  const sliceAnnotations = Object.fromEntries(Object.entries(annotations).filter(([k]) => !DROPPED_ANNOTATIONS.includes(k)));
  const slices: JsonObject[] = [];
  for (const [key, g] of groups) {
    const endpoints = [...g.endpoints.values()];
    const chunks = Math.max(1, Math.ceil(endpoints.length / MAX_ENDPOINTS_PER_SLICE));
    for (let i = 0; i < chunks; i++) {
      const suffix = `${shortHash(key)}${chunks > 1 ? `-${i}` : ''}`;
      const metadata: JsonObject = {
        name: `${name.slice(0, 253 - suffix.length - 1)}-${suffix}`,
        namespace: meta['namespace'],
        labels: { ...sliceLabels },
      };
      if (Object.keys(sliceAnnotations).length > 0) metadata['annotations'] = { ...sliceAnnotations };
      slices.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata,
        addressType: g.addressType,
        endpoints: endpoints.slice(i * MAX_ENDPOINTS_PER_SLICE, (i + 1) * MAX_ENDPOINTS_PER_SLICE),
        ports: g.ports,
      });
    }
  }
  return slices;
}
