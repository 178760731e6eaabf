// The parts of kube-proxy's iptables layout (written from reading
// pkg/proxy/iptables/proxier.go, not copied) that both benches write the same way: the
// top-level chains, the jumps into them from the built-in chains, the masquerade rules,
// and how chains are named (base32(sha256(…)) truncated to 16 characters).

import { hash32, MASQ_MARK } from '../controlplane/kube-proxy-shape.js';

/** kube-proxy's threshold for leaving out per-endpoint comments ("large cluster mode"). */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

/** KUBE-SVC-/KUBE-SEP-/KUBE-EXT- + 16 base32 characters of sha256(`hashed`). */
export const iptablesChainName = (prefix: 'SVC' | 'SEP' | 'EXT', hashed: string): string => `KUBE-${prefix}-${hash32(hashed, 16)}`;

/** kube-proxy's top-level chains of the filter table. */
export const FILTER_KUBE_CHAINS: readonly string[] = [
  ':KUBE-SERVICES - [0:0]',
  ':KUBE-EXTERNAL-SERVICES - [0:0]',
  ':KUBE-FORWARD - [0:0]',
  ':KUBE-NODEPORTS - [0:0]',
  ':KUBE-PROXY-FIREWALL - [0:0]',
  ':KUBE-FIREWALL - [0:0]',
];

/** The filter jumps from INPUT, FORWARD and OUTPUT (besides the `-j KUBE-FIREWALL` ones). */
export const FILTER_INPUT_JUMPS: readonly string[] = [
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
];
export const FILTER_FORWARD_JUMPS: readonly string[] = [
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
];
export const FILTER_OUTPUT_JUMPS: readonly string[] = [
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
];

/** The rules of KUBE-FIREWALL (the route_localnet guard kube-proxy writes with the
 *  default localhost NodePorts) and KUBE-FORWARD. */
export const FILTER_KUBE_RULES: readonly string[] = [
  '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
  `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
];

/** kube-proxy's top-level chains of the nat table. */
export const NAT_KUBE_CHAINS: readonly string[] = [':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];

/** The nat jumps from PREROUTING, OUTPUT and POSTROUTING. */
export const NAT_BUILTIN_JUMPS: readonly string[] = [
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
];

/** Masquerading (and unmarking) what carries the mark, and marking. */
export const NAT_MASQUERADE_RULES: readonly string[] = [
  `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
  `-A KUBE-POSTROUTING -j MARK --xor-mark ${MASQ_MARK}`,
  '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  `-A KUBE-MARK-MASQ -j MARK --or-mark ${MASQ_MARK}`,
];

/** The last rule of KUBE-SERVICES: everything addressed to the node goes on to KUBE-NODEPORTS. */
export const SERVICES_TO_NODEPORTS =
  '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS';

/** An iptables-restore input and its size. */
export interface IptablesRuleset {
  readonly text: string;
  readonly chains: number;
  readonly rules: number;
}

/** How a ClusterIP rule matches its (address, port, protocol), with kube-proxy's comment. */
export function clusterIpMatch(portName: string, proto: string, clusterIP: string, port: number): string {
  return `-m comment --comment "${portName} cluster IP" -m ${proto} -p ${proto} -d ${clusterIP} --dport ${port}`;
}

/** A KUBE-SEP chain's rules: masquerade hairpin traffic, DNAT to `ip:port`. `comment` is
 *  the chain's ` -m comment …` part, or '' in large cluster mode. */
export function endpointChainRules(sep: string, comment: string, proto: string, ipPort: string): string[] {
  const ip = ipPort.slice(0, ipPort.lastIndexOf(':'));
  return [`-A ${sep}${comment} -s ${ip}/32 -j KUBE-MARK-MASQ`, `-A ${sep}${comment} -m ${proto} -p ${proto} -j DNAT --to-destination ${ipPort}`];
}
