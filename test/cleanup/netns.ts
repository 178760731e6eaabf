// A kpxops- network namespace for the cleanup tests, and running code inside it from this
// process: setns(2) moves only the calling thread, which is where the native attach
// calls open their netlink sockets.
import { execFileSync } from 'node:child_process';

// The setns-based helper is the native tests' one.
export { inNetns } from '../native/netns.js';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function createNetns(name: string): void {
  ip('netns', 'add', name);
}

export function deleteNetns(name: string): void {
  try {
    ip('netns', 'del', name);
  } catch {
    // already gone
  }
}

/** A veth pair inside `ns`, both ends up. */
export function addVeth(ns: string, a: string, b: string): void {
  ip('-n', ns, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b);
  ip('-n', ns, 'link', 'set', a, 'up');
  ip('-n', ns, 'link', 'set', b, 'up');
}

/** `tc -j filter show dev IF DIR` inside `ns`. */
export function tcFilters(ns: string, ifname: string, dir: 'ingress' | 'egress'): unknown[] {
  const out = execFileSync('nsenter', [`--net=/run/netns/${ns}`, 'tc', '-j', 'filter', 'show', 'dev', ifname, dir], { encoding: 'utf8' });
  return out.trim() ? (JSON.parse(out) as unknown[]) : [];
}
