// End to end: the real `kpx agent`, compiled as the image runs it, in a one-node lab (network namespaces kpxmet-<pid>-*,
// pins under /sys/fs/bpf/kpxmet-<pid>), a Service from a manifest whose EndpointSlice
// carries a last-change-trigger-time, real connections from a client pod and from the
// node itself, and /metrics scraped over HTTP from inside the node namespace, where the
// agent serves it on --metrics-bind-address. Rule letters: /work/shared/SEMANTICS.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { MAP_NAMES } from '../../src/datapath/abi.js';
import { TRIGGER_TIME_ANNOTATION } from '../../src/agent/metrics-changes.js';
import { removeStateDir } from '../../src/inspect/owners-file.js';
import { NETNS_DIR } from '../../src/lab/netns.js';
import { Probe } from '../../src/lab/probe-driver.js';
import { buildLab, POD_IF_PREFIX, teardownLab, type Lab } from '../../src/lab/topology.js';
import { parseScrape, type Scrape } from './scrape.js';

const PREFIX = `kpxmet-${process.pid}-`;
const PIN_DIR = `/sys/fs/bpf/kpxmet-${process.pid}`;
// The agent as the image runs it: compiled JavaScript (npm run build:agent, built in
// before()), started through bin/kpx-dist.js with no TypeScript loader in the process.
// Every other end-to-end test runs the sources through bin/kpx.js.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KPX = join(ROOT, 'bin/kpx-dist.js');
const FETCH = fileURLToPath(new URL('./fetch.ts', import.meta.url));
const METRICS = 'http://127.0.0.1:10249/metrics';
const VIP = '10.97.0.10';
const CONNECTIONS = 12;
const web = { namespace: 'default', service: 'web', port: 'http', frontend: `${VIP}:8080/TCP` };

const execFileAsync = promisify(execFile);
let lab: Lab;
let agent: ChildProcess | undefined;
let workDir: string;
let logFd: number | undefined;
let probe: Probe | undefined;

const nodeNs = (): string => lab.nodes[0]!.ns;
const agentLog = (): string => readFileSync(join(workDir, 'agent.log'), 'utf8');

/** GET `url` from a process inside the node namespace. */
async function fetchInNode(url: string): Promise<{ status?: number; body?: string; error?: string }> {
  const { stdout } = await execFileAsync('nsenter', [`--net=${NETNS_DIR}/${nodeNs()}`, process.execPath, '--import', 'tsx', FETCH, url]);
  return JSON.parse(stdout) as { status?: number; body?: string; error?: string };
}

async function scrape(): Promise<Scrape> {
  const r = await fetchInNode(METRICS);
  assert.equal(r.status, 200, r.error ?? r.body);
  return parseScrape(r.body!);
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (agent?.exitCode !== null && agent?.exitCode !== undefined) throw new Error(`agent exited (${agent.exitCode}):\n${agentLog().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${ms} ms:\n${agentLog().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  await execFileAsync('npm', ['run', '--silent', 'build:agent'], { cwd: ROOT });
  teardownLab(PREFIX);
  workDir = mkdtempSync(join(tmpdir(), PREFIX));
  lab = await buildLab({
    prefix: PREFIX,
    nodes: [{ name: 'node1', podCidr: '10.245.7.0/24' }],
    pods: [
      { name: 'web-0', node: 'node1', tcpPorts: [8000] },
      { name: 'web-1', node: 'node1', tcpPorts: [8000] },
      { name: 'client', node: 'node1', client: true },
    ],
  });
  const manifests = join(workDir, 'manifests');
  mkdirSync(manifests);
  logFd = openSync(join(workDir, 'agent.log'), 'a');
  agent = spawn(
    'nsenter',
    [`--net=${NETNS_DIR}/${nodeNs()}`, process.execPath, KPX, 'agent', '--node-name', 'node1', '--pod-interfaces', `${POD_IF_PREFIX}*`,
      '--bpffs-dir', PIN_DIR, '--manifests', manifests, '--service-cidr', '10.97.0.0/16',
      '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:10249', '--log-level', 'debug'],
    { stdio: ['ignore', logFd, logFd] },
  );
  await waitFor('agent started', () => /"msg":"started"/.test(agentLog()));

  // The trigger time is now, after the agent started: kube-proxy (and kpx) ignore older ones.
  const pods = ['web-0', 'web-1'].map((n) => lab.pods.find((p) => p.name === n)!);
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { type: 'ClusterIP', clusterIP: VIP, selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 8000, protocol: 'TCP' }] },
  };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-a',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'web' },
      annotations: { [TRIGGER_TIME_ANNOTATION]: new Date().toISOString() },
    },
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({ addresses: [p.ip], conditions: { ready: true }, nodeName: 'node1' })),
    ports: [{ name: 'http', port: 8000, protocol: 'TCP' }],
  };
  writeFileSync(join(manifests, 'web.yaml'), [svc, slice].map((d) => stringify(d)).join('---\n'));
  await waitFor('Service programmed', async () => (await scrape()).value('kpx_map_entries', { map: MAP_NAMES.services }) === 3);
});

after(async () => {
  probe?.close();
  agent?.kill('SIGKILL');
  if (agent && agent.exitCode === null) await new Promise((r) => agent!.once('exit', r));
  teardownLab(PREFIX);
  if (logFd !== undefined) closeSync(logFd);
  rmSync(PIN_DIR, { recursive: true, force: true });
  removeStateDir(PIN_DIR);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('/metrics over HTTP: a client pod\'s connections show on its Service\'s frontend and in the reason counters (P1, A2)', async () => {
  const before = await scrape();
  probe = new Probe(lab.pods.find((p) => p.name === 'client')!.ns);
  const res = await probe.http(VIP, 8080, CONNECTIONS);
  assert.ok(res.ok, res.error);
  const s = await scrape();
  const moved = (name: string, labels: Record<string, string>) => (s.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);

  // Every connection is exactly one new flow; each sent at least SYN, ACK and its request.
  assert.equal(moved('kpx_service_new_connections_total', web), CONNECTIONS);
  assert.equal(moved('kpx_datapath_packets_total', { reason: 'FWD_NEW_FLOW' }), CONNECTIONS);
  const packets = moved('kpx_service_packets_total', web);
  assert.ok(packets >= 3 * CONNECTIONS, `packets ${packets}`);
  assert.ok(moved('kpx_service_bytes_total', web) >= 54 * packets, 'at least an Ethernet, IPv4 and TCP header each');
  assert.equal(moved('kpx_service_drops_total', web), 0);
  // Replies went through reverse NAT, attributed to no frontend.
  assert.ok(moved('kpx_datapath_packets_total', { reason: 'FWD_REPLY' }) >= 2 * CONNECTIONS);
});

test('/metrics over HTTP: a connection from the node itself is a new connection of the frontend (socket hooks)', async () => {
  const before = await scrape();
  const r = await fetchInNode(`http://${VIP}:8080/`);
  assert.equal(r.status, 200, r.error);
  const s = await scrape();
  const moved = (name: string, labels: Record<string, string>) => (s.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
  assert.equal(moved('kpx_service_new_connections_total', web), 1);
  assert.equal(moved('kpx_datapath_packets_total', { reason: 'SOCK_TRANSLATED' }), 1);
  assert.equal(moved('kpx_service_packets_total', web), 0, 'node-originated packets cross no packet program as the frontend\'s');
});

test('/metrics over HTTP: network programming latency observed once for the annotated slice; change counters; map fill', async () => {
  const s = await scrape();
  assert.equal(s.value('kubeproxy_network_programming_duration_seconds_count'), 1);
  assert.equal(s.meta('kubeproxy_network_programming_duration_seconds').type, 'histogram');
  assert.equal(s.value('kubeproxy_sync_proxy_rules_service_changes_total'), 1);
  assert.equal(s.value('kubeproxy_sync_proxy_rules_endpoint_changes_total'), 1);
  assert.ok((s.value('kubeproxy_sync_proxy_rules_last_timestamp_seconds') ?? 0) > 0);
  assert.ok((s.value('kubeproxy_sync_proxy_rules_duration_seconds_count') ?? 0) >= 1);
  assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.services }), 3, 'slot 0 and two backend slots');
  assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.backends }), 2);
  assert.ok((s.value('kpx_map_entries', { map: MAP_NAMES.conntrack }) ?? 0) >= 2 * CONNECTIONS);
  assert.equal(s.value('kpx_map_capacity', { map: MAP_NAMES.conntrack }), 262144);
  assert.equal(s.value('kpx_map_capacity', { map: MAP_NAMES.svcStatsDense }), 16384);
  assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.svcStats }), 0, 'a small frontend id is counted in the array');
});
