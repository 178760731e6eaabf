// What kube-proxy would program for the benchmark cluster, reduced to what both of its
// rule writers (iptables and nftables proxiers) need: one entry per Service port with
// its ready endpoints, plus the chain-naming hashes kube-proxy uses. Written from
// reading kube-proxy's pkg/proxy/{iptables,nftables}/proxier.go, not copied.

import { createHash } from 'node:crypto';
import { CLUSTER, readyAddresses, type BenchCluster } from './cluster.js';

export interface ProxyServicePort {
  /** kube-proxy's ServicePortName string: "namespace/name:portName". */
  readonly portName: string;
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: 'tcp';
  /** "ip:port" of every ready endpoint, in slice order. */
  readonly endpoints: readonly string[];
}

export function servicePortsOf(cluster: BenchCluster): ProxyServicePort[] {
  return cluster.services.map((s) => ({
    portName: `${s.namespace}/${s.name}:${CLUSTER.portName}`,
    namespace: s.namespace,
    name: s.name,
    clusterIP: s.clusterIP,
    port: CLUSTER.port,
    protocol: 'tcp',
    endpoints: readyAddresses(s.slice).map((a) => `${a}:${CLUSTER.targetPort}`),
  }));
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding), enough characters for a chain name. */
export function base32(bytes: Uint8Array, chars: number): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
    if (out.length >= chars) break;
  }
  return out;
}

export function hash32(text: string, chars: number): string {
  return base32(createHash('sha256').update(text).digest(), chars);
}

/** The masquerade mark kube-proxy uses by default (bit 14). */
export const MASQ_MARK = '0x4000';
