// The kube-proxy side of the benchmark: the same cluster as kube-proxy's iptables and
// nftables proxiers would write it, loaded by iptables-restore (each backend present)
// and `nft -f` into a fresh scratch network namespace each, timed from process spawn
// to exit. Then a few single-Service partial syncs (one endpoint removed, then added
// back) in the same namespace, as kube-proxy would send them after one slice changed.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCluster, type ClusterShape } from './cluster.js';
import { iptablesJumps, iptablesRestoreInput } from './iptables-rules.js';
import { servicePortsOf, type ProxyServicePort } from './kube-proxy-shape.js';
import { Namespaces, toolVersion, type RunResult } from './netns-loader.js';
import { endpointChain, nftFullSync, nftPartialSync } from './nft-rules.js';

export interface ExternalOptions extends ClusterShape {
  readonly workDir: string;
  readonly changes: number;
  readonly timeoutS: number;
}

export interface LoaderResult {
  readonly label: string;
  readonly version: string;
  /** Seconds, or undefined when it failed or was killed at the timeout. */
  readonly fullS: number | undefined;
  readonly failure?: string;
  readonly timedOut: boolean;
  readonly fileMb: number;
  readonly chains: number;
  readonly lines: number;
  /** Peak RSS of the loader process (GNU time), MB. */
  readonly loaderPeakMb: number | undefined;
  readonly verified: string;
  readonly changeMs: number[];
}

interface Loader {
  readonly label: string;
  readonly tool: string;
  readonly version: string;
  readonly args: (file: string) => string[];
  /** Untimed preparation of the namespace (kube-proxy's own `iptables -I` jumps). */
  readonly prepare?: string;
  readonly full: () => { text: string; chains: number; lines: number };
  readonly partial: (sp: ProxyServicePort, stale: readonly string[]) => string;
  readonly verify: (ns: string, nss: Namespaces, last: ProxyServicePort) => Promise<string>;
}

const GNU_TIME = '/usr/bin/time';

function iptablesLoader(tool: string, label: string, version: string, ports: readonly ProxyServicePort[], save: string): Loader {
  return {
    label,
    tool,
    version,
    args: (file) => ['--noflush', '--counters', file],
    prepare: iptablesJumps(),
    full: () => {
      const r = iptablesRestoreInput(ports);
      return { text: r.text, chains: r.chains, lines: r.rules };
    },
    partial: (sp) => iptablesRestoreInput(ports.map((p) => (p.portName === sp.portName ? sp : p)), sp).text,
    verify: async (ns, nss) => {
      const r = await nss.exec(ns, save, ['-t', 'nat'], 600_000);
      if (!r.ok) return `${save} failed: ${r.stderr.trim().slice(0, 200)}`;
      const seps = r.stdout.split('\n').filter((l) => l.startsWith(':KUBE-SEP-')).length;
      const rules = r.stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
      return `${save}: ${seps} KUBE-SEP chains, ${rules} nat rules`;
    },
  };
}

function nftLoader(version: string, ports: readonly ProxyServicePort[]): Loader {
  return {
    label: 'nft -f',
    tool: 'nft',
    version,
    args: (file) => ['-f', file],
    full: () => nftFullSync(ports),
    partial: (sp, stale) => nftPartialSync(sp, stale).text,
    verify: async (ns, nss, last) => {
      const chain = endpointChain(last, last.endpoints[last.endpoints.length - 1] ?? '');
      const r = await nss.exec(ns, 'nft', ['list', 'chain', 'ip', 'kube-proxy', chain], 600_000);
      return r.ok && r.stdout.includes('dnat to') ? `nft list chain: last endpoint chain present with its dnat rule` : `nft list chain failed: ${r.stderr.trim().slice(0, 200)}`;
    },
  };
}

/** Runs `ip netns exec NS tool args` under GNU time (when present) for the peak RSS. */
async function timedLoad(nss: Namespaces, ns: string, l: Loader, file: string, timeoutMs: number, rssFile: string): Promise<{ r: RunResult; peakMb: number | undefined }> {
  if (!existsSync(GNU_TIME)) return { r: await nss.exec(ns, l.tool, l.args(file), timeoutMs), peakMb: undefined };
  rmSync(rssFile, { force: true });
  const r = await nss.exec(ns, GNU_TIME, ['-f', '%M', '-o', rssFile, l.tool, ...l.args(file)], timeoutMs);
  let peakMb: number | undefined;
  try {
    const kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    peakMb = Number.isFinite(kb) && kb > 0 ? kb / 1024 : undefined;
  } catch {
    peakMb = undefined;
  }
  return { r, peakMb };
}

export function loaders(ports: readonly ProxyServicePort[], progress: (m: string) => void): Loader[] {
  const out: Loader[] = [];
  const def = toolVersion('iptables-restore');
  if (def) out.push(iptablesLoader('iptables-restore', `iptables-restore (${def.includes('nf_tables') ? 'nf_tables' : 'legacy'})`, def, ports, 'iptables-save'));
  else progress('iptables-restore not found: skipped');
  if (def?.includes('nf_tables')) {
    const legacy = toolVersion('iptables-legacy-restore');
    if (legacy) out.push(iptablesLoader('iptables-legacy-restore', 'iptables-legacy-restore', legacy, ports, 'iptables-legacy-save'));
    else progress('iptables-legacy-restore not found: legacy backend skipped');
  }
  const nft = toolVersion('nft');
  if (nft) out.push(nftLoader(nft, ports));
  else progress('nft not found: skipped');
  return out;
}

export async function runExternal(o: ExternalOptions, nss: Namespaces, progress: (m: string) => void): Promise<LoaderResult[]> {
  // The cluster as it was before kpx's change phase (makeCluster is deterministic).
  const ports = servicePortsOf(makeCluster(o));
  const last = ports[ports.length - 1];
  const target = ports[Math.floor(ports.length / 2)];
  if (!last || !target) throw new Error('no services');
  const results: LoaderResult[] = [];
  for (const [i, l] of loaders(ports, progress).entries()) {
    const ns = nss.create(String(i));
    try {
      if (l.prepare) {
        const prep = join(o.workDir, `prepare-${i}.rules`);
        writeFileSync(prep, l.prepare);
        const pr = await nss.exec(ns, l.tool, ['--noflush', prep], 60_000);
        if (!pr.ok) throw new Error(`${l.label}: preparing the namespace failed: ${pr.stderr.trim()}`);
      }
      const full = l.full();
      const file = join(o.workDir, `full-${i}.rules`);
      writeFileSync(file, full.text);
      progress(`${l.label}: loading ${full.chains} chains / ${full.lines} lines (${(full.text.length / 1e6).toFixed(1)} MB) into netns ${ns}, timeout ${o.timeoutS} s`);
      const { r, peakMb } = await timedLoad(nss, ns, l, file, o.timeoutS * 1000, join(o.workDir, 'rss'));
      const base = { label: l.label, version: l.version, fileMb: full.text.length / 1e6, chains: full.chains, lines: full.lines, loaderPeakMb: peakMb };
      if (!r.ok) {
        const failure = r.timedOut ? `killed after ${o.timeoutS} s` : r.stderr.trim().slice(0, 300);
        progress(`${l.label}: ${failure}`);
        results.push({ ...base, fullS: undefined, failure, timedOut: r.timedOut, verified: 'not loaded', changeMs: [] });
        continue;
      }
      progress(`${l.label}: ${(r.ms / 1000).toFixed(2)} s; verifying and running ${o.changes} partial syncs`);
      const verified = await l.verify(ns, nss, last);
      // Partial syncs: remove the target's last endpoint, then put it back, alternately.
      const changeMs: number[] = [];
      for (let c = 0; c < o.changes; c++) {
        const removed = target.endpoints[target.endpoints.length - 1] ?? '';
        const sp = c % 2 === 0 ? { ...target, endpoints: target.endpoints.slice(0, -1) } : target;
        const pfile = join(o.workDir, `partial-${i}.rules`);
        writeFileSync(pfile, l.partial(sp, c % 2 === 0 ? [removed] : []));
        const pr = await nss.exec(ns, l.tool, l.args(pfile), o.timeoutS * 1000);
        if (!pr.ok) throw new Error(`${l.label}: partial sync ${c} failed: ${pr.stderr.trim().slice(0, 300)}`);
        changeMs.push(pr.ms);
      }
      results.push({ ...base, fullS: r.ms / 1000, timedOut: false, verified, changeMs });
    } finally {
      nss.delete(ns);
    }
  }
  return results;
}
