// Turns a Service's EndpointSlices into the endpoints of one Service port: which slices
// count (S2, S3), which number each endpoint listens on (P2), and one entry per address
// and port however many slices list it (E2).

import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { BadObjectError } from '../errors.js';
import { classifyIp, compareAddrPort } from './ip.js';
import { proxyNameMatches } from './labels.js';
import { sliceName, sliceWhere } from './object-keys.js';
import type { ParsedPort } from './service-ports.js';
import { isPortNumber } from './service-ports.js';
import type { ModelBackend, ModelOptions } from './types.js';

/** Slices this proxy reads, sorted by name so that every later choice is deterministic.
 *  IPv6 and FQDN slices are another family's business (S3); the proxy-name label filters
 *  slices as it filters Services (S2). */
export function relevantSlices(slices: readonly V1EndpointSlice[], opts: ModelOptions): V1EndpointSlice[] {
  return slices
    .filter((s) => s.addressType === 'IPv4' && proxyNameMatches(s.metadata?.labels, opts.proxyName))
    .sort((a, b) => (sliceName(a) < sliceName(b) ? -1 : sliceName(a) > sliceName(b) ? 1 : 0));
}

/**
 * The port number the slice gives endpoints for this Service port, or undefined when the
 * slice does not carry it. The slice port with the same Service port name and protocol
 * carries the number (P2) — for a named targetPort it is the per-pod resolution, for a
 * numeric one the EndpointSlice controller copies targetPort, and for a mirrored or
 * hand-written slice (S5) it is where the endpoints listen, which is what kube-proxy
 * uses. Only a slice port without a number falls back to a numeric targetPort.
 */
export function slicePortNumber(slice: V1EndpointSlice, port: ParsedPort): number | undefined {
  const sp = (slice.ports ?? []).find((p) => (p.name ?? '') === port.name && (p.protocol ?? 'TCP') === port.protocol);
  if (!sp) return undefined;
  if (isPortNumber(sp.port)) return sp.port;
  if ((sp.port === undefined || sp.port === null) && typeof port.targetPort === 'number') return port.targetPort;
  return undefined;
}

/** Shared by every endpoint without zone hints (most of them): never mutated. */
const NO_ZONE_HINTS: readonly string[] = Object.freeze([]);

function zoneHintsOf(ep: V1Endpoint): readonly string[] {
  const zones = ep.hints?.forZones;
  if (!zones || zones.length === 0) return NO_ZONE_HINTS;
  const names = zones.map((z) => z.name).filter((z) => z !== '');
  return names.length ? names : NO_ZONE_HINTS;
}

function toBackend(ep: V1Endpoint, addr: string, port: number, nodeName: string): ModelBackend {
  const c = ep.conditions ?? {};
  // Unset conditions read as kube-proxy reads them: ready and serving default to true,
  // terminating to false. `serving: false` is never used (E1), even if `ready` says true.
  const serving = c.serving !== false;
  const ready = c.ready !== false && serving;
  // One object per endpoint of every Service: built without spreads of temporary objects.
  const b: { -readonly [K in keyof ModelBackend]: ModelBackend[K] } = {
    addr,
    port,
    local: !!ep.nodeName && ep.nodeName === nodeName,
    ready,
    serving,
    terminating: c.terminating === true,
    zoneHints: zoneHintsOf(ep),
  };
  if (ep.nodeName) b.nodeName = ep.nodeName;
  if (ep.zone) b.zone = ep.zone;
  return b;
}

/** ready > serving-and-terminating > the rest; used to merge duplicates (E2). */
function rank(b: ModelBackend): number {
  return (b.ready ? 4 : b.serving && b.terminating ? 2 : 0) + (b.local ? 1 : 0);
}

/**
 * Every endpoint of `port`, one per address:port (E2), sorted by address then port.
 * When slices disagree about a duplicate, the most usable reading wins (then the local
 * one, as kube-proxy favours, then the first slice by name). `warnings` collects
 * endpoints that are not addresses at all.
 */
export function endpointsForPort(
  slices: readonly V1EndpointSlice[],
  port: ParsedPort,
  nodeName: string,
  warnings: BadObjectError[],
): ModelBackend[] {
  const all: ModelBackend[] = [];
  for (const slice of slices) {
    const num = slicePortNumber(slice, port);
    if (num === undefined) continue;
    (slice.endpoints ?? []).forEach((ep, i) => {
      // Kubernetes says consumers use the first address only.
      const ip = classifyIp(ep.addresses?.[0]);
      if (!ip) {
        warnings.push(new BadObjectError(sliceWhere(slice), `endpoints[${i}].addresses[0]`, `not an IP address: ${JSON.stringify(ep.addresses?.[0])}; ignored`));
        return;
      }
      if (ip.family !== 'IPv4') return;
      all.push(toBackend(ep, ip.addr, num, nodeName));
    });
  }
  // Sorted, duplicates end up side by side; the sort is stable, so they keep the order
  // they were read in (slices by name, then position) and the first reading wins a tie.
  // No Map and no "addr:port" key string per endpoint of every Service.
  all.sort(compareAddrPort);
  let kept = 0;
  for (const b of all) {
    const prev = kept > 0 ? all[kept - 1]! : undefined;
    if (prev && prev.addr === b.addr && prev.port === b.port) {
      if (rank(b) > rank(prev)) all[kept - 1] = b;
      continue;
    }
    all[kept++] = b;
  }
  all.length = kept;
  return all;
}
