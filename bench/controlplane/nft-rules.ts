// `nft -f` input in the shape kube-proxy's nftables proxier sends (one knftables
// transaction, one command per line) for ClusterIP Services with Cluster traffic policy:
// table `ip kube-proxy` with its base chains and jump chains, the `service-ips` verdict
// map keyed by (address . protocol . port) that sends each ClusterIP to a per-service
// chain, which marks off-cluster sources for masquerade and picks an endpoint chain with
// `numgen random mod N vmap { i : goto endpoint-… }`; each endpoint chain masquerades
// hairpin traffic and DNATs. Chain names: "service-"/"endpoint-" + 8 base32 characters of
// sha256(name) + "-" + name, with name "ns/svc/tcp/port[__ip/port]", like kube-proxy.

import { CLUSTER } from './cluster.js';
import { type ProxyServicePort } from './kube-proxy-shape.js';
import {
  NFT_BASE_CHAINS,
  NFT_CLUSTER_IPS_SET,
  NFT_FIREWALL_CHECK_RULE,
  NFT_JUMPS,
  NFT_MASQUERADE_RULES,
  NFT_SERVICE_IPS_MAP,
  NFT_SERVICE_NODEPORTS_MAP,
  NFT_SERVICES_RULE,
  NFT_ADD_TABLE,
  NFT_TABLE as T,
  nftChainName,
  nftClusterIpsCheck,
  nftEndpointRules,
  nftRuleset,
  nftServiceMasqRule,
  type NftRuleset,
} from '../kube-proxy/nft-shape.js';

const chainBase = (sp: ProxyServicePort): string => `${sp.namespace}/${sp.name}/${sp.protocol}/${CLUSTER.portName}`;
const svcChain = (sp: ProxyServicePort): string => nftChainName('service', chainBase(sp));
export const endpointChain = (sp: ProxyServicePort, ep: string): string => {
  const at = ep.lastIndexOf(':');
  return nftChainName('endpoint', `${chainBase(sp)}__${ep.slice(0, at)}/${ep.slice(at + 1)}`);
};

/** The table skeleton a full sync (re)creates before the per-service objects. */
function setup(out: string[]): void {
  const created = new Set<string>();
  const ensure = (c: string): void => {
    if (created.has(c)) return;
    created.add(c);
    out.push(`add chain ${T} ${c}`, `flush chain ${T} ${c}`);
  };
  out.push(NFT_ADD_TABLE);
  for (const [name, type, hook, prio] of NFT_BASE_CHAINS) {
    out.push(`add chain ${T} ${name} { type ${type} hook ${hook} priority ${prio} ; }`, `flush chain ${T} ${name}`);
  }
  for (const [dst, src, extra] of NFT_JUMPS) {
    ensure(dst);
    out.push(`add rule ${T} ${src} ${extra}jump ${dst}`);
  }
  for (const c of ['services', 'cluster-ips-check', 'masquerading', 'mark-for-masquerade']) ensure(c);
  out.push(
    ...NFT_MASQUERADE_RULES,
    NFT_CLUSTER_IPS_SET,
    ...nftClusterIpsCheck(CLUSTER.serviceCidr),
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
    NFT_FIREWALL_CHECK_RULE,
    NFT_SERVICE_IPS_MAP,
    NFT_SERVICE_NODEPORTS_MAP,
    NFT_SERVICES_RULE,
    `add rule ${T} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports`,
  );
  for (const s of ['set cluster-ips', 'map service-ips', 'map firewall-ips', 'map no-endpoint-services', 'map no-endpoint-nodeports', 'map service-nodeports']) {
    out.push(`flush ${s.replace(' ', ` ${T} `)}`);
  }
}

/** One Service port's chains and rules (ensureChain = add + flush, as kube-proxy does). */
function servicePort(out: string[], sp: ProxyServicePort, withElements: boolean): void {
  const svc = svcChain(sp);
  const eps = sp.endpoints.map((ep) => ({ ep, chain: endpointChain(sp, ep) }));
  for (const e of eps) out.push(`add chain ${T} ${e.chain}`, `flush chain ${T} ${e.chain}`);
  out.push(`add chain ${T} ${svc}`, `flush chain ${T} ${svc}`);
  if (withElements) {
    out.push(`add element ${T} cluster-ips { ${sp.clusterIP} }`);
    out.push(`add element ${T} service-ips { ${sp.clusterIP} . ${sp.protocol} . ${sp.port} : goto ${svc} }`);
  }
  out.push(nftServiceMasqRule(svc, sp.clusterIP, sp.protocol, sp.port, CLUSTER.podCidr));
  out.push(`add rule ${T} ${svc} numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${e.chain}`).join(' , ')} }`);
  for (const e of eps) out.push(...nftEndpointRules(e.chain, sp.protocol, e.ep));
}

/** A full sync: the whole table from scratch. */
export function nftFullSync(ports: readonly ProxyServicePort[]): NftRuleset {
  const out: string[] = [];
  setup(out);
  for (const sp of ports) if (sp.endpoints.length > 0) servicePort(out, sp, true);
  return nftRuleset(out);
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
  return nftRuleset(out);
}
