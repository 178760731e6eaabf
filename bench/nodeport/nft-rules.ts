// `nft -f` input in the layout kube-proxy's nftables proxier writes for the bench cluster
// (written from reading pkg/proxy/nftables/proxier.go, not copied): table `ip kube-proxy`
// with kube-proxy's base chains, and for a NodePort packet
//   nat-prerouting -> services: `ip daddr . meta l4proto . th dport vmap @service-ips`
//     (ClusterIPs), then `ip daddr @nodeport-ips meta l4proto . th dport vmap
//     @service-nodeports` (the nftables proxier's default --nodeport-addresses is the
//     node's primary address, kept in the nodeport-ips set);
//   service-nodeports: `tcp . 30080 : goto external-…`;
//   external-…: mark for masquerade (externalTrafficPolicy Cluster), goto service-…;
//   service-…: mark off-cluster ClusterIP sources, `numgen random mod 1 vmap { 0 : goto
//     endpoint-… }`;
//   endpoint-…: mark hairpin traffic, `dnat to ENDPOINT`;
//   nat-postrouting -> masquerading: `masquerade fully-random` what carries the mark.
// Every lookup is a map lookup, so nothing here grows linearly with the Services. Chain
// names: prefix + 8 base32 chars of sha256(name) + "-" + name, as kube-proxy names them.

import * as nft from '../kube-proxy/nft-shape.js';
import { NAMESPACE, NODE1, POD_CIDR, PORT_NAME, SERVICE_CIDR, SERVICE_PORT, TARGET_PORT, type BenchService } from './cluster.js';

const PROTO = 'tcp';
const T = nft.NFT_TABLE;

const base = (s: BenchService): string => `${NAMESPACE}/${s.name}/${PROTO}/${PORT_NAME}`;
const svcChain = (s: BenchService): string => nft.nftChainName('service', base(s));
const extChain = (s: BenchService): string => nft.nftChainName('external', base(s));
const epChain = (s: BenchService): string => nft.nftChainName('endpoint', `${base(s)}__${s.endpoint.ip}/${TARGET_PORT}`);

function skeleton(out: string[]): void {
  out.push(nft.NFT_ADD_TABLE);
  for (const [name, type, hook, prio] of nft.NFT_BASE_CHAINS) out.push(`add chain ${T} ${name} { type ${type} hook ${hook} priority ${prio} ; }`);
  const made = new Set<string>();
  const chain = (c: string): void => {
    if (!made.has(c)) out.push(`add chain ${T} ${c}`);
    made.add(c);
  };
  for (const [dst, src, cond] of nft.NFT_JUMPS) {
    chain(dst);
    out.push(`add rule ${T} ${src} ${cond}jump ${dst}`);
  }
  for (const c of ['mark-for-masquerade', 'reject-chain']) chain(c);
  out.push(
    ...nft.NFT_MASQUERADE_RULES,
    `add rule ${T} reject-chain reject`,
    nft.NFT_CLUSTER_IPS_SET,
    `add set ${T} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add element ${T} nodeport-ips { ${NODE1.addr} }`,
    ...nft.nftClusterIpsCheck(SERVICE_CIDR),
    `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; }`,
    `add map ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    nft.NFT_SERVICE_IPS_MAP,
    nft.NFT_SERVICE_NODEPORTS_MAP,
    `add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add rule ${T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    nft.NFT_FIREWALL_CHECK_RULE,
    nft.NFT_SERVICES_RULE,
    `add rule ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
  );
}

function servicePort(out: string[], s: BenchService): void {
  const svc = svcChain(s);
  const ep = epChain(s);
  out.push(`add chain ${T} ${ep}`, `add chain ${T} ${svc}`);
  out.push(
    ...nft.nftEndpointRules(ep, PROTO, `${s.endpoint.ip}:${TARGET_PORT}`),
    nft.nftServiceMasqRule(svc, s.clusterIP, PROTO, SERVICE_PORT, POD_CIDR),
    `add rule ${T} ${svc} numgen random mod 1 vmap { 0 : goto ${ep} }`,
    `add element ${T} cluster-ips { ${s.clusterIP} }`,
    `add element ${T} service-ips { ${s.clusterIP} . ${PROTO} . ${SERVICE_PORT} : goto ${svc} }`,
  );
  if (s.nodePort !== undefined) {
    const ext = extChain(s);
    out.push(
      `add chain ${T} ${ext}`,
      `add rule ${T} ${ext} jump mark-for-masquerade comment "masquerade traffic for external destinations"`,
      `add rule ${T} ${ext} goto ${svc}`,
      `add element ${T} service-nodeports { ${PROTO} . ${s.nodePort} : goto ${ext} }`,
    );
  }
}

export type NftRules = nft.NftRuleset;

export function nftRules(services: readonly BenchService[]): NftRules {
  const out: string[] = [];
  skeleton(out);
  for (const s of services) servicePort(out, s);
  return nft.nftRuleset(out);
}
