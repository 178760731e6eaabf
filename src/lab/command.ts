// `kpx lab`: builds a one-node cluster out of network namespaces, runs the kpx agent in
// the node namespace (standalone, from manifest files), sends real requests from a client
// pod to the example Service and prints which backend answered how often.
// `kpx lab down` removes namespaces, processes, pins and files. Running it twice is safe:
// the second run tears the first down before building.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.js';
import { cidrsOverlap, parseCidr, type Cidr } from '../net/ipv4.js';
import { HDLS, type Example } from './examples.js';
import { spawnIn } from './netns.js';
import { Probe } from './probe-driver.js';
import { buildLab, POD_IF_PREFIX, teardownLab, type Lab, type LabSpec } from './topology.js';
import { renderTable, summarise } from './report.js';

export const LAB_PREFIX = 'kpxlab-';
const LAB_STATE_DIR = '/run/kpx-lab';
const LAB_PIN_ROOT = '/sys/fs/bpf/kpx-lab';
const KPX_BIN = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));

export interface LabOptions {
  podCidr: string;
  serviceCidr: string;
  out: (line: string) => void;
}

export const LAB_DEFAULTS = { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };

/** Every IPv4 prefix configured on the machine's own interfaces (read only). */
export function hostPrefixes(): Cidr[] {
  const out = execFileSync('ip', ['-j', '-4', 'addr', 'show'], { encoding: 'utf8' });
  const ifs = JSON.parse(out) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  const list: Cidr[] = [];
  for (const i of ifs) for (const a of i.addr_info ?? []) {
    const c = parseCidr(`${a.local}/${a.prefixlen}`);
    if (c) list.push(c);
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
      throw new LabError(
        `${what} ${c.text} overlaps ${clash.text}, which this machine already uses; pick another range with --${what}`,
      );
    }
  }
}

function labSpec(podCidr: string): LabSpec {
  const base = parseCidr(podCidr)!;
  const node1 = `${(base.base >>> 24) & 255}.${(base.base >>> 16) & 255}.1.0/24`;
  return {
    prefix: LAB_PREFIX,
    nodes: [{ name: 'node1', podCidr: node1 }],
    pods: [
      ...HDLS.pods.map((name) => ({ name, node: 'node1', tcpPorts: [8000], udpPorts: [8000] })),
      { name: 'client', node: 'node1', client: true },
    ],
  };
}

function serviceIp(serviceCidr: string, n: number): string {
  const c = parseCidr(serviceCidr)!;
  const v = (c.base + n) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** Starts the agent in the node namespace and waits for its "ready" log line. */
async function startAgent(lab: Lab, node: string, manifests: string, logPath: string, serviceCidr: string): Promise<void> {
  const ns = lab.nodes.find((n) => n.name === node)!.ns;
  const log = openSync(logPath, 'a');
  const child = spawnIn(
    ns,
    process.execPath,
    [
      KPX_BIN,
      'agent',
      '--manifests',
      manifests,
      '--node-name',
      node,
      '--pod-interfaces',
      `${POD_IF_PREFIX}*`,
      '--bpffs-dir',
      join(LAB_PIN_ROOT, node),
      '--service-cidr',
      serviceCidr,
      '--metrics-bind-address',
      '127.0.0.1:10249',
      '--healthz-bind-address',
      '127.0.0.1:10256',
    ],
    { detached: true, logFile: log },
  );
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    if (/"msg":"ready"/.test(text)) return;
    if (exited !== undefined) throw new LabError(`agent on ${node} exited (${exited}); log:\n${text.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LabError(`agent on ${node} did not become ready in 30 s; see ${logPath}`);
}

async function exercise(lab: Lab, ex: Example, vip: string, out: (l: string) => void): Promise<boolean> {
  const client = lab.pods.find((p) => p.client)!;
  const probe = new Probe(client.ns);
  let ok = true;
  try {
    const backends = lab.pods.filter((p) => ex.pods.includes(p.name));
    for (const pr of ex.probes) {
      const res = pr.proto === 'tcp' ? await probe.http(vip, pr.port, pr.count) : await probe.udp(vip, pr.port, pr.count);
      if (!res.ok) {
        ok = false;
        out(`  ${pr.proto.toUpperCase()} ${vip}:${pr.port}: FAILED (${res.error})`);
        continue;
      }
      out(renderTable(`${pr.proto.toUpperCase()} ${vip}:${pr.port} from ${client.name} (${client.ip}), ${pr.count} new connections`, summarise(res.answers, backends)));
    }
  } finally {
    probe.close();
  }
  return ok;
}

export async function labUp(opts: LabOptions): Promise<boolean> {
  labDown(() => {});
  checkNoOverlap({ 'pod-cidr': opts.podCidr, 'service-cidr': opts.serviceCidr });
  const out = opts.out;
  try {
    const lab = await buildLab(labSpec(opts.podCidr));
    out(`lab: node1 with pods ${lab.pods.map((p) => `${p.name}=${p.ip}`).join(', ')}`);
    const dir = join(LAB_STATE_DIR, 'node1');
    const manifests = join(dir, 'manifests');
    mkdirSync(manifests, { recursive: true });
    const vip = serviceIp(opts.serviceCidr, 10);
    writeFileSync(join(manifests, 'hdls.yaml'), HDLS.manifest(lab.pods.filter((p) => HDLS.pods.includes(p.name)), vip));
    const logPath = join(dir, 'agent.log');
    await startAgent(lab, 'node1', manifests, logPath, opts.serviceCidr);
    out(`lab: kpx agent running in ${LAB_PREFIX}node1 (log ${logPath}, pins ${join(LAB_PIN_ROOT, 'node1')})`);
    out('');
    out(`Service default/hdls  ClusterIP ${vip}  port 8080 -> targetPort 8000 (TCP and UDP), 3 backends`);
    const ok = await exercise(lab, HDLS, vip, out);
    out('');
    out(`The lab stays up. Try: nsenter --net=/run/netns/${LAB_PREFIX}client curl -s ${vip}:8080`);
    out(`Edit ${manifests}/*.yaml and the agent follows. Remove everything with: kpx lab down`);
    return ok;
  } catch (err) {
    labDown(() => {});
    throw err;
  }
}

export function labDown(out: (line: string) => void): void {
  const gone = teardownLab(LAB_PREFIX);
  rmSync(LAB_PIN_ROOT, { recursive: true, force: true });
  rmSync(LAB_STATE_DIR, { recursive: true, force: true });
  out(gone.length ? `lab: removed ${gone.join(', ')}` : 'lab: nothing to remove');
}
