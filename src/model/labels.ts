// Well-known labels and the object filters built on them (S1, S2).

export const LABELS = {
  serviceName: 'kubernetes.io/service-name',
  serviceProxyName: 'service.kubernetes.io/service-proxy-name',
  headless: 'service.kubernetes.io/headless',
  zone: 'topology.kubernetes.io/zone',
} as const;

/** Set by the EndpointSlice controller on the objects it writes: when the change that made
 *  it rewrite them happened (network programming latency starts there). */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** The labels a proxy reads of each kind: what its signature covers (tracker) and all the
 *  API-server source keeps (compact-object.ts). */
export const PROXY_LABELS = {
  Service: [LABELS.serviceProxyName, LABELS.headless],
  EndpointSlice: [LABELS.serviceName, LABELS.serviceProxyName],
} as const;

type Labels = Readonly<Record<string, string>> | undefined;

/** The entries of `labels` (or annotations) named in `names`; undefined when none is set. */
export function pickLabels(labels: Labels, names: readonly string[]): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const n of names) {
    const v = labels?.[n];
    if (v !== undefined) (out ??= {})[n] = v;
  }
  return out;
}

/**
 * S2: in full-replacement mode (no proxyName) kpx ignores objects that name a service
 * proxy, as kube-proxy does; in trial mode it takes only objects naming exactly it.
 * The same test applies to Services and to their EndpointSlices.
 */
export function proxyNameMatches(labels: Labels, proxyName: string | undefined): boolean {
  const value = labels?.[LABELS.serviceProxyName];
  return proxyName === undefined || proxyName === '' ? value === undefined : value === proxyName;
}

/** S1: the headless label marks a Service no proxy programs. */
export function hasHeadlessLabel(labels: Labels): boolean {
  return labels?.[LABELS.headless] !== undefined;
}
