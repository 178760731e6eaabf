// Small typed readers for untyped manifest JSON that record a problem (field path + reason)
// instead of throwing, so one pass reports everything wrong with an object.

import { isIPv6 } from 'node:net';
import { formatIpv4, parseCidr, parseIpv4 } from '../../net/ipv4.js';

export type JsonObject = { [k: string]: unknown };

export interface Problem {
  readonly field: string;
  readonly reason: string;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A dotted quad in canonical form (no leading zeros, no spaces), as the API server requires. */
export function isCanonicalIpv4(v: string): boolean {
  const n = parseIpv4(v);
  return n !== undefined && formatIpv4(n) === v;
}

export function isIp(v: string): boolean {
  return isCanonicalIpv4(v) || isIPv6(v);
}

/** An IPv4 or IPv6 CIDR; stray spaces are tolerated (T5, as kube-proxy does). */
export function isCidr(v: string): boolean {
  const t = v.trim();
  if (parseCidr(t)) return true;
  const [addr, bits, extra] = t.split('/');
  return addr !== undefined && bits !== undefined && extra === undefined && isIPv6(addr) && /^\d{1,3}$/.test(bits) && Number(bits) <= 128;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const NAME_RULES = {
  dns1123Label: (v: string) => v.length <= 63 && DNS1123_LABEL.test(v),
  dns1123Subdomain: (v: string) => v.length <= 253 && DNS1123_SUBDOMAIN.test(v),
  dns1035Label: (v: string) => v.length <= 63 && DNS1035_LABEL.test(v),
  /** IANA service name: what a named targetPort or containerPort name must be. */
  ianaSvcName: (v: string) => v.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v) && /[a-z]/.test(v) && !v.includes('--'),
} as const;

export class Checker {
  readonly problems: Problem[] = [];

  fail(field: string, reason: string): void {
    this.problems.push({ field, reason });
  }

  get ok(): boolean {
    return this.problems.length === 0;
  }

  /** An optional object; a present non-object is a problem (and reads as undefined). */
  object(v: unknown, field: string, required = false): JsonObject | undefined {
    if (v === undefined || v === null) {
      if (required) this.fail(field, 'required value');
      return undefined;
    }
    if (!isObject(v)) {
      this.fail(field, 'must be an object');
      return undefined;
    }
    return v;
  }

  array(v: unknown, field: string, required = false): unknown[] {
    if (v === undefined || v === null) {
      if (required) this.fail(field, 'required value');
      return [];
    }
    if (!Array.isArray(v)) {
      this.fail(field, 'must be a list');
      return [];
    }
    return v;
  }

  string(v: unknown, field: string, required = false): string | undefined {
    if (v === undefined || v === null) {
      if (required) this.fail(field, 'required value');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.fail(field, `must be a string, not ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  /** A string from a fixed set; `fallback` when absent or empty. */
  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], fallback?: T): T | undefined {
    const s = this.string(v, field);
    if (s === undefined || s === '') return fallback;
    if (!(allowed as readonly string[]).includes(s)) {
      this.fail(field, `unsupported value ${JSON.stringify(s)}: must be one of ${allowed.join(', ')}`);
      return undefined;
    }
    return s as T;
  }

  int(v: unknown, field: string, min: number, max: number, required = false): number | undefined {
    if (v === undefined || v === null) {
      if (required) this.fail(field, 'required value');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.fail(field, `must be an integer, not ${JSON.stringify(v)}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.fail(field, `${v} must be between ${min} and ${max}, inclusive`);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.fail(field, `must be true or false, not ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  /** A string map such as labels or annotations. */
  stringMap(v: unknown, field: string): Record<string, string> | undefined {
    const o = this.object(v, field);
    if (!o) return undefined;
    for (const [k, val] of Object.entries(o)) {
      if (typeof val !== 'string') this.fail(`${field}.${k}`, `must be a string, not ${JSON.stringify(val)}`);
    }
    return o as Record<string, string>;
  }

  name(v: unknown, field: string, rule: keyof typeof NAME_RULES, required = true): string | undefined {
    const s = this.string(v, field, required);
    if (s === undefined) return undefined;
    if (s === '' && required) {
      this.fail(field, 'required value');
      return undefined;
    }
    if (s !== '' && !NAME_RULES[rule](s)) {
      this.fail(field, `invalid name ${JSON.stringify(s)} (must be a ${RULE_TEXT[rule]})`);
      return undefined;
    }
    return s;
  }
}

const RULE_TEXT: Record<keyof typeof NAME_RULES, string> = {
  dns1123Label: 'lowercase RFC 1123 label',
  dns1123Subdomain: 'lowercase RFC 1123 subdomain',
  dns1035Label: 'lowercase RFC 1035 label starting with a letter',
  ianaSvcName: 'IANA service name: at most 15 lowercase letters, digits and dashes, with a letter',
};

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
