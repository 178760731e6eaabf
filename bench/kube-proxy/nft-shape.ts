// The parts of kube-proxy's nftables layout (written from reading
// pkg/proxy/nftables/proxier.go, not copied) that both benches write the same way: the
// table, its base chains and the jumps from them, the masquerade rules, and how chains
// are named (prefix + 8 base32 characters of sha256(name) + "-" + name).

import { hash32, MASQ_MARK } from '../controlplane/kube-proxy-shape.js';

export const NFT_TABLE = 'ip kube-proxy';
const T = NFT_TABLE;

export const NFT_ADD_TABLE = `add table ${T} { comment "rules for kube-proxy" ; }`;

/** A chain name as kube-proxy builds it, e.g. named('service', 'ns/svc/tcp/http'). */
export const nftChainName = (prefix: string, name: string): string => `${prefix}-${hash32(name, 8)}-${name}`;

/** kube-proxy's base chains [name, type, hook, priority]; priorities as numbers
 *  (dstnat = -100, srcnat = 100) where kube-proxy writes "dstnat-10" etc. */
export const NFT_BASE_CHAINS: ReadonlyArray<[string, string, string, number]> = [
  ['filter-prerouting', 'filter', 'prerouting', -110],
  ['filter-input', 'filter', 'input', -110],
  ['filter-forward', 'filter', 'forward', -110],
  ['filter-output', 'filter', 'output', -110],
  ['filter-output-post-dnat', 'filter', 'output', -90],
  ['nat-prerouting', 'nat', 'prerouting', -100],
  ['nat-output', 'nat', 'output', -100],
  ['nat-postrouting', 'nat', 'postrouting', 100],
];

/** The jumps from the base chains: [target chain, from chain, condition]. */
export const NFT_JUMPS: ReadonlyArray<[string, string, string]> = [
  ['nodeport-endpoints-check', 'filter-input', 'ct state new '],
  ['service-endpoints-check', 'filter-input', 'ct state new '],
  ['service-endpoints-check', 'filter-forward', 'ct state new '],
  ['service-endpoints-check', 'filter-output', 'ct state new '],
  ['firewall-check', 'filter-prerouting', 'ct state new '],
  ['firewall-check', 'filter-output', 'ct state new '],
  ['services', 'nat-output', ''],
  ['services', 'nat-prerouting', ''],
  ['masquerading', 'nat-postrouting', ''],
  ['cluster-ips-check', 'filter-forward', 'ct state new '],
  ['cluster-ips-check', 'filter-output-post-dnat', 'ct state new '],
];

/** Marking for masquerade, and masquerading (and unmarking) what carries the mark. */
export const NFT_MASQUERADE_RULES: readonly string[] = [
  `add rule ${T} mark-for-masquerade mark set mark or ${MASQ_MARK}`,
  `add rule ${T} masquerading mark and ${MASQ_MARK} == 0 return`,
  `add rule ${T} masquerading mark set mark xor ${MASQ_MARK}`,
  `add rule ${T} masquerading masquerade fully-random`,
];

export const NFT_CLUSTER_IPS_SET = `add set ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`;

/** cluster-ips-check: reject wrong ports of live ClusterIPs, drop unallocated ones. */
export function nftClusterIpsCheck(serviceCidr: string): string[] {
  return [
    `add rule ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${T} cluster-ips-check ip daddr { ${serviceCidr} } drop comment "Drop traffic to unallocated ClusterIPs"`,
  ];
}

export const NFT_SERVICE_IPS_MAP = `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`;
export const NFT_SERVICE_NODEPORTS_MAP = `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`;
export const NFT_FIREWALL_CHECK_RULE = `add rule ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`;
export const NFT_SERVICES_RULE = `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`;

/** A service chain's first rule: ClusterIP traffic from outside the pod range is masqueraded. */
export function nftServiceMasqRule(chain: string, clusterIP: string, proto: string, port: number, podCidr: string): string {
  return `add rule ${T} ${chain} ip daddr ${clusterIP} ${proto} dport ${port} ip saddr != ${podCidr} jump mark-for-masquerade`;
}

/** An endpoint chain's rules: masquerade hairpin traffic, DNAT to `ip:port`. */
export function nftEndpointRules(chain: string, proto: string, ipPort: string): string[] {
  const ip = ipPort.slice(0, ipPort.lastIndexOf(':'));
  return [`add rule ${T} ${chain} ip saddr ${ip} jump mark-for-masquerade`, `add rule ${T} ${chain} meta l4proto ${proto} dnat to ${ipPort}`];
}

/** An `nft -f` input and its size. */
export interface NftRuleset {
  readonly text: string;
  readonly chains: number;
  readonly lines: number;
}

/** The ruleset of the commands in `out`, one a line. */
export function nftRuleset(out: readonly string[]): NftRuleset {
  const chains = out.filter((l) => l.startsWith('add chain')).length;
  return { text: out.join('\n') + '\n', chains, lines: out.length };
}
