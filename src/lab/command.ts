// `kpx lab`: builds a two-node cluster out of network namespaces (pods on both nodes, an
// external client on the nodes' network), runs one kpx agent per node in standalone
// mode (each with its own bpffs directory, all reading one manifest directory), sends
// real traffic to the example Services from a pod, from a node and from outside, and
// prints per Service which backends answered, how often, and the client address each
// saw. `kpx lab down` removes namespaces, processes, pins and files. Running it twice is
// safe: the second run tears the first down before building.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { LabError } from '../errors.js';
import { cidrsOverlap, parseCidr, type Cidr } from '../net/ipv4.js';
import { removeStateDir } from '../inspect/owners-file.js';
import { LAB_NET, NODES, labManifests, labProbes, labSpec, type LabProbe } from './examples.js';
import { spawnIn } from './netns.js';
import { attachPeerPass } from './peer-pass.js';
import { PROGRAM_NAMES } from '../datapath/abi.js';
import { PROGRAM_PIN_SUBDIR } from '../datapath/datapath.js';
import { Probe } from './probe-driver.js';
import { renderTable, summarise } from './report.js';
import { buildLab, extPeerName, NODE_EXT_IF, POD_IF_PREFIX, teardownLab, type Lab } from './topology.js';

const KPX_BIN = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));

export interface LabPaths {
  prefix: string;
  stateDir: string;
  pinRoot: string;
}

export const LAB_PATHS: LabPaths = { prefix: 'kpxlab-', stateDir: '/run/kpx-lab', pinRoot: '/sys/fs/bpf/kpx-lab' };

/** The address ranges the lab uses inside its namespaces. */
export const LAB_RANGES = {
  'pod-cidr': '10.244.0.0/16',
  'service-cidr': '10.96.0.0/12',
  'node-cidr': LAB_NET.external,
  'lb-cidr': LAB_NET.lbPool,
} as const;

/** Every IPv4 prefix configured on the machine's own interfaces (read only). */
export function hostPrefixes(): Cidr[] {
  const out = execFileSync('ip', ['-j', '-4', 'addr', 'show'], { encoding: 'utf8' });
  const ifs = JSON.parse(out) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  const list: Cidr[] = [];
  for (const i of ifs) {
    for (const a of i.addr_info ?? []) {
      const c = parseCidr(`${a.local}/${a.prefixlen}`);
      if (c) list.push(c);
    }
  }
  return list;
}

/** Refuses lab ranges that overlap any address or connected prefix the machine has. */
export function checkNoOverlap(ranges: Record<string, string>, host: Cidr[] = hostPrefixes()): void {
  for (const [what, text] of Object.entries(ranges)) {
    const c = parseCidr(text);
    if (!c) throw new LabError(`${what}: not a CIDR: ${text}`);
    const clash = host.find((h) => cidrsOverlap(h, c));
    if (clash) {
      throw new LabError(`the lab's ${what} ${c.text} overlaps ${clash.text}, which this machine already uses; the lab refuses to run here`);
    }
  }
}

/** The `kpx agent` flags labUp starts the agent on `node` with, then `extra` ones. */
export function labAgentArgs(node: string, manifests: string, paths: LabPaths, extra: readonly string[] = []): string[] {
  return [
    '--manifests',
    manifests,
    '--node-name',
    node,
    '--pod-interfaces',
    `${POD_IF_PREFIX}*`,
    '--external-interface',
    NODE_EXT_IF,
    '--bpffs-dir',
    join(paths.pinRoot, node),
    '--service-cidr',
    LAB_RANGES['service-cidr'],
    '--metrics-bind-address',
    '127.0.0.1:10249',
    '--healthz-bind-address',
    '127.0.0.1:10256',
    ...extra,
  ];
}

/** Starts an agent in a node namespace and waits for its "ready" log line. */
export async function startLabAgent(lab: Lab, node: string, manifests: string, paths: LabPaths, extra: readonly string[] = []): Promise<string> {
  const n = lab.nodes.find((x) => x.name === node)!;
  const logPath = join(paths.stateDir, `${node}.log`);
  const log = openSync(logPath, 'a');
  const child = spawnIn(n.ns, process.execPath, [KPX_BIN, 'agent', ...labAgentArgs(node, manifests, paths, extra)], { detached: true, logFile: log });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    if (/"msg":"ready"/.test(text)) return logPath;
    if (exited !== undefined) throw new LabError(`agent on ${node} exited (${exited}); log:\n${text.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LabError(`agent on ${node} did not become ready in 30 s; see ${logPath}`);
}

function describeFailure(error: string | undefined): string {
  if (error === 'ECONNREFUSED') return 'connection refused';
  if (error === 'timeout' || error === 'connect timeout') return 'timed out';
  return error ?? 'failed';
}

async function runProbe(lab: Lab, probes: Map<string, Probe>, p: LabProbe): Promise<string> {
  const ns =
    p.from === 'pod' ? lab.pods.find((x) => x.client)!.ns : p.from === 'external' ? lab.externalNs! : lab.nodes.find((n) => n.name === p.from)!.ns;
  let probe = probes.get(ns);
  if (!probe) probes.set(ns, (probe = new Probe(ns)));
  const [host, port] = p.target.split(':') as [string, string];
  const res = p.proto === 'tcp' ? await probe.http(host, Number(port), p.count) : await probe.udp(host, Number(port), p.count, p.size);
  const from = p.from === 'pod' ? 'client pod' : p.from === 'external' ? `external client ${LAB_NET.client}` : p.from;
  const size = p.size !== undefined ? `, ${p.size}-byte datagrams` : '';
  const title = `${p.proto.toUpperCase()} ${p.target} from ${from}${size} — expect ${p.expect}`;
  if (!res.ok) return `  ${title}\n    -> ${describeFailure(res.error)}`;
  const first = res.answers[0];
  if (first && first.pod === undefined) return `  ${title}\n    -> HTTP ${first.status}: ${JSON.stringify({ ...first, status: undefined })}`;
  return renderTable(title, summarise(res.answers, lab.pods.filter((x) => !x.client)).filter((r) => r.answered > 0));
}

export interface LabUpOptions {
  paths?: LabPaths;
  out: (line: string) => void;
  /** Skip the overlap check (tests inject their own host prefixes). */
  hostPrefixes?: Cidr[];
  /** More `kpx agent` flags for every node's agent (tests: e.g. a small --snat-port-range). */
  agentFlags?: readonly string[];
}

export async function labUp(opts: LabUpOptions): Promise<Lab> {
  const paths = opts.paths ?? LAB_PATHS;
  const out = opts.out;
  checkNoOverlap(LAB_RANGES, opts.hostPrefixes);
  labDown(paths, () => {});
  try {
    const lab = await buildLab(labSpec(paths.prefix));
    for (const n of lab.nodes) {
      const pods = lab.pods.filter((p) => p.node === n.name);
      out(`lab: ${n.name} (${n.addr}) pods ${pods.map((p) => `${p.name}=${p.ip}`).join(', ')}`);
    }
    out(`lab: external client ${LAB_NET.client}; ${LAB_NET.lbPool} (LB and external IPs) routed to node1`);
    const manifests = join(paths.stateDir, 'manifests');
    mkdirSync(manifests, { recursive: true });
    writeFileSync(join(manifests, 'lab.yaml'), labManifests(lab).map((d) => stringify(d)).join('---\n'));
    for (const n of lab.nodes) {
      const log = await startLabAgent(lab, n.name, manifests, paths, opts.agentFlags);
      out(`lab: kpx agent on ${n.name} ready (log ${log}, pins ${join(paths.pinRoot, n.name)})`);
      // A veth delivers what XDP sends back out (XDP_TX: the rejects) only when its peer
      // runs XDP too; on a real NIC nothing like this is needed.
      const pass = join(paths.pinRoot, n.name, PROGRAM_PIN_SUBDIR, PROGRAM_NAMES.xdpPeerPass);
      attachPeerPass(lab.externalNs!, pass, [extPeerName(n.name)]);
    }
    return lab;
  } catch (err) {
    labDown(paths, () => {});
    throw err;
  }
}

/** Sends the lab's example traffic and prints a table per Service. */
export async function labShow(lab: Lab, out: (line: string) => void): Promise<void> {
  const probes = new Map<string, Probe>();
  try {
    let current = '';
    for (const p of labProbes()) {
      if (p.service !== current) {
        current = p.service;
        out('');
        out(`Service default/${p.service}`);
      }
      out(await runProbe(lab, probes, p));
    }
    out('');
    out('Service default/headless: clusterIP None — not proxied (S1), no frontend programmed');
  } finally {
    for (const p of probes.values()) p.close();
  }
}

export function labDown(paths: LabPaths, out: (line: string) => void): void {
  const gone = teardownLab(paths.prefix);
  for (const n of NODES) removeStateDir(join(paths.pinRoot, n.name));
  rmSync(paths.pinRoot, { recursive: true, force: true });
  rmSync(paths.stateDir, { recursive: true, force: true });
  out(gone.length ? `lab: removed ${gone.join(', ')}` : 'lab: nothing to remove');
}
