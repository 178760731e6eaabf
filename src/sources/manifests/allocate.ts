// ClusterIP and node-port allocation for manifest Services, standing in for the API
// server's allocators.
//
// - Addresses come from the service CIDR, lowest usable first (the network and broadcast
//   addresses are never used); node ports from the node-port range, lowest first.
// - Allocations are sticky: a Service keeps what it got in earlier scans for as long as it
//   exists (even if its manifest later drops an explicit value), so editing a manifest
//   never renumbers other Services.
// - New Services are allocated in ns/name order, so a fresh start over the same directory
//   gives the same result on every node. (Nodes that saw a different history may differ:
//   write clusterIP/nodePort into manifests shared by several nodes.)
// - Values written in manifests always win over sticky allocations of other Services (a
//   fresh start would give them the same way); between two manifests naming the same
//   value, the Service already holding it keeps it, and the other is reported.
// - Within one Service, ports with the same number and different protocols share a node
//   port, as the API server allocates them.

import type { Cidr } from '../../net/ipv4.js';
import { formatIpv4, parseIpv4 } from '../../net/ipv4.js';
import { isObject, type JsonObject, type Problem } from './fields.js';
import { needsClusterIp, needsHealthCheckNodePort, needsNodePorts } from './validate-service.js';

export interface AllocationRequest {
  /** "namespace/name". */
  readonly key: string;
  /** A validated, defaulted Service spec; allocations are written into it. */
  readonly spec: JsonObject;
}

export interface AllocationProblem extends Problem {
  readonly key: string;
}

type PortSpec = JsonObject & { port: number; protocol: string; nodePort?: number };

function portsOf(spec: JsonObject): PortSpec[] {
  return Array.isArray(spec['ports']) ? (spec['ports'].filter(isObject) as PortSpec[]) : [];
}

export class ServiceAllocator {
  /** Service key → address it holds. */
  private clusterIps = new Map<string, number>();
  /** Slot (`${key}/${port}/${protocol}` or `${key}/health`) → the node port its Service holds. */
  private nodePorts = new Map<string, { key: string; port: number }>();
  private readonly firstIp: number;
  private readonly lastIp: number;

  constructor(
    cidr: Cidr,
    private readonly range: { readonly min: number; readonly max: number },
  ) {
    const size = 2 ** (32 - cidr.bits);
    this.firstIp = size <= 2 ? cidr.base : cidr.base + 1;
    this.lastIp = size <= 2 ? cidr.base + size - 1 : cidr.base + size - 2;
  }

  /**
   * Allocates for every Service of one scan (in manifest order) and forgets Services that
   * are gone. Services with a problem get nothing and should be skipped by the caller.
   */
  allocate(requests: readonly AllocationRequest[]): AllocationProblem[] {
    const problems: AllocationProblem[] = [];
    const failed = new Set<string>();
    const fail = (key: string, field: string, reason: string): void => {
      problems.push({ key, field, reason });
      failed.add(key);
    };
    const ips = this.allocateClusterIps(requests, fail);
    const ports = this.allocateNodePorts(
      requests.filter((r) => !failed.has(r.key)),
      fail,
    );
    // Keep only what live, valid Services hold.
    this.clusterIps = new Map([...ips].filter(([key]) => !failed.has(key)));
    this.nodePorts = new Map([...ports].filter(([, held]) => !failed.has(held.key)));
    return problems;
  }

  private allocateClusterIps(requests: readonly AllocationRequest[], fail: (key: string, field: string, reason: string) => void): Map<string, number> {
    const holder = new Map<number, string>();
    const assigned = new Map<string, number>();
    const wanting = requests.filter((r) => needsClusterIp(r.spec));

    const explicit = wanting.filter((r) => r.spec['clusterIP'] !== '');
    // Holders from earlier scans first, then manifest order.
    const holdsAlready = (r: AllocationRequest): boolean => this.clusterIps.get(r.key) === parseIpv4(String(r.spec['clusterIP']));
    for (const r of [...explicit.filter(holdsAlready), ...explicit.filter((r) => !holdsAlready(r))]) {
      const ip = parseIpv4(String(r.spec['clusterIP']))!;
      const other = holder.get(ip);
      if (other !== undefined) {
        fail(r.key, 'spec.clusterIP', `${formatIpv4(ip)} is already allocated to Service ${other}`);
        continue;
      }
      holder.set(ip, r.key);
      assigned.set(r.key, ip);
    }

    const dynamic = wanting.filter((r) => r.spec['clusterIP'] === '').sort((a, b) => a.key.localeCompare(b.key));
    const fresh: AllocationRequest[] = [];
    for (const r of dynamic) {
      const sticky = this.clusterIps.get(r.key);
      if (sticky !== undefined && sticky >= this.firstIp && sticky <= this.lastIp && !holder.has(sticky)) {
        holder.set(sticky, r.key);
        assigned.set(r.key, sticky);
      } else fresh.push(r);
    }
    let next = this.firstIp;
    for (const r of fresh) {
      while (next <= this.lastIp && holder.has(next)) next++;
      if (next > this.lastIp) {
        fail(r.key, 'spec.clusterIP', 'no address left in the service CIDR');
        continue;
      }
      holder.set(next, r.key);
      assigned.set(r.key, next);
    }
    for (const r of wanting) {
      const ip = assigned.get(r.key);
      if (ip === undefined) continue;
      r.spec['clusterIP'] = formatIpv4(ip);
      r.spec['clusterIPs'] = [formatIpv4(ip)];
    }
    return assigned;
  }

  private allocateNodePorts(
    requests: readonly AllocationRequest[],
    fail: (key: string, field: string, reason: string) => void,
  ): Map<string, { key: string; port: number }> {
    const holder = new Map<number, string>(); // node port → service key
    const assigned = new Map<string, { key: string; port: number }>();
    const slotOf = (key: string, p: PortSpec): string => `${key}/${p.port}/${p.protocol}`;
    const healthSlot = (key: string): string => `${key}/health`;

    interface Claim {
      key: string;
      slot: string;
      port: number;
      field: string;
    }
    const claims: Claim[] = [];
    for (const r of requests) {
      portsOf(r.spec).forEach((p, i) => {
        if (typeof p.nodePort === 'number') claims.push({ key: r.key, slot: slotOf(r.key, p), port: p.nodePort, field: `spec.ports[${i}].nodePort` });
      });
      if (typeof r.spec['healthCheckNodePort'] === 'number') {
        claims.push({ key: r.key, slot: healthSlot(r.key), port: r.spec['healthCheckNodePort'], field: 'spec.healthCheckNodePort' });
      }
    }
    const holdsAlready = (c: Claim): boolean => this.nodePorts.get(c.slot)?.port === c.port;
    const failedKeys = new Set<string>();
    for (const c of [...claims.filter(holdsAlready), ...claims.filter((c) => !holdsAlready(c))]) {
      const other = holder.get(c.port);
      if (other !== undefined && other !== c.key) {
        fail(c.key, c.field, `provided port ${c.port} is already allocated to Service ${other}`);
        failedKeys.add(c.key);
        continue;
      }
      holder.set(c.port, c.key);
      assigned.set(c.slot, { key: c.key, port: c.port });
    }

    // Slots still to fill, per Service in ns/name order.
    interface Want {
      key: string;
      slot: string;
      apply: (port: number) => void;
      /** Same-numbered port of another protocol in this Service, whose node port to share. */
      sibling?: () => number | undefined;
    }
    const wants: Want[] = [];
    for (const r of [...requests].sort((a, b) => a.key.localeCompare(b.key))) {
      if (failedKeys.has(r.key)) continue;
      const ports = portsOf(r.spec);
      if (needsNodePorts(r.spec)) {
        for (const p of ports) {
          if (typeof p.nodePort === 'number') continue;
          wants.push({
            key: r.key,
            slot: slotOf(r.key, p),
            apply: (n) => (p.nodePort = n),
            sibling: () => ports.find((q) => q !== p && q.port === p.port && typeof q.nodePort === 'number')?.nodePort,
          });
        }
      }
      if (needsHealthCheckNodePort(r.spec) && typeof r.spec['healthCheckNodePort'] !== 'number') {
        wants.push({ key: r.key, slot: healthSlot(r.key), apply: (n) => (r.spec['healthCheckNodePort'] = n) });
      }
    }
    const take = (w: Want, port: number): void => {
      holder.set(port, w.key);
      assigned.set(w.slot, { key: w.key, port });
      w.apply(port);
    };
    const fresh: Want[] = [];
    for (const w of wants) {
      const sticky = this.nodePorts.get(w.slot)?.port;
      if (sticky !== undefined && sticky >= this.range.min && sticky <= this.range.max && !holder.has(sticky)) take(w, sticky);
      else fresh.push(w);
    }
    let next = this.range.min;
    for (const w of fresh) {
      const shared = w.sibling?.();
      if (shared !== undefined) {
        take(w, shared);
        continue;
      }
      while (next <= this.range.max && holder.has(next)) next++;
      if (next > this.range.max) {
        fail(w.key, 'spec.ports', `no node port left in the range ${this.range.min}-${this.range.max}`);
        continue;
      }
      take(w, next);
    }
    return assigned;
  }
}
