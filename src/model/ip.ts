// Address parsing for the model: every address the model emits is a normalised IPv4
// dotted quad; anything else is classified so callers can skip it (S3) or report it.

import { isIPv6 } from 'node:net';
import { parseCidr, parseIpv4, formatIpv4 } from '../net/ipv4.js';

export type IpClass = { readonly family: 'IPv4'; readonly addr: string; readonly n: number } | { readonly family: 'IPv6' } | undefined;

/** IPv4 (normalised), IPv6, or undefined when `text` is not an address at all. */
export function classifyIp(text: string | undefined): IpClass {
  if (text === undefined || text !== text.trim()) return undefined;
  const n = parseIpv4(text);
  if (n !== undefined) return { family: 'IPv4', addr: formatIpv4(n), n };
  return isIPv6(text) ? { family: 'IPv6' } : undefined;
}

export type CidrClass = { readonly family: 'IPv4'; readonly text: string; readonly base: number; readonly bits: number } | { readonly family: 'IPv6' } | undefined;

/** A CIDR with stray spaces tolerated (T5); IPv4 ones come back with host bits cleared. */
export function classifyCidr(text: string): CidrClass {
  const t = text.trim();
  const v4 = parseCidr(t);
  if (v4) return { family: 'IPv4', text: v4.text, base: v4.base, bits: v4.bits };
  const [addr, bits, extra] = t.split('/');
  if (addr !== undefined && bits !== undefined && extra === undefined && isIPv6(addr) && /^\d{1,3}$/.test(bits) && Number(bits) <= 128) {
    return { family: 'IPv6' };
  }
  return undefined;
}

/** Orders dotted quads numerically, then ports: the slot order the encoder promises. */
export function compareAddrPort(a: { addr: string; port: number }, b: { addr: string; port: number }): number {
  const d = (parseIpv4(a.addr) ?? 0) - (parseIpv4(b.addr) ?? 0);
  return d !== 0 ? d : a.port - b.port;
}
