// Lists the network interfaces of the current network namespace. Uses `ip` (netlink)
// rather than /sys/class/net, because a process that entered a namespace with
// `nsenter --net` still sees the sysfs of the namespace that mounted /sys.

import { execFileSync } from 'node:child_process';

export interface NetIf {
  name: string;
  ifindex: number;
}

export function listInterfaces(): NetIf[] {
  const out = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  const list: NetIf[] = [];
  for (const line of out.split('\n')) {
    const m = /^(\d+):\s+([^:@\s]+)/.exec(line);
    if (m) list.push({ ifindex: Number(m[1]), name: m[2]! });
  }
  return list;
}

/** Compiles interface-name patterns with `*` wildcards ("kv-*,lxc*") into one test. */
export function interfaceMatcher(patterns: string[]): (name: string) => boolean {
  const res = patterns
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => new RegExp('^' + p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$'));
  return (name) => res.some((r) => r.test(name));
}
