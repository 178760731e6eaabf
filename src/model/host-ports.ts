// hostPort: a Pod's container port published on this node's addresses. Modelled as one
// pseudo-Service holding a frontend per (node address, hostPort, protocol) whose only
// backend is the pod, so the encoder, reconciler and datapath treat it like any other
// frontend (kind HostPort). Pods are this node's only (the sources filter by nodeName).

import type { HostPort } from '../tracker/signatures.js';
import { classifyIp } from './ip.js';
import type { L4Protocol, ModelBackend, ModelFrontend, NodeInfo, ServiceModel } from './types.js';

/** Sorts after every "namespace/name" key, so a real Service wins a frontend clash. */
export const HOST_PORTS_KEY = '~hostports';

function ipv4(text: string | undefined): string | undefined {
  const c = classifyIp(text);
  return c?.family === 'IPv4' ? c.addr : undefined;
}

export function modelHostPorts(ports: readonly HostPort[], node: NodeInfo | undefined): ServiceModel {
  const nodeAddrs = (node?.addresses ?? []).map(ipv4).filter((a): a is string => a !== undefined);
  const frontends: ModelFrontend[] = [];
  for (const hp of ports) {
    const podIP = ipv4(hp.podIP);
    const protocol = hp.protocol.toUpperCase() as L4Protocol;
    if (!podIP || (protocol !== 'TCP' && protocol !== 'UDP')) continue;
    const hostIP = ipv4(hp.hostIP);
    const addrs = hostIP && hostIP !== '0.0.0.0' ? [hostIP] : nodeAddrs;
    const backend: ModelBackend = {
      addr: podIP,
      port: hp.containerPort,
      local: true,
      ready: true,
      serving: true,
      terminating: false,
      zoneHints: [],
      ...(node ? { nodeName: node.name } : {}),
    };
    const set = { usable: [backend], kept: [] };
    for (const addr of addrs) {
      frontends.push({
        serviceKey: HOST_PORTS_KEY,
        owner: `${hp.pod}:hostPort/${hp.hostPort}`,
        kind: 'HostPort',
        addr,
        port: hp.hostPort,
        protocol,
        affinityTimeoutS: 0,
        etpLocal: false,
        itpLocal: false,
        cluster: set,
        local: set,
      });
    }
  }
  return { key: HOST_PORTS_KEY, frontends, localReadyEndpoints: 0 };
}
