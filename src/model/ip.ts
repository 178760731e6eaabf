// Address parsing for the model: every address the model emits is a normalised IPv4
// dotted quad; anything else is classified so callers can skip it (S3) or report it.

import { isIPv6 } from 'node:net';
import { parseCidr, parseIpv4, formatIpv4 } from '../net/ipv4.js';

export type IpClass = { readonly family: 'IPv4'; readonly addr: string; readonly n: number } | { readonly family: 'IPv6' } | undefined;

/** IPv4 (normalised), IPv6, or undefined when `text` is not an address at all. */
export function classifyIp(text: string | undefined): IpClass {
  if (text === undefined) return undefined;
  const quick = canonicalQuad(text);
  if (quick !== undefined) return { family: 'IPv4', addr: text, n: quick };
  if (text !== text.trim()) return undefined;
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

/**
 * The number of a canonical dotted quad ("10.0.0.1": four decimal octets <= 255, no
 * leading zeros), read by char code; undefined for anything else, which callers hand to
 * parseIpv4. Every endpoint address is classified once and every sort compares addresses
 * twice per step, so the regex in parseIpv4 showed up at ~10% of a 10k-Service sync
 * (bench/controlplane.ts); the canonical case is almost every address.
 */
export function canonicalQuad(text: string): number | undefined {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return undefined;
    }
  }
  return dots === 3 && digits > 0 ? n * 256 + octet : undefined;
}

function orderOf(addr: string): number {
  return canonicalQuad(addr) ?? parseIpv4(addr) ?? 0;
}

/** Orders dotted quads numerically, then ports: the slot order the encoder promises. */
export function compareAddrPort(a: { addr: string; port: number }, b: { addr: string; port: number }): number {
  const d = orderOf(a.addr) - orderOf(b.addr);
  return d !== 0 ? d : a.port - b.port;
}
