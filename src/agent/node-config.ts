// The node-wide settings the datapath reads from kpx_config_v1: the address external
// flows are SNATed to, the hairpin source, the SNAT port range, the external device and
// the node's network-namespace cookie (socket hooks act only there). Written at start
// and again whenever one of them changes (e.g. the Node's addresses).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { encodeConfig, type Config } from '../datapath/abi.js';
import { BadFlagError, EnvironmentError } from '../errors.js';
import { isIpv4 } from '../net/ipv4.js';

export interface NodeConfigSettings {
  nodeIp?: string;
  externalInterface?: string;
  hairpinAddr: string;
  snatPorts: [number, number];
}

export function parsePortRange(flag: string, text: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1 || hi > 65535 || lo > hi) throw new BadFlagError(flag, `not a port range LOW-HIGH within 1-65535: "${text}"`);
  return [lo, hi];
}

/** First global IPv4 address of an interface in this network namespace. */
export function interfaceIpv4(ifname: string): string | undefined {
  try {
    const out = execFileSync('ip', ['-j', '-4', 'addr', 'show', 'dev', ifname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const ifs = JSON.parse(out) as Array<{ addr_info?: Array<{ local: string; scope: string }> }>;
    return ifs[0]?.addr_info?.find((a) => a.scope === 'global')?.local;
  } catch {
    return undefined;
  }
}

/**
 * The SNAT source address: --node-ip, else the external device's address, else the
 * Node object's first IPv4 address. 0.0.0.0 (none known yet) disables SNAT flows.
 */
export function chooseNodeAddr(s: NodeConfigSettings, nodeAddresses: readonly string[]): string {
  if (s.nodeIp) return s.nodeIp;
  const fromIf = s.externalInterface ? interfaceIpv4(s.externalInterface) : undefined;
  return fromIf ?? nodeAddresses.find(isIpv4) ?? '0.0.0.0';
}

export function buildConfig(s: NodeConfigSettings, nodeAddr: string, extIfindex: number, netnsCookie: bigint): Config {
  return {
    nodeAddr,
    hairpinAddr: s.hairpinAddr,
    snatPortMin: s.snatPorts[0],
    snatPortMax: s.snatPorts[1],
    extIfindex,
    netnsCookie,
  };
}

/** Writes the one kpx_config_v1 entry. */
export function writeConfig(map: { update(k: Buffer, v: Buffer): void }, c: Config): void {
  map.update(Buffer.alloc(4), encodeConfig(c));
}

const RESERVED = '/proc/sys/net/ipv4/ip_local_reserved_ports';

/**
 * Keeps the kernel from handing the SNAT ports to the node's own sockets as ephemeral
 * ports (a socket that binds one explicitly is not prevented). Applies to the network
 * namespace this process runs in.
 */
export function reserveSnatPorts([lo, hi]: [number, number]): void {
  try {
    const cur = readFileSync(RESERVED, 'utf8').trim();
    // The kernel prints the reserved set merged and normalised; check coverage by number.
    const ranges = cur ? cur.split(',').map((r) => r.split('-').map(Number)) : [];
    let covered = true;
    for (let p = lo; p <= hi && covered; p++) covered = ranges.some(([a = 0, b = a]) => p >= a && p <= b);
    if (covered) return;
    const want = `${lo}-${hi}`;
    writeFileSync(RESERVED, cur ? `${cur},${want}` : want);
  } catch (err) {
    throw new EnvironmentError(`cannot reserve SNAT ports ${lo}-${hi} in ${RESERVED}: ${(err as Error).message}`, 'run the agent as root with the host network namespace');
  }
}
