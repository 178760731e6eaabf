// The pure model of one Service: its frontends on this node and their endpoint sets.

import type { BadObjectError } from '../errors.js';
import { endpointsForPort, relevantSlices } from './endpoints.js';
import { nodePortIpv4s } from './nodeport-addresses.js';
import { serviceWhere } from './object-keys.js';
import { clusterSet, localSet } from './select.js';
import { externalIpv4s, loadBalancerIpv4s, sourceRangesV4 } from './service-addresses.js';
import { parsePolicy } from './service-policy.js';
import { parsePorts, type ParsedPort } from './service-ports.js';
import { clusterIpOrSkip } from './service-skip.js';
import type { FrontendKind, ModelFrontend, ModelOptions, NodeInfo, ServiceInput, ServiceOutcome } from './types.js';

/** The kernel kpx targets has no SCTP, so the datapath passes SCTP packets untouched. The
 *  model still lists SCTP frontends (so status and inspect can show them) and marks them. */
export const SCTP_UNSUPPORTED = 'SCTP is not supported by the kpx datapath';

function uniqueMessages(errors: BadObjectError[]): BadObjectError[] {
  if (errors.length < 2) return errors;
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.message) && !!seen.add(e.message));
}

export function modelService(input: ServiceInput, node: NodeInfo | undefined, opts: ModelOptions): ServiceOutcome {
  const { key, service: svc } = input;
  if (!svc) return { key, status: 'absent' };
  const where = serviceWhere(key);

  const vip = clusterIpOrSkip(svc, where, opts);
  if (vip.kind === 'skip') return { key, status: 'skipped', rule: vip.rule, reason: vip.reason };
  if (vip.kind === 'bad') return { key, status: 'bad', errors: [vip.error] };

  const ports = parsePorts(svc, where);
  const externalIps = externalIpv4s(svc, where);
  const lbIps = loadBalancerIpv4s(svc, where);
  const ranges = sourceRangesV4(svc, where);
  const { policy, errors: policyErrors } = parsePolicy(svc, where);
  const errors = [...ports.errors, ...externalIps.errors, ...lbIps.errors, ...ranges.errors, ...policyErrors];
  if (errors.length > 0) return { key, status: 'bad', errors };
  const warnings = [...lbIps.warnings];

  const type = svc.spec?.type ?? 'ClusterIP';
  const nodeAddrs = type === 'NodePort' || type === 'LoadBalancer' ? nodePortIpv4s(node, opts.nodePortAddresses) : [];
  const slices = relevantSlices(input.slices, opts);
  const [ns, name] = key.split('/') as [string, string];

  const frontends: ModelFrontend[] = [];
  const taken = new Set<string>();
  const localReady = new Set<string>();
  for (const port of ports.ports) {
    const endpoints = endpointsForPort(slices, port, opts.nodeName, warnings);
    for (const b of endpoints) if (b.local && b.ready) localReady.add(b.addr);
    const cluster = clusterSet(endpoints, node?.zone);
    const local = localSet(endpoints);
    const add = (kind: FrontendKind, addr: string, num: number) => {
      // The same address twice (an LB IP also listed in externalIPs, say) is one map
      // entry; the first kind wins, in kube-proxy's rule order.
      const id = `${addr}:${num}/${port.protocol}`;
      if (taken.has(id)) return;
      taken.add(id);
      frontends.push({
        serviceKey: key,
        owner: `${ns}/${name}:${port.name || port.port}`,
        kind,
        addr,
        port: num,
        protocol: port.protocol,
        affinityTimeoutS: policy.affinityTimeoutS,
        etpLocal: policy.externalLocal && kind !== 'ClusterIP',
        itpLocal: policy.internalLocal && kind === 'ClusterIP',
        cluster,
        local,
        ...(kind === 'LoadBalancer' && ranges.value ? { sourceRanges: ranges.value } : {}),
        ...(port.protocol === 'SCTP' ? { unsupported: SCTP_UNSUPPORTED } : {}),
      });
    };
    addFrontends(add, port, vip.addr, externalIps.value, lbIps.value, nodeAddrs);
  }

  return {
    key,
    status: 'ok',
    model: {
      key,
      frontends,
      ...(ranges.value ? { sourceRanges: ranges.value } : {}),
      ...(policy.healthCheckNodePort !== undefined ? { healthCheckNodePort: policy.healthCheckNodePort } : {}),
      localReadyEndpoints: localReady.size,
    },
    warnings: uniqueMessages(warnings),
  };
}

/** P1/P3/P4: one frontend per (address, port, protocol) the Service port answers on. */
function addFrontends(
  add: (kind: FrontendKind, addr: string, port: number) => void,
  port: ParsedPort,
  clusterIp: string,
  externalIps: readonly string[],
  lbIps: readonly string[],
  nodeAddrs: readonly string[],
): void {
  add('ClusterIP', clusterIp, port.port);
  for (const ip of externalIps) add('ExternalIP', ip, port.port);
  for (const ip of lbIps) add('LoadBalancer', ip, port.port);
  if (port.nodePort !== undefined) for (const ip of nodeAddrs) add('NodePort', ip, port.nodePort);
}
