// iptables-restore input in the shape kube-proxy's iptables proxier writes for ClusterIP
// Services with Cluster traffic policy: a filter table with its top-level chains, and a
// nat table where KUBE-SERVICES matches each (clusterIP, port, proto) and jumps to a
// KUBE-SVC-<hash> chain, which marks off-cluster sources for masquerade and picks one
// KUBE-SEP-<hash> chain with `statistic --mode random --probability 1/(n-i)` rules; each
// KUBE-SEP chain masquerades hairpin traffic and DNATs. With more than 1000 endpoints
// kube-proxy runs in "large cluster mode" and leaves out the per-endpoint comments,
// which is the case at benchmark scale. Chain names: base32(sha256(...)) truncated to
// 16 characters, like kube-proxy, so names are as long and as random as in real life.

import { CLUSTER } from './cluster.js';
import { type ProxyServicePort } from './kube-proxy-shape.js';
import {
  clusterIpMatch,
  endpointChainRules,
  FILTER_FORWARD_JUMPS,
  FILTER_INPUT_JUMPS,
  FILTER_KUBE_CHAINS,
  FILTER_KUBE_RULES,
  FILTER_OUTPUT_JUMPS,
  iptablesChainName,
  LARGE_CLUSTER_ENDPOINTS,
  NAT_BUILTIN_JUMPS,
  NAT_KUBE_CHAINS,
  NAT_MASQUERADE_RULES,
  SERVICES_TO_NODEPORTS,
  type IptablesRuleset,
} from '../kube-proxy/iptables-shape.js';

const svcChain = (sp: ProxyServicePort): string => iptablesChainName('SVC', sp.portName + sp.protocol);
const sepChain = (sp: ProxyServicePort, ep: string): string => iptablesChainName('SEP', sp.portName + sp.protocol + ep);

/** kube-proxy's probability(n): 1/n with ten decimals. */
const probability = (n: number): string => (1 / n).toFixed(10);

/** The jumps from the built-in chains, which kube-proxy adds with `iptables -I` (not in
 *  the restore input). Loaded once, untimed, before the measured restore. */
export function iptablesJumps(): string {
  const lines = [
    '*filter',
    ...FILTER_KUBE_CHAINS,
    '-A INPUT -j KUBE-FIREWALL',
    '-A OUTPUT -j KUBE-FIREWALL',
    ...FILTER_INPUT_JUMPS,
    ...FILTER_FORWARD_JUMPS,
    ...FILTER_OUTPUT_JUMPS,
    'COMMIT',
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ...NAT_BUILTIN_JUMPS,
    'COMMIT',
  ];
  return lines.join('\n') + '\n';
}

/**
 * The restore input of one sync. With `only` set it is what a kube-proxy *partial* sync
 * writes after that one Service changed: the filter table and the top-level nat chains
 * in full (every KUBE-SERVICES rule is rewritten on every sync), but the KUBE-SVC and
 * KUBE-SEP chains of that Service only. kube-proxy loads it with --noflush --counters.
 */
export function iptablesRestoreInput(ports: readonly ProxyServicePort[], only?: ProxyServicePort): IptablesRuleset {
  const totalEndpoints = ports.reduce((n, sp) => n + sp.endpoints.length, 0);
  const comments = totalEndpoints <= LARGE_CLUSTER_ENDPOINTS;
  const filter = ['*filter', ...FILTER_KUBE_CHAINS, ...FILTER_KUBE_RULES, 'COMMIT'];
  const natChains = [...NAT_KUBE_CHAINS];
  const natRules = [...NAT_MASQUERADE_RULES];
  for (const sp of ports) {
    if (sp.endpoints.length === 0) continue; // (kube-proxy would REJECT in filter; not in this cluster)
    const svc = svcChain(sp);
    const match = clusterIpMatch(sp.portName, sp.protocol, sp.clusterIP, sp.port);
    natRules.push(`-A KUBE-SERVICES ${match} -j ${svc}`);
    if (only && only !== sp) continue;
    natChains.push(`:${svc} - [0:0]`);
    natRules.push(`-A ${svc} ${match} ! -s ${CLUSTER.podCidr} -j KUBE-MARK-MASQ`);
    const n = sp.endpoints.length;
    sp.endpoints.forEach((ep, i) => {
      const comment = comments ? ` -m comment --comment "${sp.portName} -> ${ep}"` : '';
      const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
      natRules.push(`-A ${svc}${comment}${stat} -j ${sepChain(sp, ep)}`);
    });
    for (const ep of sp.endpoints) {
      const sep = sepChain(sp, ep);
      const comment = comments ? ` -m comment --comment ${sp.portName}` : '';
      natChains.push(`:${sep} - [0:0]`);
      natRules.push(...endpointChainRules(sep, comment, sp.protocol, ep));
    }
  }
  natRules.push(SERVICES_TO_NODEPORTS);
  const text = [...filter, '*nat', ...natChains, ...natRules, 'COMMIT'].join('\n') + '\n';
  return { text, chains: natChains.length + 6, rules: natRules.length + 4 };
}
