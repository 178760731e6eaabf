// Network-namespace plumbing for the lab and the traffic tests: named namespaces, veth
// pairs, addresses and routes, processes started inside a namespace. Every command names
// its namespace explicitly (`ip -n NS …`, `nsenter --net=…`), so nothing here can change
// the machine's own network by accident.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { LabError } from '../errors.js';

export const NETNS_DIR = '/run/netns';

/** Node flags that run a TypeScript entry point through tsx, resolved from kpx's own
 *  node_modules so a child works whatever its working directory. */
export const TS_NODE_ARGS: readonly string[] = ['--import', import.meta.resolve('tsx')];

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new LabError(`${cmd} ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Runs `ip -n NS ARGS…`. */
export function ipIn(ns: string, ...args: string[]): string {
  return sh('ip', ['-n', ns, ...args]);
}

export function netnsExists(name: string): boolean {
  return existsSync(`${NETNS_DIR}/${name}`);
}

export function listNetns(prefix: string): string[] {
  if (!existsSync(NETNS_DIR)) return [];
  return readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix)).sort();
}

export function createNetns(name: string): void {
  if (!netnsExists(name)) sh('ip', ['netns', 'add', name]);
  ipIn(name, 'link', 'set', 'lo', 'up');
}

/** Kills every process inside the namespace, then deletes it. Missing is fine. */
export function deleteNetns(name: string): void {
  if (!netnsExists(name)) return;
  killNetnsProcesses(name);
  try {
    sh('ip', ['netns', 'delete', name]);
  } catch {
    // A namespace still held open by a dying process is removed by the kernel later.
  }
}

export function killNetnsProcesses(name: string): void {
  let pids: string[] = [];
  try {
    pids = sh('ip', ['netns', 'pids', name]).split(/\s+/).filter(Boolean);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** sysctl inside a namespace, e.g. setSysctl(ns, 'net.ipv4.ip_forward', '1'). */
export function setSysctl(ns: string, key: string, value: string): void {
  sh('nsenter', [`--net=${NETNS_DIR}/${ns}`, 'sysctl', '-q', '-w', `${key}=${value}`]);
}

/** Creates a veth pair with one end in each namespace, both up. */
export function addVeth(nsA: string, ifA: string, nsB: string, ifB: string): void {
  if (ifA.length > 15 || ifB.length > 15) throw new LabError(`interface name too long: ${ifA} / ${ifB}`);
  ipIn(nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
  ipIn(nsA, 'link', 'set', ifA, 'up');
  ipIn(nsB, 'link', 'set', ifB, 'up');
}

/** Argument vector that runs CMD inside the namespace (network only, so bpffs is shared). */
export function inNetns(ns: string, cmd: string, args: string[]): [string, string[]] {
  return ['nsenter', [`--net=${NETNS_DIR}/${ns}`, cmd, ...args]];
}

export function execIn(ns: string, cmd: string, args: string[]): string {
  const [c, a] = inNetns(ns, cmd, args);
  return sh(c, a);
}

export function spawnIn(
  ns: string,
  cmd: string,
  args: string[],
  opts: { detached?: boolean; stdio?: 'pipe' | 'ignore'; logFile?: number } = {},
): ChildProcess {
  const [c, a] = inNetns(ns, cmd, args);
  const out = opts.logFile ?? (opts.stdio === 'ignore' ? 'ignore' : 'pipe');
  const child = spawn(c, a, {
    detached: opts.detached ?? false,
    stdio: [opts.stdio === 'ignore' || opts.logFile !== undefined ? 'ignore' : 'pipe', out, out],
  });
  if (opts.detached) child.unref();
  return child;
}
