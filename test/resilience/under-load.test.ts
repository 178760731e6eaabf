// "Never drop a connection" (C5), measured: the two-node lab under steady load — new
// connections at 100/s through a ClusterIP from a pod and through a NodePort from the
// external client, long-lived keep-alive connections and connected UDP flows with a
// message every 100 ms — while both agents are killed with SIGKILL and restarted, and
// while they are restarted with a new build of the datapath object. Nothing may fail.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MAP_NAMES, PROGRAM_NAMES } from '../../src/datapath/abi.js';
import { PROGRAM_PIN_SUBDIR } from '../../src/datapath/datapath.js';
import { SOCKET_HOOKS, socketHookPin } from '../../src/agent/socket-hooks.js';
import { labDown, labUp, type LabPaths } from '../../src/lab/command.js';
import { NODES } from '../../src/lab/examples.js';
import { Probe } from '../../src/lab/probe-driver.js';
import type { Lab } from '../../src/lab/topology.js';
import { Load, losses, summary } from './load-driver.js';
import type { LoadReport, LoadSpec } from './load.js';
import {
  agentRecords,
  attachedPrograms,
  dumpPinnedMap,
  killAgents,
  metricValue,
  nodeNs,
  pinDirOf,
  pinnedLinkProgId,
  pinnedMapId,
  pinnedProgId,
  progInfo,
  scrapeMetrics,
  startAgent,
  waitForRecord,
  type StartedAgent,
} from './lab-agents.js';
import { buildVariant, type Variant } from './variant-object.js';

const PATHS: LabPaths = { prefix: 'kpxt-res-', stateDir: `/run/kpxt-res-${process.pid}`, pinRoot: `/sys/fs/bpf/kpxt-res-${process.pid}` };
const N1 = NODES[0].addr;
const NODE_NAMES = NODES.map((n) => n.name);
/** A UDP NodePort this test adds, so UDP flows come from outside too. */
const UDP_NODEPORT = 30053;

let lab: Lab;
const loads: Load[] = [];
let variant: Variant | undefined;

function clientNs(): string {
  return lab.pods.find((p) => p.client)!.ns;
}

const POD_LOAD: Partial<LoadSpec> = {
  requests: [{ host: '10.96.0.10', port: 8080, rate: 100 }],
  keepalive: [{ host: '10.96.0.10', port: 8080, count: 3 }],
  udp: [{ host: '10.96.0.13', port: 53, count: 3 }],
};
const EXTERNAL_LOAD: Partial<LoadSpec> = {
  requests: [{ host: N1, port: 30080, rate: 100 }],
  keepalive: [{ host: N1, port: 30080, count: 3 }],
  udp: [{ host: N1, port: UDP_NODEPORT, count: 3 }],
};

before(async () => {
  lab = await labUp({ paths: PATHS, out: () => {}, hostPrefixes: [] });
  // web's pods (one per node) also answer UDP on 8000: a UDP NodePort in front of them.
  const doc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'res-udp', namespace: 'default' },
    spec: { type: 'NodePort', clusterIP: '10.96.0.50', selector: { app: 'web' }, ports: [{ name: 'u', port: 53, targetPort: 8000, protocol: 'UDP', nodePort: UDP_NODEPORT }] },
  };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'res-udp-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'res-udp' } },
    addressType: 'IPv4',
    endpoints: lab.pods.filter((p) => p.name.startsWith('web-')).map((p) => ({ addresses: [p.ip], conditions: { ready: true }, nodeName: p.node })),
    ports: [{ name: 'u', port: 8000, protocol: 'UDP' }],
  };
  appendFileSync(join(PATHS.stateDir, 'manifests', 'lab.yaml'), `---\n${stringify(doc)}---\n${stringify(slice)}`);
  const probe = new Probe(lab.externalNs!);
  try {
    const deadline = Date.now() + 10_000;
    while (!(await probe.udp(N1, UDP_NODEPORT, 1)).ok) {
      if (Date.now() > deadline) throw new Error('UDP NodePort never answered');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    probe.close();
  }
});

after(() => {
  for (const l of loads) l.kill();
  labDown(PATHS, () => {});
  rmSync(PATHS.stateDir, { recursive: true, force: true });
  variant?.remove();
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Restarted {
  reports: LoadReport[];
  agents: StartedAgent[];
  /** From the kill to each agent's "ready", ms (reported, not asserted). */
  readyAfterMs: number[];
}

/** Runs both loads; meanwhile kill -9 both agents and start them again with `extra` flags. */
async function restartUnderLoad(extra: string[]): Promise<Restarted> {
  const pod = await Load.start(clientNs(), POD_LOAD);
  loads.push(pod);
  const ext = await Load.start(lab.externalNs!, EXTERNAL_LOAD);
  loads.push(ext);
  await sleep(1500);
  const killedAt = Date.now();
  for (const n of NODE_NAMES) await killAgents(nodeNs(lab, n));
  await sleep(500); // no agent at all for a while: the datapath runs on its own
  const agents = NODE_NAMES.map((n) => startAgent(lab, PATHS, n, extra));
  const readyAfterMs: number[] = [];
  for (const a of agents) {
    await waitForRecord(a, (r) => r.msg === 'ready', '"ready"', 60_000);
    readyAfterMs.push(Date.now() - killedAt);
  }
  await sleep(1500);
  const reports = [await pod.stop(), await ext.stop()];
  return { reports, agents, readyAfterMs };
}

/** The restarted agent took the pinned state over and wrote nothing to the maps. */
function assertAdoptedWithoutRewrite(a: StartedAgent): void {
  const recs = agentRecords(a);
  const loaded = recs.find((r) => r.msg === 'datapath loaded');
  assert.ok(loaded, `${a.node}: "datapath loaded" logged`);
  assert.ok(Number(loaded.adoptedFrontends) > 0, `${a.node}: adoptedFrontends ${String(loaded.adoptedFrontends)} > 0`);
  const firstSync = recs.find((r) => r.msg === 'synced');
  assert.ok(firstSync, `${a.node}: a sync logged`);
  assert.equal(firstSync.full, true, 'the first sync is a full one');
  assert.equal(firstSync.writes, 0, `${a.node}: first sync rewrote nothing`);
  const m = scrapeMetrics(nodeNs(lab, a.node));
  assert.equal(metricValue(m, 'kpx_map_writes_total'), 0, `${a.node}: kpx_map_writes_total`);
}

function report(t: TestContext, r: Restarted): void {
  for (const rep of r.reports) t.diagnostic(summary(rep));
  t.diagnostic(`agents ready ${r.readyAfterMs.map((ms) => `${ms} ms`).join(', ')} after the kill`);
}

test('C5: kill -9 and restart of both agents under load loses no request, connection or datagram; the pinned state is adopted, not rewritten', async (t) => {
  const r = await restartUnderLoad([]);
  report(t, r);
  for (const rep of r.reports) {
    assert.deepEqual(losses(rep), [], summary(rep));
    for (const s of rep.requests) assert.ok(s.sent > 0 && s.ok === s.sent);
    for (const s of rep.keepalive) assert.equal(s.broken, 0);
    for (const s of rep.udp) assert.equal(s.answered, s.sent);
  }
  for (const a of r.agents) assertAdoptedWithoutRewrite(a);
});

interface Hooks {
  /** Hook ("kv-web-0 clsact/ingress", "eth1 xdp") -> program id and tag (read while it lives). */
  attached: Map<string, { id: number; tag: string; name: string; map_ids?: number[] }>;
  links: Map<string, number>;
}

function hooksOf(node: string): Hooks {
  const links = new Map<string, number>();
  for (const [type] of SOCKET_HOOKS) links.set(type, pinnedLinkProgId(socketHookPin(pinDirOf(PATHS, node), type)));
  const attached = new Map([...attachedPrograms(nodeNs(lab, node))].map(([hook, id]) => [hook, progInfo(id)]));
  return { attached, links };
}

function mapIds(node: string): Record<string, number> {
  return Object.fromEntries(Object.values(MAP_NAMES).map((m) => [m, pinnedMapId(join(pinDirOf(PATHS, node), m))]));
}

test('upgrade: restarting both agents with a new build of the datapath under load loses nothing; every hook runs the new programs over the same maps', async (t) => {
  variant = buildVariant(['-DKPX_SELECT_PROBES=7']);
  const before = new Map(NODE_NAMES.map((n) => [n, { hooks: hooksOf(n), maps: mapIds(n), services: dumpPinnedMap(join(pinDirOf(PATHS, n), MAP_NAMES.services)), backends: dumpPinnedMap(join(pinDirOf(PATHS, n), MAP_NAMES.backends)) }]));

  const r = await restartUnderLoad(['--datapath-object', variant.path]);
  report(t, r);
  for (const rep of r.reports) assert.deepEqual(losses(rep), [], summary(rep));

  for (const a of r.agents) {
    assertAdoptedWithoutRewrite(a);
    const loaded = agentRecords(a).find((x) => x.msg === 'datapath loaded')!;
    assert.equal(loaded.object, variant.path, 'the agent loaded the new build');
  }
  for (const n of NODE_NAMES) {
    const old = before.get(n)!;
    const now = hooksOf(n);
    const pins = join(pinDirOf(PATHS, n), PROGRAM_PIN_SUBDIR);
    // Every hook (pod veths' tc ingress/egress, eth1's XDP, the cgroup socket hooks) moved
    // to a new program, and it is the one the new agent pinned as current.
    assert.deepEqual([...now.attached.keys()].sort(), [...old.hooks.attached.keys()].sort(), `${n}: same hooks`);
    for (const [hook, info] of now.attached) {
      assert.notEqual(info.id, old.hooks.attached.get(hook)?.id, `${n} ${hook}: new program`);
      assert.equal(pinnedProgId(join(pins, info.name)), info.id, `${n} ${hook}: runs the pinned (current) ${info.name}`);
    }
    for (const [type, id] of now.links) assert.notEqual(id, old.hooks.links.get(type), `${n} cgroup ${type}: new program`);
    // The build differs in the backend selection loop: the programs that select differ.
    const podHook = [...now.attached.keys()].find((k) => k.startsWith('kv-') && k.endsWith('clsact/ingress'))!;
    const fromPod = now.attached.get(podHook)!;
    const oldFromPod = old.hooks.attached.get(podHook)!;
    assert.equal(fromPod.name, PROGRAM_NAMES.fromPod);
    assert.notEqual(fromPod.tag, oldFromPod.tag, `${n}: kpx_from_pod's code changed (tag)`);
    // Same maps (ids), same contents, and the new programs use them.
    assert.deepEqual(mapIds(n), old.maps, `${n}: every map kept (same ids)`);
    assert.deepEqual(dumpPinnedMap(join(pinDirOf(PATHS, n), MAP_NAMES.services)), old.services, `${n}: services unchanged`);
    assert.deepEqual(dumpPinnedMap(join(pinDirOf(PATHS, n), MAP_NAMES.backends)), old.backends, `${n}: backends unchanged`);
    assert.ok(fromPod.map_ids?.includes(old.maps[MAP_NAMES.services]!), `${n}: the new program reads the same services map`);
  }
});
