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

import { hash32, MASQ_MARK } from '../controlplane/kube-proxy-shape.js';
import { NAMESPACE, NODE1, POD_CIDR, PORT_NAME, SERVICE_CIDR, SERVICE_PORT, TARGET_PORT, type BenchService } from './cluster.js';

const T = 'ip kube-proxy';
const PROTO = 'tcp';

const named = (prefix: string, name: string): string => `${prefix}-${hash32(name, 8)}-${name}`;
const base = (s: BenchService): string => `${NAMESPACE}/${s.name}/${PROTO}/${PORT_NAME}`;
const svcChain = (s: BenchService): string => named('service', base(s));
const extChain = (s: BenchService): string => named('external', base(s));
const epChain = (s: BenchService): string => named('endpoint', `${base(s)}__${s.endpoint.ip}/${TARGET_PORT}`);

/** kube-proxy's base chains; priorities as numbers (dstnat = -100, srcnat = 100). */
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

/** [target chain, from chain, condition]. */
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

function skeleton(out: string[]): void {
  out.push(`add table ${T} { comment "rules for kube-proxy" ; }`);
  for (const [name, type, hook, prio] of BASE_CHAINS) out.push(`add chain ${T} ${name} { type ${type} hook ${hook} priority ${prio} ; }`);
  const made = new Set<string>();
  const chain = (c: string): void => {
    if (!made.has(c)) out.push(`add chain ${T} ${c}`);
    made.add(c);
  };
  for (const [dst, src, cond] of JUMPS) {
    chain(dst);
    out.push(`add rule ${T} ${src} ${cond}jump ${dst}`);
  }
  for (const c of ['mark-for-masquerade', 'reject-chain']) chain(c);
  out.push(
    `add rule ${T} mark-for-masquerade mark set mark or ${MASQ_MARK}`,
    `add rule ${T} masquerading mark and ${MASQ_MARK} == 0 return`,
    `add rule ${T} masquerading mark set mark xor ${MASQ_MARK}`,
    `add rule ${T} masquerading masquerade fully-random`,
    `add rule ${T} reject-chain reject`,
    `add set ${T} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ${T} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add element ${T} nodeport-ips { ${NODE1.addr} }`,
    `add rule ${T} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${T} cluster-ips-check ip daddr { ${SERVICE_CIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    `add map ${T} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; }`,
    `add map ${T} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add map ${T} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add rule ${T} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add rule ${T} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
  );
}

function servicePort(out: string[], s: BenchService): void {
  const svc = svcChain(s);
  const ep = epChain(s);
  out.push(`add chain ${T} ${ep}`, `add chain ${T} ${svc}`);
  out.push(
    `add rule ${T} ${ep} ip saddr ${s.endpoint.ip} jump mark-for-masquerade`,
    `add rule ${T} ${ep} meta l4proto ${PROTO} dnat to ${s.endpoint.ip}:${TARGET_PORT}`,
    `add rule ${T} ${svc} ip daddr ${s.clusterIP} ${PROTO} dport ${SERVICE_PORT} ip saddr != ${POD_CIDR} jump mark-for-masquerade`,
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

export interface NftRules {
  text: string;
  chains: number;
  lines: number;
}

export function nftRules(services: readonly BenchService[]): NftRules {
  const out: string[] = [];
  skeleton(out);
  for (const s of services) servicePort(out, s);
  return { text: out.join('\n') + '\n', chains: out.filter((l) => l.startsWith('add chain')).length, lines: out.length };
}
