// The NodePort benchmark's cluster: the lab (two nodes, one backend pod on each, the
// external client network), the two Services under test and the filler Services that
// bring the total to the scale being measured. Every implementation is fed from this one
// description, so kpx's manifests and kube-proxy's rules describe the same Services.

import { LAB_NET, NODES } from '../../src/lab/examples.js';
import { formatIpv4, parseIpv4 } from '../../src/net/ipv4.js';
import type { LabSpec } from '../../src/lab/topology.js';

export const NODE1 = NODES[0];
export const NODE2 = NODES[1];
export const CLIENT_ADDR = LAB_NET.client;
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';
export const NAMESPACE = 'bench';
export const PORT_NAME = 'http';
export const SERVICE_PORT = 80;
/** What the lab's pod server listens on. */
export const TARGET_PORT = 8000;
/** kube-proxy's (and kpx's) default NodePort range. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

/** Filler ClusterIPs count up from 10.96.1.0, inside the Service CIDR (/12). */
const FILLER_VIP_BASE = parseIpv4('10.96.1.0')!;
/** Filler endpoints count up from 10.244.128.1: the upper half of the pod range (/17),
 *  where no lab pod lives. */
const FILLER_ENDPOINT_BASE = parseIpv4('10.244.128.1')!;
/** The most Services the address plan has room for (the filler endpoint /17). */
export const MAX_SERVICES = 32_000;

export type BackendPlace = 'local' | 'remote';

/** The backend pods: be-local on node1 (the node the client talks to), be-remote on node2. */
export const BACKENDS: Record<BackendPlace, { pod: string; node: string }> = {
  local: { pod: 'be-local', node: NODE1.name },
  remote: { pod: 'be-remote', node: NODE2.name },
};

export function benchLabSpec(prefix: string): LabSpec {
  return {
    prefix,
    nodes: NODES.map((n) => ({ ...n })),
    pods: Object.values(BACKENDS).map((b) => ({ name: b.pod, node: b.node, tcpPorts: [TARGET_PORT] })),
    external: {
      cidr: LAB_NET.external,
      clientAddr: LAB_NET.client,
      // The floor: the client reaches pod addresses directly, through node1 (no translation).
      routes: [{ to: POD_CIDR, via: NODE1.name }],
    },
  };
}

export interface BenchService {
  name: string;
  clusterIP: string;
  /** Set for type NodePort. */
  nodePort?: number;
  endpoint: { ip: string; node: string };
}

/** The Services whose NodePorts the bench sends traffic to. */
export const UNDER_TEST: Record<BackendPlace, { name: string; clusterIP: string; nodePort: number }> = {
  local: { name: 'np-local', clusterIP: '10.96.0.10', nodePort: 30080 },
  remote: { name: 'np-remote', clusterIP: '10.96.0.11', nodePort: 30081 },
};

/**
 * `total` Services: the two under test plus filler. Filler Services are NodePort while
 * nodePorts of the default range are left (2,766 of them), ClusterIP after that, as a
 * real cluster of that size would have to be; each has one endpoint on node2 at an
 * address in the pod range that no pod uses (no traffic ever goes there). The Services
 * under test sit in the middle of the list: kube-proxy writes its rules in map order,
 * i.e. at a random place, so the middle is where they land on average (it matters for
 * iptables' linear KUBE-NODEPORTS chain only; KUBE-SERVICES is walked to its end by every
 * NodePort packet, as its jump to KUBE-NODEPORTS is the last rule).
 */
export function benchServices(total: number, backendIps: Record<BackendPlace, string>): BenchService[] {
  if (!Number.isInteger(total) || total < 2 || total > MAX_SERVICES) {
    throw new Error(`a scale of ${total} Services: want 2 (the two under test) to ${MAX_SERVICES}`);
  }
  const taken = new Set(Object.values(UNDER_TEST).map((s) => s.nodePort));
  let nextPort = NODE_PORT_RANGE.min;
  const freePort = (): number | undefined => {
    while (taken.has(nextPort)) nextPort++;
    return nextPort <= NODE_PORT_RANGE.max ? nextPort++ : undefined;
  };
  const filler: BenchService[] = [];
  for (let i = 0; i < total - 2; i++) {
    const nodePort = freePort();
    filler.push({
      name: `filler-${i}`,
      clusterIP: formatIpv4(FILLER_VIP_BASE + i),
      ...(nodePort !== undefined ? { nodePort } : {}),
      endpoint: { ip: formatIpv4(FILLER_ENDPOINT_BASE + i), node: NODE2.name },
    });
  }
  const tested: BenchService[] = (['local', 'remote'] as const).map((place) => ({
    ...UNDER_TEST[place],
    endpoint: { ip: backendIps[place], node: BACKENDS[place].node },
  }));
  const mid = filler.length >> 1;
  return [...filler.slice(0, mid), ...tested, ...filler.slice(mid)];
}
