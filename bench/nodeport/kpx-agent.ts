// The kpx agent on node1 for the bench: started the way the lab starts it (standalone,
// manifest directory, external device eth1 with XDP, pod veths kv-*), ready once it logs
// "ready" with exactly the expected number of frontends; stopped with SIGTERM (its
// programs stay attached and keep forwarding); `kpx cleanup` in node1's namespace then
// detaches its XDP and tc programs and socket hooks and removes its pins, and the result
// is checked.

import type { ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnIn } from '../../src/lab/netns.js';
import { NODE_EXT_IF, POD_IF_PREFIX } from '../../src/lab/topology.js';
import { SERVICE_CIDR } from './cluster.js';
import { execInNs, running } from './exec.js';

const KPX_BIN = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));
/** USER_HZ, the unit of /proc/PID/stat times: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

export interface AgentOptions {
  ns: string;
  node: string;
  manifests: string;
  pinDir: string;
  logPath: string;
  expectedFrontends: number;
  timeoutMs: number;
  /** Extra agent flags (--kpx-flags). */
  extraFlags: string[];
}

export interface RunningAgent {
  child: ChildProcess;
  /** Seconds from spawn to the "ready" line. */
  readyS: number;
  frontends: number;
}

function readyLine(logPath: string): { frontends: number } | undefined {
  if (!existsSync(logPath)) return undefined;
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.includes('"msg":"ready"')) continue;
    return JSON.parse(line) as { frontends: number };
  }
  return undefined;
}

/** Pin directories of agents started and not yet cleaned up, with their namespace: what
 *  an emergency cleanup has to run `kpx cleanup` for. */
export const activeKpx = new Map<string, string>();

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const t0 = performance.now();
  activeKpx.set(o.pinDir, o.ns);
  const log = openSync(o.logPath, 'a');
  const child = spawnIn(
    o.ns,
    process.execPath,
    [
      KPX_BIN,
      'agent',
      '--manifests',
      o.manifests,
      '--node-name',
      o.node,
      '--pod-interfaces',
      `${POD_IF_PREFIX}*`,
      '--external-interface',
      NODE_EXT_IF,
      '--bpffs-dir',
      o.pinDir,
      '--service-cidr',
      SERVICE_CIDR,
      '--metrics-bind-address',
      '127.0.0.1:10249',
      '--healthz-bind-address',
      '127.0.0.1:10256',
      ...o.extraFlags,
    ],
    { logFile: log },
  );
  closeSync(log);
  running.add(child);
  child.once('exit', () => running.delete(child));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + o.timeoutMs;
  while (Date.now() < deadline) {
    const ready = readyLine(o.logPath);
    if (ready) {
      const readyS = (performance.now() - t0) / 1000;
      if (ready.frontends !== o.expectedFrontends) {
        child.kill('SIGKILL');
        throw new Error(`kpx agent ready with ${ready.frontends} frontends, expected ${o.expectedFrontends}; see ${o.logPath}`);
      }
      return { child, readyS, frontends: ready.frontends };
    }
    if (exited !== undefined) throw new Error(`kpx agent exited (${exited}); log:\n${readFileSync(o.logPath, 'utf8').slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`kpx agent not ready in ${o.timeoutMs / 1000} s; see ${o.logPath}`);
}

/** CPU seconds the agent has used so far (user + system; nsenter execs the agent, so
 *  the child's pid is the agent's). */
export function agentCpuSeconds(agent: RunningAgent): number {
  const stat = readFileSync(`/proc/${agent.child.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** SIGTERM (SIGKILL after 10 s). The agent leaves its programs attached and its maps
 *  pinned when it stops: traffic keeps flowing without it. */
export async function terminateAgent(agent: RunningAgent): Promise<void> {
  const { child } = agent;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

/** `kpx cleanup` in the node's namespace; returns what it removed. */
export async function cleanupKpx(ns: string, pinDir: string): Promise<string[]> {
  const r = await execInNs(
    ns,
    process.execPath,
    [KPX_BIN, 'cleanup', '--bpffs-dir', pinDir, '--pod-interfaces', `${POD_IF_PREFIX}*`, '--external-interface', NODE_EXT_IF],
    60_000,
  );
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  if (r.code !== 0) throw new Error(`kpx cleanup failed (${r.code}): ${lines.join('; ')} ${r.stderr.trim()}`);
  if (existsSync(pinDir)) throw new Error(`kpx cleanup left ${pinDir} behind`);
  activeKpx.delete(pinDir);
  return lines.filter((l) => l.startsWith('removed '));
}
