// The agents of a lab built by labUp: find and kill -9 them, start them again (with
// extra flags, e.g. another datapath object), and read what they expose — metrics, and
// what bpftool says is attached in a node's namespace.

import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labAgentArgs, type LabPaths } from '../../src/lab/command.js';
import { execIn, spawnIn } from '../../src/lab/netns.js';
import type { Lab } from '../../src/lab/topology.js';

const KPX = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));

export function nodeNs(lab: Lab, node: string): string {
  return lab.nodes.find((n) => n.name === node)!.ns;
}

export function pinDirOf(paths: LabPaths, node: string): string {
  return join(paths.pinRoot, node);
}

export function logPathOf(paths: LabPaths, node: string): string {
  return join(paths.stateDir, `${node}.log`);
}

/** Pids of `kpx agent` processes inside the namespace. */
export function agentPids(ns: string): number[] {
  const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  return pids.filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.some((a) => a.endsWith('kpx.js')) && argv.includes('agent');
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** kill -9 every agent of the namespace and waits until they are gone. */
export async function killAgents(ns: string): Promise<number[]> {
  const pids = agentPids(ns);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (pids.some((p) => existsSync(`/proc/${p}`) && !isZombie(p))) {
    if (Date.now() > deadline) throw new Error(`agents ${pids.join(',')} in ${ns} did not die`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return pids;
}

function isZombie(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

export interface StartedAgent {
  node: string;
  logPath: string;
  /** Where this agent's lines begin in the (shared, appended) log file. */
  from: number;
  /** Exit code once the process has exited (it should not). */
  exited?: number | null;
}

/** Starts an agent on `node` as labUp does, plus `extra` flags, logging at debug. Does not wait. */
export function startAgent(lab: Lab, paths: LabPaths, node: string, extra: string[] = []): StartedAgent {
  const args = labAgentArgs(node, join(paths.stateDir, 'manifests'), paths, ['--log-level', 'debug', ...extra]);
  return spawnAgent(nodeNs(lab, node), node, args, logPathOf(paths, node));
}

/** `kpx agent ARGS` in namespace `ns`, detached, appending to `logPath`. Does not wait. */
export function spawnAgent(ns: string, node: string, args: string[], logPath: string): StartedAgent {
  const from = existsSync(logPath) ? statSync(logPath).size : 0;
  const fd = openSync(logPath, 'a');
  const child = spawnIn(ns, process.execPath, [KPX, 'agent', ...args], { detached: true, logFile: fd });
  closeSync(fd);
  const started: StartedAgent = { node, logPath, from };
  child.once('exit', (code) => (started.exited = code));
  return started;
}

export function agentLog(a: StartedAgent): string {
  return readFileSync(a.logPath, 'utf8').slice(a.from);
}

/** The agent's log records (JSON lines) since it started. */
export function agentRecords(a: StartedAgent): Array<Record<string, unknown>> {
  return agentLog(a)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits for a record matching `match` among the agent's records from index `from` on. */
export async function waitForRecord(a: StartedAgent, match: (r: Record<string, unknown>) => boolean, what: string, ms = 30_000, from = 0): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = agentRecords(a).slice(from).find(match);
    if (hit) return hit;
    if (a.exited !== undefined || Date.now() > deadline) {
      const why = a.exited !== undefined ? `exited with ${a.exited}` : `not in ${ms} ms`;
      throw new Error(`agent on ${a.node}: ${what} not logged (${why}); its log:\n${agentLog(a).slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET http://127.0.0.1:PORT/metrics from inside the namespace. */
export function scrapeMetrics(ns: string, port = 10249): string {
  const js = `fetch('http://127.0.0.1:${port}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`;
  return execIn(ns, process.execPath, ['-e', js]);
}

/** The value of one sample (`name{labels}`, labels as printed) in Prometheus text, or undefined. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

// ---- bpftool views --------------------------------------------------------------------

interface NetShow {
  xdp: Array<{ devname: string; ifindex: number; mode?: string; id: number }>;
  tc: Array<{ devname: string; kind: string; name: string; id: number }>;
}

/** Program ids attached in the namespace: "eth1 xdp" -> id, "kv-web-0 clsact/ingress" -> id. */
export function attachedPrograms(ns: string): Map<string, number> {
  const out = JSON.parse(execIn(ns, 'bpftool', ['-j', 'net', 'show'])) as NetShow[];
  const m = new Map<string, number>();
  for (const x of out[0]?.xdp ?? []) m.set(`${x.devname} xdp`, x.id);
  for (const t of out[0]?.tc ?? []) m.set(`${t.devname} ${t.kind}`, t.id);
  return m;
}

function bpftool(args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }));
}

export function pinnedMapId(path: string): number {
  return (bpftool(['map', 'show', 'pinned', path]) as { id: number }).id;
}

export function pinnedLinkProgId(path: string): number {
  return (bpftool(['link', 'show', 'pinned', path]) as { prog_id: number }).prog_id;
}

export function pinnedProgId(path: string): number {
  return (bpftool(['prog', 'show', 'pinned', path]) as { id: number }).id;
}

export function progInfo(id: number): { id: number; tag: string; name: string; map_ids?: number[] } {
  return bpftool(['prog', 'show', 'id', String(id)]) as { id: number; tag: string; name: string; map_ids?: number[] };
}

/** Raw dump of a pinned map (keys and values as bpftool prints them), sorted. */
export function dumpPinnedMap(path: string): string[] {
  const rows = bpftool(['map', 'dump', 'pinned', path]) as Array<{ key: unknown; value: unknown }>;
  return rows.map((r) => JSON.stringify([r.key, r.value])).sort();
}
