// `nft -f` input in the shape kube-proxy's nftables proxier sends (one knftables
// transaction, one command per line) for ClusterIP Services with Cluster traffic policy:
// table `ip kube-proxy` with its base chains and jump chains, the `service-ips` verdict
// map keyed by (address . protocol . port) that sends each ClusterIP to a per-service
// chain, which marks off-cluster sources for masquerade and picks an endpoint chain with
// `numgen random mod N vmap { i : goto endpoint-… }`; each endpoint chain masquerades
// hairpin traffic and DNATs. Chain names: "service-"/"endpoint-" + 8 base32 characters of
// sha256(name) + "-" + name, with name "ns/svc/tcp/port[__ip/port]", like kube-proxy.

import { CLUSTER } from './cluster.js';
import { hash32, MASQ_MARK, type ProxyServicePort } from './kube-proxy-shape.js';

const T = 'ip kube-proxy';

const chainBase = (sp: ProxyServicePort): string => {
  const name = `${sp.namespace}/${sp.name}/${sp.protocol}/${CLUSTER.portName}`;
  return `${hash32(name, 8)}-${name}`;
};
const svcChain = (sp: ProxyServicePort): string => `service-${chainBase(sp)}`;
export const endpointChain = (sp: ProxyServicePort, ep: string): string => {
  const at = ep.lastIndexOf(':');
  const name = `${sp.namespace}/${sp.name}/${sp.protocol}/${CLUSTER.portName}__${ep.slice(0, at)}/${ep.slice(at + 1)}`;
  return `endpoint-${hash32(name, 8)}-${name}`;
};

/** Numeric priorities (dstnat = -100, srcnat = 100): kube-proxy writes "dstnat-10" etc. */
const BASE_CHAINS: ReadonlyArray<[string, string, string, number]> = [
  ['filter-prerouting', 'filter', 'prerouting', -110],
  ['filter-input', 'filter', 'input', -110],
  ['filter-forward', 'filter', 'forward', -110],
  ['filter-output', 'filter', 'output', -110],
  ['filter-output-post-dnat', 'filter', 'output', -90],
  ['nat-prerouting', 'nat', 'prerouting', -100],
  ['nat-output', 'nat', 'output', -100],
  ['nat-postrouting', 'nat', 'postrouting', 100],
];

const JUMPS: ReadonlyArray<[string, string, string]> = [
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

/** The table skeleton a full sync (re)creates before the per-service objects. */
function setup(out: string[]): void {
  const created = new Set<string>();
  const ensure = (c: string): void => {
    if (created.has(c)) return;
    created.add(c);
    out.push(`add chain ${T} ${c}`, `flush chain ${T} ${c}`);
  };
  out.push(`add table ${T} { comment "rules for kube-proxy" ; }`);
  for (const [name, type, hook, prio] of BASE_CHAINS) {
    out.push(`add chain ${T} ${name} { type ${type} hook ${hook} priority ${prio} ; }`, `flush chain ${T} ${name}`);
  }
  for (const [dst, src, extra] of JUMPS) {
    ensure(dst);
    out.push(`add rule ${T} ${src} ${extra}jump ${dst}`);
  }
  for (const c of ['services', 'cluster-ips-check', 'masquerading', 'mark-for-masquerade']) ensure(c);
  out.push(
    `add rule ${T} mark-for-masquerade mark set mark or ${MASQ_MARK}`,
    `add rule ${T} masquerading mark and ${MASQ_MARK} == 0 return`,
    `add rule ${T} masquerading mark set mark xor ${MASQ_MARK}`,
    `add rule ${T} masquerading masquerade fully-random`,
    `add set ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add rule ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${T} cluster-ips-check ip daddr { ${CLUSTER.serviceCidr} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `flush chain ${T} reject-chain`,
    `add rule ${T} reject-chain reject`,
    `add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add rule ${T} nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add map ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
  );
  ensure('firewall-check');
  out.push(
    `add rule ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports`,
  );
  for (const s of ['set cluster-ips', 'map service-ips', 'map firewall-ips', 'map no-endpoint-services', 'map no-endpoint-nodeports', 'map service-nodeports']) {
    out.push(`flush ${s.replace(' ', ` ${T} `)}`);
  }
}

/** One Service port's chains and rules (ensureChain = add + flush, as kube-proxy does). */
function servicePort(out: string[], sp: ProxyServicePort, withElements: boolean): void {
  const svc = svcChain(sp);
  const eps = sp.endpoints.map((ep) => ({ ep, chain: endpointChain(sp, ep), ip: ep.slice(0, ep.lastIndexOf(':')) }));
  for (const e of eps) out.push(`add chain ${T} ${e.chain}`, `flush chain ${T} ${e.chain}`);
  out.push(`add chain ${T} ${svc}`, `flush chain ${T} ${svc}`);
  if (withElements) {
    out.push(`add element ${T} cluster-ips { ${sp.clusterIP} }`);
    out.push(`add element ${T} service-ips { ${sp.clusterIP} . ${sp.protocol} . ${sp.port} : goto ${svc} }`);
  }
  out.push(`add rule ${T} ${svc} ip daddr ${sp.clusterIP} ${sp.protocol} dport ${sp.port} ip saddr != ${CLUSTER.podCidr} jump mark-for-masquerade`);
  out.push(`add rule ${T} ${svc} numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${e.chain}`).join(' , ')} }`);
  for (const e of eps) {
    out.push(`add rule ${T} ${e.chain} ip saddr ${e.ip} jump mark-for-masquerade`);
    out.push(`add rule ${T} ${e.chain} meta l4proto ${sp.protocol} dnat to ${e.ep}`);
  }
}

export interface NftRuleset {
  readonly text: string;
  readonly chains: number;
  readonly lines: number;
}

function ruleset(out: string[]): NftRuleset {
  const chains = out.filter((l) => l.startsWith('add chain')).length;
  return { text: out.join('\n') + '\n', chains, lines: out.length };
}

/** A full sync: the whole table from scratch. */
export function nftFullSync(ports: readonly ProxyServicePort[]): NftRuleset {
  const out: string[] = [];
  setup(out);
  for (const sp of ports) if (sp.endpoints.length > 0) servicePort(out, sp, true);
  return ruleset(out);
}

/**
 * What a kube-proxy *partial* sync sends after one Service's endpoints changed: no table
 * setup, no map element changes (the ClusterIP still has endpoints), that Service's chains
 * re-created and refilled, and the chains of endpoints that went away flushed (kube-proxy
 * deletes them in a later sync).
 */
export function nftPartialSync(sp: ProxyServicePort, staleEndpoints: readonly string[]): NftRuleset {
  const out: string[] = [];
  servicePort(out, sp, false);
  for (const ep of staleEndpoints) out.push(`flush chain ${T} ${endpointChain(sp, ep)}`);
  return ruleset(out);
}
