// SNAT ports with real traffic in the two-node lab: with a pool of only POOL ports
// (--snat-port-range), many more sequential new connections from outside to a backend on
// the other node succeed than the pool holds, because a closed flow's port is reused
// (bpf/snat.h, bpf/conntrack.h): at once after the client closed first; when the backend
// closed first, only past a 10 s hold and only when no other port is free, because the
// backend's TIME_WAIT socket may refuse the reused tuple (PAWS) and cost a resent SYN.
// No connection may fail or be dropped for want of a port; client first, none stalls.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { labDown, labUp, type LabPaths } from '../../src/lab/command.js';
import { NODES, labManifests } from '../../src/lab/examples.js';
import { execIn } from '../../src/lab/netns.js';
import { Probe, type ProbeResult } from '../../src/lab/probe-driver.js';
import type { Lab } from '../../src/lab/topology.js';

const PATHS: LabPaths = { prefix: 'kpxt-snat-', stateDir: `/run/kpxt-snat-${process.pid}`, pinRoot: `/sys/fs/bpf/kpxt-snat-${process.pid}` };
const KPX_BIN = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));
const N1 = NODES[0].addr;
const POOL = 8;
const PORT_MIN = 61000;
const NODE_PORT = 30085;
// The backend's TIME_WAIT hold under pressure: KPX_CT_RECLAIM_TIME_WAIT_S in bpf/constants.h.
const RECLAIM_TIME_WAIT_S = 10;

let lab: Lab;
let client: Probe;

/** Writes the lab's manifests plus a NodePort Service whose only endpoint is web-1 (node2). */
function addRemoteOnlyService(): void {
  const web1 = lab.pods.find((p) => p.name === 'web-1')!;
  const docs = [
    ...labManifests(lab),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'remote-only', namespace: 'default' },
      spec: { type: 'NodePort', clusterIP: '10.96.0.45', ports: [{ name: 'http', port: 80, targetPort: 8000, nodePort: NODE_PORT }], selector: { app: 'x' } },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'remote-only-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'remote-only' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [web1.ip], conditions: { ready: true }, nodeName: 'node2' }],
      ports: [{ name: 'http', port: 8000, protocol: 'TCP' }],
    },
  ];
  writeFileSync(join(PATHS.stateDir, 'manifests', 'lab.yaml'), docs.map((d) => stringify(d)).join('---\n'));
}

/** node1's datapath counter of one reason. */
function node1Counter(reason: string): number {
  const ns = lab.nodes.find((n) => n.name === 'node1')!.ns;
  const out = execIn(ns, process.execPath, [KPX_BIN, 'inspect', 'counters', '--bpffs-dir', join(PATHS.pinRoot, 'node1'), '-o', 'json']);
  const rows = JSON.parse(out) as Array<{ reason: string; packets: string }>;
  return Number(rows.find((r) => r.reason === reason)?.packets ?? 0);
}

/** A TcpExt counter of a namespace's TCP stack (/proc/net/netstat). */
function tcpExt(ns: string, name: string): number {
  const lines = execIn(ns, 'cat', ['/proc/net/netstat'])
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf(name)]);
}

/** SYNs the external client had to send again. */
const clientSynRetrans = (): number => tcpExt(lab.externalNs!, 'TCPSynRetrans');
/** SYNs the backend pod refused because they reused the tuple of one of its TIME_WAIT sockets
 *  with an older timestamp (PAWS): the client resends them a second later. */
const backendPawsTimewait = (): number => tcpExt(lab.pods.find((p) => p.name === 'web-1')!.ns, 'PAWSTimewait');

/** Every answer came from web-1, through a SNAT port of the pool; the ports it used. */
function snatPortsOf(r: ProbeResult, count: number): Set<number> {
  assert.ok(r.ok, r.error);
  assert.equal(r.answers.length, count);
  const ports = new Set<number>();
  for (const a of r.answers) {
    assert.equal(a.pod, 'web-1');
    const [addr, port] = a.client.split(':');
    assert.equal(addr, N1, 'the remote backend sees node1');
    assert.ok(Number(port) >= PORT_MIN && Number(port) < PORT_MIN + POOL, `SNAT port ${port} in the pool`);
    ports.add(Number(port));
  }
  return ports;
}

async function eventually(fn: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  lab = await labUp({ paths: PATHS, out: () => {}, hostPrefixes: [], agentFlags: ['--snat-port-range', `${PORT_MIN}-${PORT_MIN + POOL - 1}`] });
  client = new Probe(lab.externalNs!);
  addRemoteOnlyService();
  await eventually(async () => (await client.http(N1, NODE_PORT, 1)).ok, 'the remote-only NodePort answers');
});

after(() => {
  client?.close();
  labDown(PATHS, () => {});
  rmSync(PATHS.stateDir, { recursive: true, force: true });
});

test(`client closes first: ${POOL * 6} sequential new connections through a pool of ${POOL} SNAT ports, none dropped or resent (T4)`, async () => {
  const drops = node1Counter('DROP_SNAT_PORTS_EXHAUSTED');
  const synRetrans = clientSynRetrans();
  const n = POOL * 6;
  const ports = snatPortsOf(await client.http(N1, NODE_PORT, n, 'client'), n);
  assert.ok(ports.size <= POOL);
  assert.equal(node1Counter('DROP_SNAT_PORTS_EXHAUSTED') - drops, 0, 'no flow dropped for want of a port');
  assert.equal(clientSynRetrans() - synRetrans, 0, 'no SYN had to be resent');
});

test(`backend closes first: ${POOL} connections take ${POOL} ports, held for the backend's TIME_WAIT; ${POOL} more reuse them under pressure after 10 s, none dropped (T4)`, async () => {
  // Let the client-first flows of the other test end their grace, so that the pool is
  // all this test's.
  await new Promise((r) => setTimeout(r, 2000));
  const drops = node1Counter('DROP_SNAT_PORTS_EXHAUSTED');
  const synRetrans = clientSynRetrans();
  const paws = backendPawsTimewait();
  const first = snatPortsOf(await client.http(N1, NODE_PORT, POOL, 'server'), POOL);
  assert.equal(first.size, POOL, 'one port per connection: a port in the backend\'s TIME_WAIT is not reused while others are free');
  assert.equal(clientSynRetrans() - synRetrans, 0, 'fresh tuples: no SYN had to be resent');
  // Every port is now in the backend's TIME_WAIT (60 s). Past the 10 s hold, a new flow
  // takes one rather than being dropped.
  await new Promise((r) => setTimeout(r, (RECLAIM_TIME_WAIT_S + 1) * 1000));
  const second = snatPortsOf(await client.http(N1, NODE_PORT, POOL, 'server'), POOL);
  assert.deepEqual([...second].sort(), [...first].sort(), 'the same ports, reused');
  assert.equal(node1Counter('DROP_SNAT_PORTS_EXHAUSTED') - drops, 0, 'no flow dropped for want of a port');
  // The cost kpx trades a drop for: the backend refuses a reused tuple whose SYN carries
  // an older timestamp (about half of them) and the client resends it. Nothing else stalls.
  assert.equal(clientSynRetrans() - synRetrans, backendPawsTimewait() - paws, 'every resent SYN is one the backend\'s TIME_WAIT refused');
});
