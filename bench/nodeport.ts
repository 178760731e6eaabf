// NodePort data-path benchmark: HTTP from an external client through node1 to a backend
// pod, with kpx, kube-proxy's iptables layout, kube-proxy's nftables layout, and
// straight to the pod address (the floor), at several numbers of Services.
//
//   node --import tsx bench/nodeport.ts [--scales 10,1000,10000] [--seconds 5]
//        [--slice 0.5] [--warmup 1] [--concurrency 4] [--no-remote]
//        [--impls direct,kpx,iptables,nftables] [--max-requests 2000000]
//        [--max-conns 200000] [--load-timeout 600] [--agent-idle 10]
//        [--closer server|client] [--kpx-flags "--snat-port-range A-B"]
//
// Per scale, one lab per implementation (bench/nodeport/lab.ts), each holding that
// implementation alone, loaded and checked end to end; then, per backend place ("local":
// the backend on node1, the node the client talks to; "remote": on node2) and per figure:
//   - req/s: --concurrency keep-alive HTTP/1.1 connections sending requests back to back;
//   - conn/s: --concurrency loops of connect + one request + close;
// each implementation gets --seconds of load, cut into slices of --slice seconds taken in
// turns (direct, kpx, iptables, nftables, direct, kpx, …; the order rotates every round).
// The machine is shared and its load swings by the second: measured one after the other,
// implementations would be compared across different minutes; in turns, a burst of other
// work hits them alike, and each ratio is taken against the direct slice of the same round.
// Targets: to the NodePort of node1, or for "direct" to the pod address routed through
// node1. Bounded by --max-requests / --max-conns per slice. Root needed. Not a test: the
// numbers depend on the machine and on what else runs on it.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkNoOverlap, LAB_RANGES } from '../src/lab/command.js';
import { netnsExists, NETNS_DIR } from '../src/lab/netns.js';
import { Probe } from '../src/lab/probe-driver.js';
import { NODE_EXT_IF, POD_IF_PREFIX } from '../src/lab/topology.js';
import { BACKENDS, benchServices, NODE1, UNDER_TEST, type BackendPlace } from './nodeport/cluster.js';
import { running } from './nodeport/exec.js';
import { IMPLEMENTATIONS, loadImplementation, loaderVersions, targetOf, type ImplName, type Loaded } from './nodeport/implementations.js';
import { activeKpx } from './nodeport/kpx-agent.js';
import { pinPeerPass, downLabs, removeBenchFiles, upLab, type BenchLab, type BenchPaths } from './nodeport/lab.js';
import type { LoadMode, LoadSpec } from './nodeport/loadgen.js';
import { dropLines, loadLines, reduce, resultsTable, targetLines, type KpxInfo, type LoadInfo, type SliceResult } from './nodeport/report.js';
import { LoadClient } from './nodeport/run-load.js';
import { cleanUpOnExit, progress } from './process-exit.js';

const MODES: readonly LoadMode[] = ['rps', 'conn'];

const KPX_BIN = fileURLToPath(new URL('../bin/kpx.js', import.meta.url));

// ---- options -----------------------------------------------------------------------------

function argText(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function arg(name: string, fallback: number): number {
  const t = argText(name);
  const v = t === undefined ? fallback : Number(t);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} wants a positive number`);
  return v;
}

const opts = {
  scales: (argText('--scales') ?? '10,1000,10000').split(',').map((s) => Number(s.trim())),
  seconds: arg('--seconds', 5),
  sliceS: arg('--slice', 0.5),
  warmupS: arg('--warmup', 1),
  concurrency: arg('--concurrency', 4),
  agentIdleS: arg('--agent-idle', 10),
  closer: (argText('--closer') ?? 'client') as 'server' | 'client',
  impls: (argText('--impls') ?? 'direct,kpx,iptables,nftables').split(',').map((s) => s.trim()) as ImplName[],
  places: (process.argv.includes('--no-remote') ? ['local'] : ['local', 'remote']) as BackendPlace[],
  maxRequests: arg('--max-requests', 2_000_000),
  maxConns: arg('--max-conns', 200_000),
  loadTimeoutS: arg('--load-timeout', 600),
  kpxFlags: (argText('--kpx-flags') ?? '').split(' ').filter(Boolean),
};
for (const i of opts.impls) if (!IMPLEMENTATIONS.includes(i)) throw new Error(`--impls: unknown ${i} (have ${IMPLEMENTATIONS.join(', ')})`);
if (!opts.impls.includes('direct')) opts.impls.unshift('direct'); // every ratio needs the floor
if (opts.closer !== 'server' && opts.closer !== 'client') throw new Error('--closer wants server or client');


// ---- everything the bench creates, and its removal on every way out ----------------------

const paths: BenchPaths = {
  prefix: `kpxbench-np-${process.pid}-`,
  stateDir: `/run/kpxbench-np-${process.pid}`,
  pinRoot: `/sys/fs/bpf/kpxbench-np-${process.pid}`,
  workDir: mkdtempSync(join(tmpdir(), `kpxbench-np-${process.pid}-`)),
};

/** Synchronous, so it also runs from 'exit' and signal handlers: ends the children this
 *  run started (by pid), detaches whatever a kpx agent left (kpx cleanup in its node's
 *  namespace), deletes the namespaces and removes pins and files. */
function cleanup(): void {
  for (const child of running) child.kill('SIGKILL');
  for (const [pinDir, ns] of activeKpx) {
    if (!netnsExists(ns)) continue;
    try {
      execFileSync('nsenter', [`--net=${NETNS_DIR}/${ns}`, process.execPath, KPX_BIN, 'cleanup', '--bpffs-dir', pinDir, '--pod-interfaces', `${POD_IF_PREFIX}*`, '--external-interface', NODE_EXT_IF], { stdio: 'ignore', timeout: 60_000 });
    } catch {
      // the namespace goes below anyway; removing the pins releases the socket hooks
    }
  }
  downLabs(paths.prefix);
  removeBenchFiles(paths);
}
cleanUpOnExit(cleanup);

// ---- the labs of one scale ---------------------------------------------------------------

interface LoadedLab {
  impl: ImplName;
  bench: BenchLab;
  probe: Probe;
  load: LoadClient;
  loaded?: Loaded;
}

function spec(mode: LoadMode, target: { host: string; port: number }, place: BackendPlace, seconds: number, warmupS = 0): LoadSpec {
  return {
    mode,
    ...target,
    concurrency: opts.concurrency,
    seconds,
    warmupS,
    maxOps: mode === 'rps' ? opts.maxRequests : opts.maxConns,
    expectPod: BACKENDS[place].pod,
    timeoutMs: 3000,
    maxErrors: 100,
    closer: opts.closer,
  };
}

/** kpx's DROP_* counters that moved between two snapshots, e.g. "DROP_X 12". */
function dropsSince(before: Map<string, number>, after: Map<string, number>): string {
  const moved: string[] = [];
  for (const [reason, n] of after) {
    const d = n - (before.get(reason) ?? 0);
    if (reason.startsWith('DROP') && d > 0) moved.push(`${reason} ${d}`);
  }
  return moved.join(', ');
}

/** Loads one implementation into its lab, checks the path end to end, and warms client,
 *  server and path up (--warmup seconds per backend place and mode, results dropped). */
async function setUp(l: LoadedLab, scale: number, loads: LoadInfo[]): Promise<void> {
  const { impl, bench, probe } = l;
  const services = benchServices(scale, bench.backendIps);
  if (impl !== 'direct') {
    // Nothing answers on the NodePort before the implementation is loaded, so every
    // answer measured later went through it.
    const before = await probe.http(NODE1.addr, UNDER_TEST.local.nodePort, 1);
    if (before.ok || before.error !== 'ECONNREFUSED') throw new Error(`NodePort answered before ${impl} was loaded: ${JSON.stringify(before)}`);
  }
  const loaded = (l.loaded = await loadImplementation(impl, {
    bench,
    services,
    paths,
    tag: `${impl}-${scale}`,
    loadTimeoutMs: opts.loadTimeoutS * 1000,
    kpxFlags: opts.kpxFlags,
    agentIdleS: opts.agentIdleS,
  }));
  loads.push({ scale, impl, loadS: loaded.loadS, detail: loaded.detail, ...(loaded.agentIdleCpuPct !== undefined ? { agentIdleCpuPct: loaded.agentIdleCpuPct } : {}) });
  progress(`${impl} at ${scale} Services: loaded in ${loaded.loadS.toFixed(2)} s (${loaded.detail})`);
  for (const place of opts.places) {
    const target = targetOf(impl, bench, place);
    const check = await probe.http(target.host, target.port, 1);
    if (!check.ok || check.answers[0]?.pod !== BACKENDS[place].pod) {
      throw new Error(`${impl} ${place}: ${target.host}:${target.port} does not reach ${BACKENDS[place].pod}: ${JSON.stringify(check)}`);
    }
    for (const mode of MODES) await l.load.run(spec(mode, target, place, opts.warmupS));
  }
}

/** Every implementation of one scale: labs up and loaded, measured in turns, labs down. */
async function measureScale(scale: number, slices: SliceResult[], loads: LoadInfo[], kpx: KpxInfo[]): Promise<void> {
  const labs: LoadedLab[] = [];
  const rounds = Math.max(1, Math.round(opts.seconds / opts.sliceS));
  try {
    for (const impl of opts.impls) {
      const bench = await upLab(`${paths.prefix}${impl}-`, peerPassPin, opts.closer === 'client');
      const l: LoadedLab = { impl, bench, probe: new Probe(bench.extNs), load: new LoadClient(bench.extNs) };
      labs.push(l);
      await setUp(l, scale, loads);
    }
    for (const place of opts.places) {
      const counters = new Map<LoadedLab, Map<string, number>>();
      for (const l of labs) {
        const c = await l.loaded!.counters?.();
        if (c) counters.set(l, c);
      }
      for (const mode of MODES) {
        progress(`${scale} Services, ${place} backend, ${mode}: ${rounds} rounds of ${opts.sliceS} s per implementation`);
        for (let round = 0; round < rounds; round++) {
          // The order turns every round, so no implementation always follows the same one.
          const k = round % labs.length;
          for (const l of [...labs.slice(k), ...labs.slice(0, k)]) {
            const result = await l.load.run(spec(mode, targetOf(l.impl, l.bench, place), place, opts.sliceS));
            slices.push({ scale, impl: l.impl, place, mode, round, result });
          }
        }
      }
      for (const [l, before] of counters) {
        const drops = dropsSince(before, await l.loaded!.counters!());
        kpx.push({ scale, impl: l.impl, place, drops });
        if (drops) progress(`  ${l.impl} ${place}: kpx drops: ${drops}`);
      }
    }
  } finally {
    for (const l of labs) {
      l.probe.close();
      l.load.close();
      try {
        const note = await l.loaded?.unload();
        if (note) progress(`${l.impl}: ${note}`);
      } catch (err) {
        progress(`${l.impl}: unload failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    downLabs(paths.prefix);
  }
}

// ---- output ------------------------------------------------------------------------------

function machine(): string {
  const kb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  return `${cpus().length} CPU (${cpus()[0]?.model ?? '?'}), ${(kb / 1024 / 1024).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}`;
}
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

function reproduce(): string {
  const cmd = [
    'node --import tsx bench/nodeport.ts',
    `--scales ${opts.scales.join(',')}`,
    `--seconds ${opts.seconds}`,
    `--slice ${opts.sliceS}`,
    `--warmup ${opts.warmupS}`,
    `--concurrency ${opts.concurrency}`,
    `--impls ${opts.impls.join(',')}`,
    `--agent-idle ${opts.agentIdleS}`,
    `--closer ${opts.closer}`,
  ];
  if (opts.kpxFlags.length) cmd.push(`--kpx-flags "${opts.kpxFlags.join(' ')}"`);
  if (!opts.places.includes('remote')) cmd.push('--no-remote');
  return cmd.join(' ');
}

// ---- main --------------------------------------------------------------------------------

let peerPassPin = '';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the bench creates network namespaces and loads BPF programs');
  checkNoOverlap(LAB_RANGES);
  const startLoad = load();
  peerPassPin = pinPeerPass(paths);
  const versions = loaderVersions();
  const slices: SliceResult[] = [];
  const loads: LoadInfo[] = [];
  const kpx: KpxInfo[] = [];
  for (const scale of opts.scales) await measureScale(scale, slices, loads, kpx);
  const cells = reduce(slices, loads, kpx);
  const out: string[] = [];
  out.push(
    '',
    `kpx NodePort benchmark — external client -> node1:NodePort -> backend pod; HTTP/1.1, ${opts.concurrency} connections;`,
    `${opts.seconds} s of load per figure in ${Math.max(1, Math.round(opts.seconds / opts.sliceS))} slices of ${opts.sliceS} s, implementations in turns`,
  );
  out.push(`machine: ${machine()}; load average at start ${startLoad}, at end ${load()}`);
  out.push(`loaders: ${versions}`);
  out.push('', resultsTable(cells, opts.impls), '');
  out.push('what was loaded:', ...loadLines(loads), '');
  out.push('targets:', ...targetLines(cells), '');
  const drops = dropLines(cells);
  out.push('kpx datapath drops during the measurements (kpx inspect counters):', ...(drops.length ? drops : ['  none']), '');
  out.push('notes:');
  out.push(`  - req/s: keep-alive connections, one request in flight each; conn/s: connect + GET + close, the ${opts.closer} closing first.`);
  out.push('  - x direct: per slice round, against the direct slice of the same round (client -> pod address routed through node1,');
  out.push('    no translation); the median over rounds, [interquartile range]. req/s and conn/s: the mean of the slices\' rates.');
  out.push('  - kpx: the agent is stopped once ready (its programs and maps keep forwarding), as the kube-proxy rows are rules with');
  out.push('    no kube-proxy process; "agent idle CPU %" is what the ready agent used in the --agent-idle seconds before that.');
  out.push('  - client, pod server (one Node process) and the kernel share the machine\'s CPUs; the pod server is usually the bottleneck,');
  out.push('    the same one for every variant. ">0.9s": requests/connections that took over 0.9 s (a dropped packet resent).');
  out.push('  - "backend sees": the client address the backend reported; kpx keeps the client\'s for a local backend (T4, kpx may improve).');
  out.push(`reproduce (as root, from the repository root): ${reproduce()}`, '');
  process.stdout.write(out.join('\n'));
}

main()
  .catch((err: unknown) => {
    process.exitCode = 1;
    process.stderr.write(`nodeport bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  })
  .finally(cleanup);
