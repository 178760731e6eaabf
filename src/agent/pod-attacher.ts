// Keeps kpx's tc programs attached to every pod-facing interface (ingress: what the pod
// sends; egress: replies reaching the pod by another path). Interfaces
// whose names match the configured patterns are picked up as they appear (a new pod) and
// forgotten as they disappear. Attaching replaces whatever kpx program was there, so a
// restarted or upgraded agent swaps programs without a gap.

import type { BpfProgram } from '../../native/index.js';
import { tcAttach } from '../../native/index.js';
import { interfaceMatcher, listInterfaces, type NetIf } from './interfaces.js';

export interface AttachEvents {
  attached(iface: string): void;
  detached(iface: string): void;
  failed(iface: string, err: unknown): void;
}

export class PodAttacher {
  private readonly match: (name: string) => boolean;
  /** ifname -> ifindex it was attached at (a recreated veth gets a new index). */
  private readonly attached = new Map<string, number>();
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
    for (const [name, i] of present) {
      if (this.attached.has(name)) continue;
      try {
        tcAttach(name, this.progs.fromPod, 'ingress');
        tcAttach(name, this.progs.toPod, 'egress');
        this.attached.set(name, i.ifindex);
        this.events.attached(name);
      } catch (err) {
        this.events.failed(name, err); // retried on the next scan; other interfaces go on
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
