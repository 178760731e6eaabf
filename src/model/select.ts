// Which endpoints a frontend may send new flows to (E1, E3), for Cluster and for Local
// policy, and which it keeps only for flows already established (C1, C3).

import type { BackendSet, ModelBackend } from './types.js';

function servingTerminating(b: ModelBackend): boolean {
  return !b.ready && b.serving && b.terminating;
}

/** Usable endpoints are ready ones; with none, serving-and-terminating ones (E1). */
function withFallback(candidates: readonly ModelBackend[], preferred: readonly ModelBackend[]): readonly ModelBackend[] {
  return preferred.length > 0 ? preferred : candidates.filter(servingTerminating);
}

/** Serving endpoints among `candidates` that `usable` leaves out. */
function keptOutside(candidates: readonly ModelBackend[], usable: readonly ModelBackend[]): ModelBackend[] {
  // usable is drawn from candidates: the same size means nothing is left outside (the
  // usual case, every endpoint ready), and no Set is built per frontend.
  if (usable.length === candidates.length) return [];
  const taken = new Set(usable);
  return candidates.filter((b) => !taken.has(b) && (b.ready || servingTerminating(b)));
}

/**
 * E3: zone hints apply when every ready endpoint carries them and at least one names this
 * node's zone; otherwise they are ignored. Returns the zone to filter by, if any.
 */
export function topologyZone(endpoints: readonly ModelBackend[], zone: string | undefined): string | undefined {
  const ready = endpoints.filter((b) => b.ready);
  if (!zone || ready.length === 0) return undefined;
  if (!ready.every((b) => b.zoneHints.length > 0)) return undefined;
  return ready.some((b) => b.zoneHints.includes(zone)) ? zone : undefined;
}

/** Cluster policy: every endpoint in the cluster, zone hints applied to ready ones only;
 *  the terminating fallback ignores hints (E1, E3). */
export function clusterSet(endpoints: readonly ModelBackend[], zone: string | undefined): BackendSet {
  const hintZone = topologyZone(endpoints, zone);
  const ready = endpoints.filter((b) => b.ready && (hintZone === undefined || b.zoneHints.includes(hintZone)));
  const usable = withFallback(endpoints, ready);
  return { usable, kept: keptOutside(endpoints, usable) };
}

/** Local policy: this node's endpoints, with the E1 fallback computed on them alone and
 *  no hints (E1, E2, E3). */
export function localSet(endpoints: readonly ModelBackend[]): BackendSet {
  const local = endpoints.filter((b) => b.local);
  const usable = withFallback(local, local.filter((b) => b.ready));
  return { usable, kept: keptOutside(local, usable) };
}
