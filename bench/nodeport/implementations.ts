// The variants the bench compares, each loaded into a fresh lab on its own:
//   direct           nothing loaded; the client sends to the pod address itself, routed
//                    through node1 (the floor: forwarding without translation);
//   kpx              the kpx agent on node1, the Services as manifests; once it is ready
//                    (and its idle CPU use has been sampled) the agent is stopped: its
//                    programs and maps stay and forward (C5), so what is measured is
//                    kpx's datapath — like the kube-proxy rows, which are rules with no
//                    process running;
//   kpx-live         the same with the agent left running throughout (its CPU use is
//                    then background load for every lab measured while it runs);
//   iptables         kube-proxy's iptables layout, iptables-restore (the system default
//                    backend: nf_tables on this machine);
//   iptables-legacy  the same rules through the legacy x_tables backend (optional);
//   nftables         kube-proxy's nftables layout, nft -f.
// load() programs node1 and returns how long that took and an unload(); the lab itself
// is torn down by the caller afterwards either way.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE1, TARGET_PORT, UNDER_TEST, type BackendPlace, type BenchService } from './cluster.js';
import { mustExecInNs } from './exec.js';
import { iptablesRules } from './iptables-rules.js';
import { expectedFrontends, kpxManifestList } from './kpx-manifests.js';
import { agentCpuSeconds, cleanupKpx, startAgent, terminateAgent } from './kpx-agent.js';
import type { BenchLab, BenchPaths } from './lab.js';
import { nftRules } from './nft-rules.js';

const KPX_BIN = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));

export const IMPLEMENTATIONS = ['direct', 'kpx', 'kpx-live', 'iptables', 'iptables-legacy', 'nftables'] as const;
export type ImplName = (typeof IMPLEMENTATIONS)[number];

export interface LoadContext {
  bench: BenchLab;
  services: readonly BenchService[];
  paths: BenchPaths;
  /** Distinguishes files of one (scale, implementation, round). */
  tag: string;
  loadTimeoutMs: number;
  kpxFlags: string[];
  /** kpx: seconds to sample the ready agent's CPU use while nothing happens. */
  agentIdleS: number;
}

export interface Loaded {
  /** Seconds to program node1 (loader exit, or agent start to "ready"). */
  loadS: number;
  /** What was loaded, for the report. */
  detail: string;
  /** Undoes the load; returns notes for the report. */
  unload(): Promise<string>;
  /** kpx only: packets per datapath decision reason so far (`kpx inspect counters`). */
  counters?(): Promise<Map<string, number>>;
  /** kpx: the agent's CPU use while idle after ready, % of one CPU. */
  agentIdleCpuPct?: number;
}

export function targetOf(impl: ImplName, bench: BenchLab, place: BackendPlace): { host: string; port: number } {
  return impl === 'direct' ? { host: bench.backendIps[place], port: TARGET_PORT } : { host: NODE1.addr, port: UNDER_TEST[place].nodePort };
}

const nothing = async (): Promise<string> => '';

async function loadKpx(c: LoadContext, keepAgent: boolean): Promise<Loaded> {
  const manifests = join(c.paths.stateDir, `manifests-${c.tag}`);
  mkdirSync(manifests, { recursive: true });
  writeFileSync(join(manifests, 'bench.json'), kpxManifestList(c.services));
  const pinDir = join(c.paths.pinRoot, c.tag);
  const agent = await startAgent({
    ns: c.bench.node1Ns,
    node: NODE1.name,
    manifests,
    pinDir,
    logPath: join(c.paths.stateDir, `agent-${c.tag}.log`),
    expectedFrontends: expectedFrontends(c.services),
    timeoutMs: c.loadTimeoutMs,
    extraFlags: c.kpxFlags,
  });
  // Idle: no traffic, no manifest change; what is left is the agent's own upkeep.
  const cpu0 = agentCpuSeconds(agent);
  await new Promise((r) => setTimeout(r, c.agentIdleS * 1000));
  const agentIdleCpuPct = ((agentCpuSeconds(agent) - cpu0) / c.agentIdleS) * 100;
  if (!keepAgent) await terminateAgent(agent);
  return {
    loadS: agent.readyS,
    detail: `${agent.frontends} frontends, agent ${keepAgent ? 'running' : 'stopped'}`,
    agentIdleCpuPct,
    unload: async () => {
      await terminateAgent(agent);
      return `kpx cleanup: ${(await cleanupKpx(c.bench.node1Ns, pinDir)).length} items removed`;
    },
    counters: async () => {
      const r = await mustExecInNs(c.bench.node1Ns, process.execPath, [KPX_BIN, 'inspect', 'counters', '--bpffs-dir', pinDir, '-o', 'json'], 30_000);
      const rows = JSON.parse(r.stdout) as Array<{ reason: string; packets: string }>;
      return new Map(rows.map((row) => [row.reason, Number(row.packets)]));
    },
  };
}

async function loadIptables(c: LoadContext, restore: string): Promise<Loaded> {
  const rules = iptablesRules(c.services);
  const file = join(c.paths.workDir, `iptables-${c.tag}.rules`);
  writeFileSync(file, rules.text);
  const r = await mustExecInNs(c.bench.node1Ns, restore, [file], c.loadTimeoutMs);
  return { loadS: r.seconds, detail: `nat: ${rules.chains} chains, ${rules.rules} rules`, unload: nothing };
}

async function loadNft(c: LoadContext): Promise<Loaded> {
  const rules = nftRules(c.services);
  const file = join(c.paths.workDir, `nft-${c.tag}.nft`);
  writeFileSync(file, rules.text);
  const r = await mustExecInNs(c.bench.node1Ns, 'nft', ['-f', file], c.loadTimeoutMs);
  return { loadS: r.seconds, detail: `${rules.chains} chains, ${rules.lines} commands`, unload: nothing };
}

export function loadImplementation(impl: ImplName, c: LoadContext): Promise<Loaded> {
  switch (impl) {
    case 'direct':
      return Promise.resolve({ loadS: 0, detail: 'no proxy', unload: nothing });
    case 'kpx':
      return loadKpx(c, false);
    case 'kpx-live':
      return loadKpx(c, true);
    case 'iptables':
      return loadIptables(c, 'iptables-restore');
    case 'iptables-legacy':
      return loadIptables(c, 'iptables-legacy-restore');
    case 'nftables':
      return loadNft(c);
  }
}

/** `iptables-restore --version` etc., for the report (prints a version, touches nothing). */
export function loaderVersions(): string {
  const v = (cmd: string): string => {
    try {
      return execFileSync(cmd, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return `${cmd}: unavailable`;
    }
  };
  return ['iptables-restore', 'iptables-legacy-restore', 'nft'].map(v).join('; ');
}
