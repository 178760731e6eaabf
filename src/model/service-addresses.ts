// The external addresses of a Service (externalIPs, LB ingress IPs) and the LB source
// ranges, reduced to this proxy's family (S3).

import type { V1Service } from '@kubernetes/client-node';
import { BadObjectError } from '../errors.js';
import { classifyCidr, classifyIp } from './ip.js';

export interface Found<T> {
  readonly value: T;
  /** Make the Service bad (spec fields the user wrote). */
  readonly errors: BadObjectError[];
  /** Ignored entries the Service survives (status written by controllers). */
  readonly warnings: BadObjectError[];
}

export function externalIpv4s(svc: V1Service, where: string): Found<string[]> {
  const value: string[] = [];
  const errors: BadObjectError[] = [];
  (svc.spec?.externalIPs ?? []).forEach((text, i) => {
    const ip = classifyIp(text);
    if (!ip) errors.push(new BadObjectError(where, `spec.externalIPs[${i}]`, `not an IP address: ${JSON.stringify(text)}`));
    else if (ip.family === 'IPv4' && !value.includes(ip.addr)) value.push(ip.addr);
  });
  return { value, errors, warnings: [] };
}

/**
 * LB ingress IPs that are VIPs on this node: type LoadBalancer only, IPv4 only, and not
 * `ipMode: Proxy` — those are addresses of a proxying load balancer that sends traffic to
 * the nodes itself (S4). Hostname-only entries carry no address.
 */
export function loadBalancerIpv4s(svc: V1Service, where: string): Found<string[]> {
  const value: string[] = [];
  const warnings: BadObjectError[] = [];
  if (svc.spec?.type !== 'LoadBalancer') return { value, errors: [], warnings };
  (svc.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    if (!ing.ip || ing.ipMode === 'Proxy') return;
    const ip = classifyIp(ing.ip);
    if (!ip) warnings.push(new BadObjectError(where, `status.loadBalancer.ingress[${i}].ip`, `not an IP address: ${JSON.stringify(ing.ip)}; ignored`));
    else if (ip.family === 'IPv4' && !value.includes(ip.addr)) value.push(ip.addr);
  });
  return { value, errors: [], warnings };
}

/**
 * spec.loadBalancerSourceRanges of a LoadBalancer Service (T5), trimmed and normalised.
 * Undefined when the Service sets none. A list with only IPv6 ranges yields [] — the
 * Service asked for a restriction, so kpx allows no IPv4 source rather than every one.
 * An entry that is not a CIDR makes the Service bad: ignoring it could open the LB to all.
 */
export function sourceRangesV4(svc: V1Service, where: string): Found<string[] | undefined> {
  const raw = svc.spec?.loadBalancerSourceRanges ?? [];
  if (svc.spec?.type !== 'LoadBalancer' || raw.length === 0) return { value: undefined, errors: [], warnings: [] };
  const value: string[] = [];
  const errors: BadObjectError[] = [];
  raw.forEach((text, i) => {
    const c = classifyCidr(text);
    if (!c) errors.push(new BadObjectError(where, `spec.loadBalancerSourceRanges[${i}]`, `not a CIDR: ${JSON.stringify(text)}`));
    else if (c.family === 'IPv4' && !value.includes(c.text)) value.push(c.text);
  });
  return { value, errors, warnings: [] };
}
