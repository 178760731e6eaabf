// The node addresses a NodePort answers on (P4): every IPv4 InternalIP/ExternalIP of the
// Node, or only those inside the --nodeport-addresses CIDRs.

import { BadFlagError } from '../errors.js';
import { cidrContains } from '../net/ipv4.js';
import { classifyCidr, classifyIp } from './ip.js';
import type { NodeInfo } from './types.js';

/**
 * Unset or empty: every node address. "primary" (as kube-proxy accepts it) also means the
 * node's own addresses, which is all the Node object lists. Otherwise only addresses in
 * an IPv4 CIDR of the list; a list with only IPv6 CIDRs leaves IPv4 without NodePorts,
 * as kube-proxy does. Throws BadFlagError on an entry that is not a CIDR.
 */
export function nodePortIpv4s(node: NodeInfo | undefined, nodePortAddresses: readonly string[] | undefined): string[] {
  const all: string[] = [];
  for (const text of node?.addresses ?? []) {
    const ip = classifyIp(text);
    if (ip?.family === 'IPv4' && !all.includes(ip.addr)) all.push(ip.addr);
  }
  const entries = nodePortAddresses ?? [];
  if (entries.length === 0 || entries.includes('primary')) return all;
  const cidrs = entries.map((text) => {
    const c = classifyCidr(text);
    if (!c) throw new BadFlagError('--nodeport-addresses', `not a CIDR: ${JSON.stringify(text)}`);
    return c;
  });
  return all.filter((addr) => {
    const ip = classifyIp(addr);
    return ip?.family === 'IPv4' && cidrs.some((c) => c.family === 'IPv4' && cidrContains(c, ip.n));
  });
}
