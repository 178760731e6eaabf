// iptables-restore input in the layout kube-proxy's iptables proxier writes for the bench
// cluster (written from reading pkg/proxy/iptables/proxier.go, not copied), for a fresh
// network namespace: the jumps from the built-in chains (kube-proxy adds those with
// `iptables -I`; here the tables are empty, so they go into the same restore), the filter
// table's top-level chains, and in nat:
//   PREROUTING -> KUBE-SERVICES: one rule per ClusterIP (`-d VIP --dport 80 -j KUBE-SVC-…`),
//     then, last, `-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`;
//   KUBE-NODEPORTS: one rule per NodePort (`--dport N -j KUBE-EXT-…`);
//   KUBE-EXT-…: mark for masquerade (externalTrafficPolicy Cluster), then KUBE-SVC-…;
//   KUBE-SVC-…: mark off-cluster sources of ClusterIP traffic, jump to the endpoint chain;
//   KUBE-SEP-…: mark hairpin traffic, DNAT to the endpoint;
//   POSTROUTING -> KUBE-POSTROUTING: MASQUERADE --random-fully what carries the mark.
// A NodePort packet therefore walks every KUBE-SERVICES rule before reaching
// KUBE-NODEPORTS: that linear walk is what grows with the number of Services. With more
// than 1000 endpoints kube-proxy leaves the per-endpoint comments out ("large cluster
// mode"), and so does this. Chain names are kube-proxy's: base32(sha256(…)), 16 chars.

import { hash32, MASQ_MARK } from '../controlplane/kube-proxy-shape.js';
import { NAMESPACE, POD_CIDR, PORT_NAME, SERVICE_PORT, TARGET_PORT, type BenchService } from './cluster.js';

const LARGE_CLUSTER_ENDPOINTS = 1000;
const PROTO = 'tcp';

const portName = (s: BenchService): string => `${NAMESPACE}/${s.name}:${PORT_NAME}`;
const svcChain = (s: BenchService): string => `KUBE-SVC-${hash32(portName(s) + PROTO, 16)}`;
const extChain = (s: BenchService): string => `KUBE-EXT-${hash32(portName(s) + PROTO, 16)}`;
const sepChain = (s: BenchService): string => `KUBE-SEP-${hash32(portName(s) + PROTO + endpoint(s), 16)}`;
const endpoint = (s: BenchService): string => `${s.endpoint.ip}:${TARGET_PORT}`;

const FILTER = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':KUBE-SERVICES - [0:0]',
  ':KUBE-EXTERNAL-SERVICES - [0:0]',
  ':KUBE-FORWARD - [0:0]',
  ':KUBE-NODEPORTS - [0:0]',
  ':KUBE-PROXY-FIREWALL - [0:0]',
  ':KUBE-FIREWALL - [0:0]',
  '-A INPUT -j KUBE-FIREWALL',
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
  '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  '-A OUTPUT -j KUBE-FIREWALL',
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
  '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
  '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
  `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
  '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  'COMMIT',
];

export interface IptablesRules {
  text: string;
  chains: number;
  rules: number;
}

export function iptablesRules(services: readonly BenchService[]): IptablesRules {
  const comments = services.length <= LARGE_CLUSTER_ENDPOINTS; // one endpoint per Service
  const chains = [
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
  ];
  const svcRules: string[] = [];
  const nodePortRules: string[] = [];
  const chainRules: string[] = [];
  for (const s of services) {
    const name = portName(s);
    const svc = svcChain(s);
    const sep = sepChain(s);
    const vip = `-m ${PROTO} -p ${PROTO} -d ${s.clusterIP} --dport ${SERVICE_PORT}`;
    chains.push(`:${svc} - [0:0]`, `:${sep} - [0:0]`);
    svcRules.push(`-A KUBE-SERVICES -m comment --comment "${name} cluster IP" ${vip} -j ${svc}`);
    if (s.nodePort !== undefined) {
      const ext = extChain(s);
      chains.push(`:${ext} - [0:0]`);
      nodePortRules.push(`-A KUBE-NODEPORTS -m comment --comment ${name} -m ${PROTO} -p ${PROTO} --dport ${s.nodePort} -j ${ext}`);
      chainRules.push(
        `-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`,
        `-A ${ext} -j ${svc}`,
      );
    }
    const c = comments ? ` -m comment --comment ${name}` : '';
    chainRules.push(
      `-A ${svc} -m comment --comment "${name} cluster IP" ${vip} ! -s ${POD_CIDR} -j KUBE-MARK-MASQ`,
      `-A ${svc}${comments ? ` -m comment --comment "${name} -> ${endpoint(s)}"` : ''} -j ${sep}`,
      `-A ${sep}${c} -s ${s.endpoint.ip}/32 -j KUBE-MARK-MASQ`,
      `-A ${sep}${c} -m ${PROTO} -p ${PROTO} -j DNAT --to-destination ${endpoint(s)}`,
    );
  }
  const natRules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${MASQ_MARK}`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${MASQ_MARK}`,
    ...svcRules,
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ...nodePortRules,
    ...chainRules,
  ];
  const text = [...FILTER, '*nat', ...chains, ...natRules, 'COMMIT'].join('\n') + '\n';
  return { text, chains: chains.length - 4, rules: natRules.length };
}
