// Validates spec.ports: each entry becomes one frontend per address (P1, P3), with the
// target it names (P2). A bad entry makes the whole Service bad: half a Service is a
// more confusing failure than none.

import type { V1Service } from '@kubernetes/client-node';
import { BadObjectError } from '../errors.js';
import type { L4Protocol } from './types.js';

export interface ParsedPort {
  readonly index: number;
  /** '' when unnamed (allowed only for a single-port Service). */
  readonly name: string;
  readonly port: number;
  readonly protocol: L4Protocol;
  /** Set only when a nodePort is allocated (non-zero). */
  readonly nodePort?: number;
  /** A port number, or the name of a container port resolved per endpoint (P2). */
  readonly targetPort: number | string;
}

const PROTOCOLS: ReadonlySet<string> = new Set<L4Protocol>(['TCP', 'UDP', 'SCTP']);

export function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** IANA service name, as Kubernetes validates container port names. */
function isPortName(s: string): boolean {
  return s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

function parseTargetPort(raw: unknown, port: number): number | string | undefined {
  if (raw === undefined || raw === null || raw === 0 || raw === '') return port; // P2: defaults to port
  if (typeof raw === 'number') return isPortNumber(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  // Manifest files sometimes quote numbers; the API server would not admit them, but the
  // meaning is plain.
  if (/^\d+$/.test(raw)) return isPortNumber(Number(raw)) ? Number(raw) : undefined;
  return isPortName(raw) ? raw : undefined;
}

export function parsePorts(svc: V1Service, where: string): { ports: ParsedPort[]; errors: BadObjectError[] } {
  const specPorts = svc.spec?.ports ?? [];
  const ports: ParsedPort[] = [];
  const errors: BadObjectError[] = [];
  const seen = new Map<string, number>();
  const bad = (i: number, field: string, reason: string) => errors.push(new BadObjectError(where, `spec.ports[${i}]${field}`, reason));
  const firstUse = (what: string, i: number): number | undefined => {
    const prev = seen.get(what);
    if (prev === undefined) seen.set(what, i);
    return prev;
  };

  specPorts.forEach((p, i) => {
    const before = errors.length;
    const name = p.name ?? '';
    const protocol = p.protocol ?? 'TCP';
    if (!isPortNumber(p.port)) bad(i, '.port', `must be an integer in 1..65535, got ${JSON.stringify(p.port)}`);
    if (!PROTOCOLS.has(protocol)) bad(i, '.protocol', `must be TCP, UDP or SCTP, got ${JSON.stringify(protocol)}`);
    if (name === '' && specPorts.length > 1) bad(i, '.name', 'required when a Service has more than one port');
    const nodePort = p.nodePort === undefined || p.nodePort === null || p.nodePort === 0 ? undefined : p.nodePort;
    if (nodePort !== undefined && !isPortNumber(nodePort)) bad(i, '.nodePort', `must be an integer in 1..65535, got ${JSON.stringify(nodePort)}`);
    const targetPort = isPortNumber(p.port) ? parseTargetPort(p.targetPort, p.port) : p.port;
    if (targetPort === undefined) bad(i, '.targetPort', `must be a port number or a port name, got ${JSON.stringify(p.targetPort)}`);
    if (errors.length > before || targetPort === undefined) return;

    let dup: number | undefined;
    if (name !== '' && (dup = firstUse(`name ${name}`, i)) !== undefined) bad(i, '.name', `duplicates spec.ports[${dup}].name ${JSON.stringify(name)}`);
    if ((dup = firstUse(`port ${p.port}/${protocol}`, i)) !== undefined) bad(i, '', `duplicates spec.ports[${dup}] (${p.port}/${protocol})`);
    if (nodePort !== undefined && (dup = firstUse(`nodePort ${nodePort}/${protocol}`, i)) !== undefined) {
      bad(i, '.nodePort', `duplicates spec.ports[${dup}].nodePort (${nodePort}/${protocol})`);
    }
    ports.push({ index: i, name, port: p.port, protocol: protocol as L4Protocol, ...(nodePort !== undefined ? { nodePort } : {}), targetPort });
  });
  return { ports, errors };
}
