// Endpoints (v1) and EndpointSlice (discovery.k8s.io/v1) validation and defaulting, as
// kube-apiserver does it for the fields a proxy reads.

import { isIPv6 } from 'node:net';
import { parseIpv4 } from '../../net/ipv4.js';
import { Checker, isCanonicalIpv4, isIp, NAME_RULES, PROTOCOLS, type JsonObject } from './fields.js';

/** Unspecified, loopback, link-local and multicast addresses are refused for endpoints. */
function specialIpv4(ip: string): string | undefined {
  const n = parseIpv4(ip);
  if (n === undefined) return undefined;
  if (n === 0) return 'may not be unspecified (0.0.0.0)';
  if (n >>> 24 === 127) return 'may not be in the loopback range (127.0.0.0/8)';
  if (n >>> 16 === 0xa9fe) return 'may not be in the link-local range (169.254.0.0/16)';
  if (n >>> 28 === 0xe) return 'may not be in the multicast range (224.0.0.0/4)';
  return undefined;
}

/** Port lists of Endpoints subsets and EndpointSlices share these rules. */
function validatePorts(c: Checker, ports: unknown[], field: string, portRequired: boolean): void {
  const names = new Set<string>();
  ports.forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const p = c.object(raw, f, true);
    if (!p) return;
    const name = c.name(p['name'] ?? '', `${f}.name`, 'dns1123Label', portRequired && ports.length > 1);
    if (name !== undefined) {
      if (names.has(name)) c.fail(`${f}.name`, `duplicate port name ${JSON.stringify(name)}`);
      names.add(name);
    }
    c.int(p['port'], `${f}.port`, 1, 65535, portRequired);
    const protocol = c.oneOf(p['protocol'], `${f}.protocol`, PROTOCOLS, 'TCP');
    if (protocol) p['protocol'] = protocol;
    if (p['appProtocol'] !== undefined) c.string(p['appProtocol'], `${f}.appProtocol`);
  });
}

function validateAddress(c: Checker, raw: unknown, f: string): void {
  const a = c.object(raw, f, true);
  if (!a) return;
  const ip = c.string(a['ip'], `${f}.ip`, true);
  if (ip !== undefined) {
    if (!isIp(ip)) c.fail(`${f}.ip`, `${JSON.stringify(ip)} must be a valid IP address`);
    else {
      const special = specialIpv4(ip);
      if (special) c.fail(`${f}.ip`, special);
    }
  }
  if (a['hostname'] !== undefined) c.name(a['hostname'], `${f}.hostname`, 'dns1123Label', false);
  c.string(a['nodeName'], `${f}.nodeName`);
  c.object(a['targetRef'], `${f}.targetRef`);
}

export function validateEndpoints(c: Checker, ep: JsonObject): void {
  c.array(ep['subsets'], 'subsets').forEach((raw, i) => {
    const f = `subsets[${i}]`;
    const s = c.object(raw, f, true);
    if (!s) return;
    c.array(s['addresses'], `${f}.addresses`).forEach((a, j) => validateAddress(c, a, `${f}.addresses[${j}]`));
    c.array(s['notReadyAddresses'], `${f}.notReadyAddresses`).forEach((a, j) => validateAddress(c, a, `${f}.notReadyAddresses[${j}]`));
    validatePorts(c, c.array(s['ports'], `${f}.ports`), `${f}.ports`, true);
  });
}

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;

export function validateEndpointSlice(c: Checker, slice: JsonObject): void {
  const addressType = c.oneOf(slice['addressType'], 'addressType', ADDRESS_TYPES);
  if (slice['addressType'] === undefined) c.fail('addressType', 'required value');
  const valid: Record<(typeof ADDRESS_TYPES)[number], (a: string) => boolean> = {
    IPv4: isCanonicalIpv4,
    IPv6: (a) => isIPv6(a),
    FQDN: (a) => NAME_RULES.dns1123Subdomain(a),
  };
  c.array(slice['endpoints'], 'endpoints').forEach((raw, i) => {
    const f = `endpoints[${i}]`;
    const e = c.object(raw, f, true);
    if (!e) return;
    const addresses = c.array(e['addresses'], `${f}.addresses`, true);
    if (addresses.length === 0 && Array.isArray(e['addresses'])) c.fail(`${f}.addresses`, 'must contain at least one address');
    if (addresses.length > 100) c.fail(`${f}.addresses`, 'must contain at most 100 addresses');
    addresses.forEach((a, j) => {
      if (typeof a !== 'string' || (addressType !== undefined && !valid[addressType](a))) {
        c.fail(`${f}.addresses[${j}]`, `${JSON.stringify(a)} must be a valid ${addressType ?? ''} address`);
      }
    });
    const cond = c.object(e['conditions'], `${f}.conditions`);
    for (const k of ['ready', 'serving', 'terminating']) c.bool(cond?.[k], `${f}.conditions.${k}`);
    c.string(e['nodeName'], `${f}.nodeName`);
    c.string(e['zone'], `${f}.zone`);
    if (e['hostname'] !== undefined) c.name(e['hostname'], `${f}.hostname`, 'dns1123Label', false);
    const hints = c.object(e['hints'], `${f}.hints`);
    c.array(hints?.['forZones'], `${f}.hints.forZones`).forEach((z, j) => {
      const zone = c.object(z, `${f}.hints.forZones[${j}]`, true);
      if (zone) c.string(zone['name'], `${f}.hints.forZones[${j}].name`, true);
    });
  });
  const ports = c.array(slice['ports'], 'ports');
  if (ports.length > 100) c.fail('ports', 'must contain at most 100 ports');
  validatePorts(c, ports, 'ports', false);
}
