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

type Labels = Readonly<Record<string, string>> | undefined;

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
