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
import { hash32, MASQ_MARK, type ProxyServicePort } from './kube-proxy-shape.js';

/** kube-proxy's threshold for leaving out per-endpoint comments. */
const LARGE_CLUSTER_ENDPOINTS = 1000;

const svcChain = (sp: ProxyServicePort): string => `KUBE-SVC-${hash32(sp.portName + sp.protocol, 16)}`;
const sepChain = (sp: ProxyServicePort, ep: string): string => `KUBE-SEP-${hash32(sp.portName + sp.protocol + ep, 16)}`;

/** kube-proxy's probability(n): 1/n with ten decimals. */
const probability = (n: number): string => (1 / n).toFixed(10);

/** The jumps from the built-in chains, which kube-proxy adds with `iptables -I` (not in
 *  the restore input). Loaded once, untimed, before the measured restore. */
export function iptablesJumps(): string {
  const lines = [
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    '-A INPUT -j KUBE-FIREWALL',
    '-A OUTPUT -j KUBE-FIREWALL',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    'COMMIT',
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    'COMMIT',
  ];
  return lines.join('\n') + '\n';
}

export interface IptablesRuleset {
  readonly text: string;
  readonly chains: number;
  readonly rules: number;
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
  const filter = [
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    // With the default localhost NodePorts, kube-proxy also writes the route_localnet guard.
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    'COMMIT',
  ];
  const natChains = [':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const natRules = [
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${MASQ_MARK}`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${MASQ_MARK}`,
  ];
  for (const sp of ports) {
    if (sp.endpoints.length === 0) continue; // (kube-proxy would REJECT in filter; not in this cluster)
    const svc = svcChain(sp);
    const match = `-m comment --comment "${sp.portName} cluster IP" -m ${sp.protocol} -p ${sp.protocol} -d ${sp.clusterIP} --dport ${sp.port}`;
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
      const ip = ep.slice(0, ep.lastIndexOf(':'));
      const comment = comments ? ` -m comment --comment ${sp.portName}` : '';
      natChains.push(`:${sep} - [0:0]`);
      natRules.push(`-A ${sep}${comment} -s ${ip}/32 -j KUBE-MARK-MASQ`);
      natRules.push(`-A ${sep}${comment} -m ${sp.protocol} -p ${sp.protocol} -j DNAT --to-destination ${ep}`);
    }
  }
  natRules.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  const text = [...filter, '*nat', ...natChains, ...natRules, 'COMMIT'].join('\n') + '\n';
  return { text, chains: natChains.length + 6, rules: natRules.length + 4 };
}
