// Failure handling with real traffic, on a one-node lab whose agent runs with small maps
// (--map-size services=24) and a low per-Service backend limit: a full map, a Service
// with too many backends, and an interface kpx cannot attach to. Each is reported (log
// line naming what failed, a metric), and everything else keeps working.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BpfMap } from '../../native/index.js';
import { decodeBackend, decodeSvcKey, decodeSvcValue, MAP_NAMES } from '../../src/datapath/abi.js';
import { execIn, ipIn } from '../../src/lab/netns.js';
import { Probe } from '../../src/lab/probe-driver.js';
import { buildLab, POD_IF_PREFIX, teardownLab, type Lab } from '../../src/lab/topology.js';
import { removeStateDir } from '../../src/inspect/owners-file.js';
import { service, slice } from '../traffic/harness.js';
import { agentRecords, attachedPrograms, metricValue, scrapeMetrics, spawnAgent, waitForRecord, type StartedAgent } from './lab-agents.js';

const PREFIX = 'kpxt-resf-';
const PINS = `/sys/fs/bpf/kpxt-resf-${process.pid}`;
const SERVICES_CAP = 24; // 8 Services of one ClusterIP port with 2 backends: 3 entries each (slot 0 + 2 slots)
const MAX_BACKENDS = 4;

let lab: Lab;
let work: string;
let manifests: string;
let agent: StartedAgent;
let probe: Probe;

const ns = (): string => lab.nodes[0]!.ns;
const ip = (pod: string): string => lab.pods.find((p) => p.name === pod)!.ip;
const vip = (i: number): string => `10.97.1.${i + 1}`;
const svcName = (i: number): string => `svc-${String(i).padStart(2, '0')}`;
const PORTS = [{ port: 80, targetPort: 8000 }];
const SLICE_PORTS = [{ port: 8000 }];
const WEB = () => [
  { name: 'web-0', ip: ip('web-0') },
  { name: 'web-1', ip: ip('web-1') },
];

/** Service i: ClusterIP vip(i):80 -> web-0, web-1 (3 entries in the services map, 2 backends). */
function writeServices(indexes: number[], file = 'many.yaml'): void {
  const docs = indexes.flatMap((i) => [service(svcName(i), vip(i), PORTS), slice(svcName(i), WEB(), SLICE_PORTS)]);
  writeFileSync(join(manifests, file), docs.map((d) => stringify(d)).join('---\n'));
}

async function until(fn: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answers(addr: string): Promise<boolean> {
  return (await probe.http(addr, 80, 1)).ok;
}

function metrics(): string {
  return scrapeMetrics(ns());
}

/** Per frontend svcId in the pinned maps: slot-0 count, slots present, backends present. */
function held(): Map<number, { count?: number; slots: number; backends: number }> {
  const services = BpfMap.openPinned(join(PINS, MAP_NAMES.services));
  const backends = BpfMap.openPinned(join(PINS, MAP_NAMES.backends));
  try {
    const m = new Map<number, { count?: number; slots: number; backends: number }>();
    const get = (id: number) => m.get(id) ?? (m.set(id, { slots: 0, backends: 0 }), m.get(id)!);
    for (const [k, v] of services.entries()) {
      const val = decodeSvcValue(v);
      if (decodeSvcKey(k).slot === 0) get(val.svcId).count = val.count;
      else get(val.svcId).slots++;
    }
    for (const [, v] of backends.entries()) get(decodeBackend(v).svcId).backends++;
    return m;
  } finally {
    services.close();
    backends.close();
  }
}

before(async () => {
  teardownLab(PREFIX);
  work = mkdtempSync(join(tmpdir(), PREFIX));
  manifests = join(work, 'manifests');
  mkdirSync(manifests);
  lab = await buildLab({
    prefix: PREFIX,
    nodes: [{ name: 'node1', podCidr: '10.246.1.0/24' }],
    pods: [
      { name: 'web-0', node: 'node1', tcpPorts: [8000] },
      { name: 'web-1', node: 'node1', tcpPorts: [8000] },
      { name: 'web-2', node: 'node1', tcpPorts: [8000] },
      { name: 'client', node: 'node1', client: true },
    ],
  });
  writeServices([0, 1, 2, 3]);
  agent = spawnAgent(
    ns(),
    'node1',
    [
      '--manifests', manifests,
      '--node-name', 'node1',
      '--pod-interfaces', `${POD_IF_PREFIX}*`,
      '--bpffs-dir', PINS,
      '--service-cidr', '10.97.0.0/16',
      '--map-size', `services=${SERVICES_CAP},backends=64`,
      '--max-backends-per-service', String(MAX_BACKENDS),
      '--metrics-bind-address', '127.0.0.1:10249',
      '--healthz-bind-address', '127.0.0.1:10256',
      '--log-level', 'debug',
    ],
    join(work, 'agent.log'),
  );
  await waitForRecord(agent, (r) => r.msg === 'ready', '"ready"', 60_000);
  probe = new Probe(lab.pods.find((p) => p.client)!.ns);
  await until(() => answers(vip(0)), 'first Services answer');
});

after(() => {
  probe?.close();
  teardownLab(PREFIX); // kills the agent and the pods with their namespaces
  removeStateDir(PINS);
  rmSync(PINS, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

test('map full: the Services that fit work, the rest are named in the error and absent (never half-written), a metric counts it, and they are programmed once there is room', async () => {
  writeServices([...Array(12).keys()]); // 12 x 3 entries; the map holds 24: 8 fit
  const failure = await waitForRecord(agent, (r) => r.msg === 'sync failed; retrying with a full sync', 'the map-full error');
  const err = failure.err as { code: string; message: string };
  assert.equal(err.code, 'KPX_MAP_FULL');
  assert.match(err.message, /map kpx_services_v1 is full: 4 Service\(s\) not programmed: default\/svc-08, default\/svc-09, default\/svc-10, default\/svc-11;/);
  const m = metrics();
  assert.ok((metricValue(m, 'kpx_map_full_total{map="kpx_services_v1"}') ?? 0) >= 1, 'kpx_map_full_total{map="kpx_services_v1"}');
  assert.ok((metricValue(m, 'kpx_sync_errors_total') ?? 0) >= 1, 'kpx_sync_errors_total');

  for (let i = 0; i < 8; i++) assert.ok(await answers(vip(i)), `${svcName(i)} (fitted) answers`);
  for (let i = 8; i < 12; i++) assert.equal(await answers(vip(i)), false, `${svcName(i)} (did not fit) is not programmed`);
  const h = held();
  assert.equal(h.size, 8, 'eight frontends in the maps');
  for (const [id, e] of h) assert.deepEqual(e, { count: 2, slots: 2, backends: 2 }, `frontend ${id} whole`);

  // Room: four Services go; the retried sync programs the four that waited.
  writeServices([...Array(12).keys()].filter((i) => i >= 4));
  await until(async () => (await answers(vip(8))) && (await answers(vip(11))), 'left-out Services programmed once there is room');
  for (let i = 4; i < 12; i++) assert.ok(await answers(vip(i)), `${svcName(i)} answers`);
  for (const [id, e] of held()) assert.deepEqual(e, { count: 2, slots: 2, backends: 2 }, `frontend ${id} whole`);
  writeServices([0, 1, 2, 3]);
  await until(async () => held().size === 4, 'back to four Services');
});

test('too many backends: the Service is named and not programmed (or keeps what it had), a metric counts it, the others are untouched', async () => {
  const pods = ['web-0', 'web-1', 'web-2'].map((n) => ({ name: n, ip: ip(n) }));
  const big = (n: number) => [...pods, ...Array.from({ length: n - 3 }, (_, i) => ({ name: `ghost-${i}`, ip: `10.246.9.${i + 1}` }))];
  const errorsBefore = metricValue(metrics(), 'kpx_object_errors_total') ?? 0;
  const mark = agentRecords(agent).length;
  writeFileSync(
    join(manifests, 'big.yaml'),
    [service('big', '10.97.2.1', PORTS), slice('big', big(MAX_BACKENDS + 2), SLICE_PORTS), service('grow', '10.97.2.2', PORTS), slice('grow', pods.slice(0, 2), SLICE_PORTS)]
      .map((d) => stringify(d))
      .join('---\n'),
  );
  await until(() => answers('10.97.2.2'), '"grow" programmed');
  const rec = await waitForRecord(agent, (r) => r.msg === 'invalid object skipped' && /big/.test(JSON.stringify(r.err)), 'the too-many-backends error', 30_000, mark);
  assert.match((rec.err as { message: string }).message, /default\/big.*6 backends for 10\.97\.2\.1:80\/TCP exceed the limit of 4 per frontend.*not programmed/);
  assert.ok((metricValue(metrics(), 'kpx_object_errors_total') ?? 0) > errorsBefore, 'kpx_object_errors_total counts it');
  assert.equal(await answers('10.97.2.1'), false, '"big" is not programmed');
  for (let i = 0; i < 4; i++) assert.ok(await answers(vip(i)), `${svcName(i)} untouched`);

  // A programmed Service that grows past the limit keeps serving what it had.
  const mark2 = agentRecords(agent).length;
  writeFileSync(
    join(manifests, 'big.yaml'),
    [service('grow', '10.97.2.2', PORTS), slice('grow', big(MAX_BACKENDS + 1), SLICE_PORTS)].map((d) => stringify(d)).join('---\n'),
  );
  await waitForRecord(agent, (r) => r.msg === 'invalid object skipped' && /grow/.test(JSON.stringify(r.err)), '"grow" over the limit', 30_000, mark2);
  const r = await probe.http('10.97.2.2', 80, 20);
  assert.ok(r.ok, r.error);
  assert.deepEqual([...new Set(r.answers.map((a) => a.pod))].sort(), ['web-0', 'web-1'], '"grow" keeps its programmed backends');
  rmSync(join(manifests, 'big.yaml'));
});

test('attach fails on one interface (a legacy "ingress" qdisc): error log and metric for it; every other interface stays attached and serving', async () => {
  // A pod-like veth whose host side carries another tool's `ingress` qdisc: kpx cannot
  // run both its programs there (the kernel would put both into that qdisc's one block).
  // The qdisc goes on under a name kpx does not watch, then the device is renamed into
  // its pattern: created under the pattern, kpx could attach before the qdisc is there.
  ipIn(ns(), 'link', 'add', 'legacy-tmp', 'type', 'veth', 'peer', 'name', 'legacy-peer');
  execIn(ns(), 'tc', ['qdisc', 'add', 'dev', 'legacy-tmp', 'ingress']);
  ipIn(ns(), 'link', 'set', 'legacy-tmp', 'name', 'kv-legacy');
  ipIn(ns(), 'link', 'set', 'kv-legacy', 'up');
  ipIn(ns(), 'link', 'set', 'legacy-peer', 'up');
  const rec = await waitForRecord(agent, (r) => r.msg === 'attach failed; retrying every scan' && r.interface === 'kv-legacy', 'the attach error');
  const err = rec.err as { code: string; message: string };
  assert.equal(err.code, 'KPX_ATTACH');
  assert.match(err.message, /kv-legacy.*qdisc other than clsact.*tc qdisc del dev kv-legacy ingress/);
  await until(() => (metricValue(metrics(), 'kpx_attach_failures_total{interface="kv-legacy"}') ?? 0) >= 2, 'failed attempts counted');
  assert.equal(agentRecords(agent).filter((r) => r.msg === 'attach failed; retrying every scan').length, 1, 'logged once, not on every retry');

  const progs = attachedPrograms(ns());
  assert.equal([...progs.keys()].some((k) => k.startsWith('kv-legacy ')), false, 'nothing of kpx left on kv-legacy');
  for (const pod of lab.pods) {
    assert.ok(progs.has(`${pod.hostIf} clsact/ingress`) && progs.has(`${pod.hostIf} clsact/egress`), `${pod.hostIf} still attached`);
  }
  for (let i = 0; i < 4; i++) assert.ok(await answers(vip(i)), `${svcName(i)} still answers`);

  // The other tool's qdisc goes: the next scan attaches.
  execIn(ns(), 'tc', ['qdisc', 'del', 'dev', 'kv-legacy', 'ingress']);
  await waitForRecord(agent, (r) => r.msg === 'attached' && r.interface === 'kv-legacy', 'attached once the qdisc is gone');
  ipIn(ns(), 'link', 'del', 'kv-legacy');
});
