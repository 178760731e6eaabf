// Which Services a proxy leaves alone (S1, S2) and which ClusterIP it uses (S3).

import type { V1Service } from '@kubernetes/client-node';
import { BadObjectError } from '../errors.js';
import { classifyIp } from './ip.js';
import { hasHeadlessLabel, proxyNameMatches } from './labels.js';
import type { ModelOptions } from './types.js';

export type ClusterIpResult =
  | { readonly kind: 'ip'; readonly addr: string }
  | { readonly kind: 'skip'; readonly rule: 'S1' | 'S2' | 'S3'; readonly reason: string }
  | { readonly kind: 'bad'; readonly error: BadObjectError };

/**
 * Decides whether the Service is handled at all and, if so, returns its IPv4 ClusterIP.
 * spec.clusterIPs (dual stack) wins over spec.clusterIP; its first entry is the primary
 * family, but a per-family proxy takes whichever entry is IPv4 (S3).
 */
export function clusterIpOrSkip(svc: V1Service, where: string, opts: ModelOptions): ClusterIpResult {
  const labels = svc.metadata?.labels;
  if (!proxyNameMatches(labels, opts.proxyName)) {
    return {
      kind: 'skip',
      rule: 'S2',
      reason: opts.proxyName ? `not labelled service-proxy-name=${opts.proxyName}` : 'labelled with a service-proxy-name',
    };
  }
  if (svc.spec?.type === 'ExternalName') return { kind: 'skip', rule: 'S1', reason: 'type ExternalName' };
  if (hasHeadlessLabel(labels)) return { kind: 'skip', rule: 'S1', reason: 'labelled headless' };

  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : [svc.spec?.clusterIP ?? ''];
  const field = svc.spec?.clusterIPs?.length ? 'spec.clusterIPs' : 'spec.clusterIP';
  if (ips[0] === 'None' || ips[0] === '') return { kind: 'skip', rule: 'S1', reason: 'headless (no ClusterIP)' };
  let v4: string | undefined;
  for (const [i, text] of ips.entries()) {
    const ip = classifyIp(text);
    if (!ip) return { kind: 'bad', error: new BadObjectError(where, field === 'spec.clusterIPs' ? `${field}[${i}]` : field, `not an IP address: ${JSON.stringify(text)}`) };
    if (ip.family === 'IPv4' && v4 === undefined) v4 = ip.addr;
  }
  if (v4 === undefined) return { kind: 'skip', rule: 'S3', reason: 'no IPv4 ClusterIP' };
  return { kind: 'ip', addr: v4 };
}
