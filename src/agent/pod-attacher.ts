// Keeps kpx's tc programs attached to every pod-facing interface (ingress: what the pod
// sends; egress: replies reaching the pod by another path). Interfaces
// whose names match the configured patterns are picked up as they appear (a new pod) and
// forgotten as they disappear. Attaching replaces whatever kpx program was there, so a
// restarted or upgraded agent swaps programs without a gap.

import type { BpfProgram } from '../../native/index.js';
import { tcAttach, tcDetach, tcQuery } from '../../native/index.js';
import { AttachError } from '../errors.js';
import { interfaceMatcher, listInterfaces, type NetIf } from './interfaces.js';

export interface AttachEvents {
  attached(iface: string): void;
  detached(iface: string): void;
  /** `repeat`: the same error as the last attempt on this interface (log it once). */
  failed(iface: string, err: unknown, repeat: boolean): void;
}

export class PodAttacher {
  private readonly match: (name: string) => boolean;
  /** ifname -> ifindex it was attached at (a recreated veth gets a new index). */
  private readonly attached = new Map<string, number>();
  /** ifname -> message of its last failed attempt. */
  private readonly failing = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly progs: { fromPod: BpfProgram; toPod: BpfProgram },
    patterns: string[],
    private readonly events: AttachEvents,
  ) {
    this.match = interfaceMatcher(patterns);
  }

  /** One pass: attach to new matching interfaces, forget vanished ones. */
  scan(): void {
    const present = new Map<string, NetIf>();
    for (const i of listInterfaces()) if (this.match(i.name)) present.set(i.name, i);
    for (const [name, idx] of this.attached) {
      if (present.get(name)?.ifindex !== idx) {
        this.attached.delete(name);
        this.events.detached(name);
      }
    }
    for (const name of this.failing.keys()) if (!present.has(name)) this.failing.delete(name);
    for (const [name, i] of present) {
      if (this.attached.has(name)) continue;
      try {
        attachVerified(name, this.progs);
        this.attached.set(name, i.ifindex);
        this.failing.delete(name);
        this.events.attached(name);
      } catch (err) {
        // Retried on the next scan; other interfaces go on.
        const msg = String((err as Error).message ?? err);
        this.events.failed(name, err, this.failing.get(name) === msg);
        this.failing.set(name, msg);
      }
    }
  }

  start(intervalMs: number): void {
    this.scan();
    this.timer = setInterval(() => this.scan(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  interfaces(): string[] {
    return [...this.attached.keys()].sort();
  }
}

const EEXIST = 17;

/**
 * Attaches both programs and checks each hook then runs the one meant for it. On an
 * interface that carries another tool's legacy `ingress` qdisc instead of clsact, the
 * kernel accepts both filters into that qdisc's single block, so the egress program
 * would silently replace the ingress one: detect that, take kpx's filter off again and
 * fail loudly instead.
 */
function attachVerified(name: string, progs: { fromPod: BpfProgram; toPod: BpfProgram }): void {
  const inId = tcAttach(name, progs.fromPod, 'ingress');
  const outId = tcAttach(name, progs.toPod, 'egress');
  if (tcQuery(name, 'ingress')?.progId === inId && tcQuery(name, 'egress')?.progId === outId) return;
  try {
    tcDetach(name, 'ingress');
  } catch {
    // best effort: the error below is what matters
  }
  throw new AttachError(
    name,
    'tc attach',
    EEXIST,
    `the interface has a qdisc other than clsact at ffff: (a legacy "ingress" qdisc?), so kpx's ingress and egress programs cannot both run; remove it (tc qdisc del dev ${name} ingress) and kpx attaches on its next scan`,
  );
}
