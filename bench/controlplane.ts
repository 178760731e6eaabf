// Control-plane benchmark: kpx's sync path against kube-proxy's rule loaders, same scale.
//
//   npm run build && node dist/bench/controlplane.js [--services 10000] [--endpoints 10]
//        [--changes 500] [--warmup 20] [--ext-changes 10] [--ext-timeout 300]
//        [--no-external] [--profile FILE.cpuprofile]
//
// Compiled, as the agent image runs; `node --import tsx bench/controlplane.ts` runs the
// sources through tsx (more RSS and CPU, see bench/README.md) and says so.
//
// Measures, in one run (root needed: BPF maps, network namespaces):
//  1. kpx initial sync: N ClusterIP Services x E endpoints, served with managedFields by
//     a test API server in a child process and listed by the agent's API-server source
//     into a ChangeTracker until synced() ("informer-synced"), then until
//     SyncEngine.sync(true) returns with every entry written to the real kernel maps of
//     bpf/kpx.bpf.o (pinned under /sys/fs/bpf/kpxbench-cp-<pid>). The map contents are
//     counted afterwards.
//  2. kpx single-change latency: one endpoint added, removed or readiness-flipped in one
//     EndpointSlice, from tracker.endpointSlice(prev, cur) until sync(false) returns.
//  3. kpx RSS right after the initial sync: the agent's modules, its informer caches and
//     its sync state, as in an agent process.
//  4. kube-proxy's iptables and nftables rulesets for the same cluster, loaded with
//     iptables-restore (each backend present) and `nft -f` into scratch network
//     namespaces kpxbench-cp-<pid>-<n>, never the host's tables; then kube-proxy-style
//     partial syncs of one Service into the loaded namespace.
// Not a test: timings depend on the machine and on whatever else runs on it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExternal, type LoaderResult } from './controlplane/external-run.js';
import { RESYNCS, runKpx, runtimeKind, type KpxResult } from './controlplane/kpx-run.js';
import { Namespaces } from './controlplane/netns-loader.js';
import { fmt, percentile, ratio, table } from './controlplane/report.js';
import { cleanUpOnExit, progress } from './process-exit.js';

function flag(name: string): boolean {
  return process.argv.includes(name);
}
function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} wants a whole number`);
  return v;
}
function argText(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const TARGET = { fullSyncS: 1, changeP99Ms: 10, rssMb: 250, vsIptables: 10 };

const opts = {
  services: arg('--services', 10_000),
  endpointsPerService: arg('--endpoints', 10),
  changes: arg('--changes', 500),
  warmup: arg('--warmup', 20),
  extChanges: arg('--ext-changes', 10),
  extTimeoutS: arg('--ext-timeout', 300),
  external: !flag('--no-external'),
  profile: argText('--profile'),
};


// ---- everything the bench creates, and its removal on every way out --------------------

const pinDir = `/sys/fs/bpf/kpxbench-cp-${process.pid}`;
const nss = new Namespaces(`kpxbench-cp-${process.pid}`);
const workDir = mkdtempSync(join(tmpdir(), `kpxbench-cp-${process.pid}-`));
function cleanup(): void {
  nss.cleanup();
  rmSync(pinDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
}
cleanUpOnExit(cleanup);

// ---- optional CPU profile of the kpx phase ------------------------------------------------

function profiler(file: string | undefined): { afterLoad?(): Promise<void>; beforeClose?(): Promise<void> } {
  if (!file) return {};
  const session = new Session();
  const post = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  return {
    async afterLoad() {
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
    },
    async beforeClose() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      progress(`CPU profile of the kpx phase written to ${file} (open in Chrome DevTools / speedscope)`);
    },
  };
}

// ---- output ------------------------------------------------------------------------------

function machine(): string {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  let mem = '';
  try {
    const kb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    mem = `, ${(kb / 1024 / 1024).toFixed(1)} GiB RAM`;
  } catch {
    mem = '';
  }
  return `${cpus().length} CPU (${cpuModel})${mem}, Linux ${release()}, Node ${process.version} running ${runtimeKind() === 'compiled' ? 'compiled JS (dist/)' : 'the TypeScript through tsx'}; load average ${load}`;
}

function loaderCell(l: LoaderResult): string {
  if (l.fullS !== undefined) return fmt(l.fullS, 2);
  return l.timedOut ? `> ${opts.extTimeoutS} (killed)` : 'failed';
}

function print(kpx: KpxResult, ext: readonly LoaderResult[], startLoad: string): void {
  const p50 = percentile(kpx.changeMs, 0.5);
  const p99 = percentile(kpx.changeMs, 0.99);
  const ipt = ext.find((l) => l.label.startsWith('iptables-restore'));
  const iptFull = ipt?.fullS ?? (ipt?.timedOut ? opts.extTimeoutS : undefined);
  const vsIpt = iptFull !== undefined ? iptFull / kpx.fullSyncS : undefined;
  const yes = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'yes' : 'NO');

  const header = ['metric', 'kpx', ...ext.map((l) => l.label), 'target', 'kpx meets'];
  const rows: string[][] = [
    [
      `initial sync, ${opts.services} svc x ${opts.endpointsPerService} ep (s)`,
      fmt(kpx.fullSyncS, 2),
      ...ext.map(loaderCell),
      `<= ${TARGET.fullSyncS} s`,
      yes(kpx.fullSyncS <= TARGET.fullSyncS),
    ],
    [
      '  kpx faster by',
      '',
      ...ext.map((l) => ratio(kpx.fullSyncS, l.fullS ?? (l.timedOut ? opts.extTimeoutS : undefined), l.fullS === undefined)),
      `>= ${TARGET.vsIptables}x vs iptables-restore`,
      yes(vsIpt === undefined ? undefined : vsIpt >= TARGET.vsIptables),
    ],
    ['single EndpointSlice change p50 (ms)', fmt(p50, 2), ...ext.map((l) => fmt(percentile(l.changeMs, 0.5), 1)), '', ''],
    [
      'single EndpointSlice change p99 (ms)',
      fmt(p99, 2),
      ...ext.map((l) => fmt(percentile(l.changeMs, 0.99), 1)),
      `<= ${TARGET.changeP99Ms} ms`,
      yes(p99 === undefined ? undefined : p99 <= TARGET.changeP99Ms),
    ],
    ['  kpx faster by (p50)', '', ...ext.map((l) => ratio(p50, percentile(l.changeMs, 0.5))), '', ''],
    [
      'RSS after initial sync (MB)',
      fmt(kpx.rssAfterSyncMb, 0),
      ...ext.map((l) => (l.loaderPeakMb !== undefined ? `loader peak ${fmt(l.loaderPeakMb, 0)}` : 'n/a')),
      `<= ${TARGET.rssMb} MB`,
      yes(kpx.rssAfterSyncMb <= TARGET.rssMb),
    ],
  ];

  const out: string[] = [];
  out.push('', `kpx control-plane benchmark — ${opts.services} ClusterIP Services x ${opts.endpointsPerService} endpoints`);
  out.push(`machine: ${machine()} (at start: ${startLoad})`);
  out.push('', table(header, rows), '');
  out.push('kpx details:');
  out.push(`  listing every object through the API-server source into the ChangeTracker, HTTP included (not in the sync time): ${fmt(kpx.deliverS, 2)} s`);
  out.push(`  initial sync wrote ${kpx.fullSyncWrites} map entries; maps hold ${kpx.servicesEntries} service-map and ${kpx.backendsEntries} backend-map entries (checked); capacities ${kpx.maxEntries.services}/${kpx.maxEntries.backends}`);
  for (const kind of ['add', 'remove', 'flip'] as const) {
    const s = kpx.changeMsByKind[kind];
    out.push(`  change "${kind}": n=${s.length} p50 ${fmt(percentile(s, 0.5), 2)} ms, p99 ${fmt(percentile(s, 0.99), 2)} ms, max ${fmt(percentile(s, 1), 2)} ms`);
  }
  out.push(`  changes: ${kpx.changeMs.length} measured after ${opts.warmup} warm-up changes (excluded); each wrote exactly one frontend`);
  out.push(`  RSS: ${fmt(kpx.rssBaselineMb, 0)} MB with the agent's modules loaded and nothing synced (node + koffi + client-node + prom-client${runtimeKind() === 'tsx' ? ' + tsx' : ''}), ${fmt(kpx.rssAfterSyncMb, 0)} MB right after sync(true) (heap used ${fmt(kpx.heapAfterSyncMb, 0)} MB); heap retained after a full GC: ${fmt(kpx.heapRetainedMb, 0)} MB (that GC ran before the change phase)`);
  out.push(`  then ${RESYNCS} full resyncs with nothing changed (as --sync-period runs them): ${kpx.resyncS.map((x) => fmt(x, 2)).join(', ')} s; RSS after them ${fmt(kpx.rssAfterResyncsMb, 0)} MB (V8 grows the old generation before a major GC)`);
  if (ext.length) {
    out.push('kube-proxy rulesets:');
    for (const l of ext) {
      out.push(`  ${l.label} [${l.version}]: ${l.chains} chains, ${l.lines} lines, ${fmt(l.fileMb, 1)} MB; ${l.fullS !== undefined ? `${fmt(l.fullS, 2)} s` : l.failure}; ${l.verified}`);
      if (l.changeMs.length) out.push(`    partial syncs (one Service, endpoint removed / re-added): n=${l.changeMs.length} p50 ${fmt(percentile(l.changeMs, 0.5), 1)} ms, max ${fmt(percentile(l.changeMs, 1), 1)} ms`);
    }
  } else {
    out.push('kube-proxy rulesets: skipped (--no-external)');
  }
  out.push('method notes:');
  out.push('  - kpx times include modelling, encoding, diffing and the kernel map writes; loader times are spawn-to-exit of');
  out.push('    `ip netns exec NS <loader>` on a pre-generated file: the time kube-proxy spends generating rules is NOT counted.');
  out.push('  - a loader partial sync is what kube-proxy sends after one Service changed (iptables: filter table, every');
  out.push('    KUBE-SERVICES rule and that Service\'s chains, --noflush; nft: that Service\'s chains) into the loaded namespace.');
  out.push('  - "> T (killed)": still running at --ext-timeout; the ratio is then a lower bound.');
  out.push(`  - the machine is shared; load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const cmd = [runtimeKind() === 'compiled' ? 'npm run build && node dist/bench/controlplane.js' : 'node --import tsx bench/controlplane.ts', `--services ${opts.services}`, `--endpoints ${opts.endpointsPerService}`, `--changes ${opts.changes}`, `--warmup ${opts.warmup}`];
  if (opts.external) cmd.push(`--ext-changes ${opts.extChanges}`, `--ext-timeout ${opts.extTimeoutS}`);
  else cmd.push('--no-external');
  out.push(`reproduce (as root, from the repository root): ${cmd.join(' ')}`, '');
  process.stdout.write(out.join('\n'));
}

// ---- main --------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the bench loads BPF maps and creates network namespaces');
  const startLoad = loadavg().map((l) => l.toFixed(2)).join(' ');
  const kpx = await runKpx(
    { services: opts.services, endpointsPerService: opts.endpointsPerService, pinDir, changes: opts.changes, warmup: opts.warmup },
    progress,
    profiler(opts.profile),
  );
  progress(`kpx: initial sync ${kpx.fullSyncS.toFixed(2)} s, change p99 ${fmt(percentile(kpx.changeMs, 0.99), 2)} ms, RSS ${kpx.rssAfterSyncMb.toFixed(0)} MB`);
  const ext = opts.external
    ? await runExternal(
        { services: opts.services, endpointsPerService: opts.endpointsPerService, workDir, changes: opts.extChanges, timeoutS: opts.extTimeoutS },
        nss,
        progress,
      )
    : [];
  print(kpx, ext, startLoad);
}

main()
  .catch((err: unknown) => {
    process.exitCode = 1;
    process.stderr.write(`controlplane bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  })
  .finally(cleanup);
