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

import * as ipt from '../kube-proxy/iptables-shape.js';
import { NAMESPACE, POD_CIDR, PORT_NAME, SERVICE_PORT, TARGET_PORT, type BenchService } from './cluster.js';

const PROTO = 'tcp';

const portName = (s: BenchService): string => `${NAMESPACE}/${s.name}:${PORT_NAME}`;
const svcChain = (s: BenchService): string => ipt.iptablesChainName('SVC', portName(s) + PROTO);
const extChain = (s: BenchService): string => ipt.iptablesChainName('EXT', portName(s) + PROTO);
const sepChain = (s: BenchService): string => ipt.iptablesChainName('SEP', portName(s) + PROTO + endpoint(s));
const endpoint = (s: BenchService): string => `${s.endpoint.ip}:${TARGET_PORT}`;

const FILTER = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ...ipt.FILTER_KUBE_CHAINS,
  '-A INPUT -j KUBE-FIREWALL',
  ...ipt.FILTER_INPUT_JUMPS,
  ...ipt.FILTER_FORWARD_JUMPS,
  '-A OUTPUT -j KUBE-FIREWALL',
  ...ipt.FILTER_OUTPUT_JUMPS,
  ...ipt.FILTER_KUBE_RULES,
  'COMMIT',
];

export type IptablesRules = ipt.IptablesRuleset;

export function iptablesRules(services: readonly BenchService[]): IptablesRules {
  const comments = services.length <= ipt.LARGE_CLUSTER_ENDPOINTS; // one endpoint per Service
  const chains = [
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...ipt.NAT_KUBE_CHAINS,
  ];
  const svcRules: string[] = [];
  const nodePortRules: string[] = [];
  const chainRules: string[] = [];
  for (const s of services) {
    const name = portName(s);
    const svc = svcChain(s);
    const sep = sepChain(s);
    const match = ipt.clusterIpMatch(name, PROTO, s.clusterIP, SERVICE_PORT);
    chains.push(`:${svc} - [0:0]`, `:${sep} - [0:0]`);
    svcRules.push(`-A KUBE-SERVICES ${match} -j ${svc}`);
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
      `-A ${svc} ${match} ! -s ${POD_CIDR} -j KUBE-MARK-MASQ`,
      `-A ${svc}${comments ? ` -m comment --comment "${name} -> ${endpoint(s)}"` : ''} -j ${sep}`,
      ...ipt.endpointChainRules(sep, c, PROTO, endpoint(s)),
    );
  }
  const natRules = [
    ...ipt.NAT_BUILTIN_JUMPS,
    ...ipt.NAT_MASQUERADE_RULES,
    ...svcRules,
    ipt.SERVICES_TO_NODEPORTS,
    ...nodePortRules,
    ...chainRules,
  ];
  const text = [...FILTER, '*nat', ...chains, ...natRules, 'COMMIT'].join('\n') + '\n';
  return { text, chains: chains.length - 4, rules: natRules.length };
}
