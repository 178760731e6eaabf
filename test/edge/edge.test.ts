// The node's edge, with real traffic in the two-node lab (the same lab `kpx lab` builds,
// under its own prefix): NodePort, externalIP, LoadBalancer IP, hostPort, traffic
// policies, reject, hairpin and node-originated traffic, from pods, nodes and outside.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { labDown, labUp, type LabPaths } from '../../src/lab/command.js';
import { LAB_NET, NODES, labManifests } from '../../src/lab/examples.js';
import { Probe, type ProbeResult } from '../../src/lab/probe-driver.js';
import type { Lab } from '../../src/lab/topology.js';

const PATHS: LabPaths = { prefix: 'kpxt-edge-', stateDir: `/run/kpxt-edge-${process.pid}`, pinRoot: `/sys/fs/bpf/kpxt-edge-${process.pid}` };
const N1 = NODES[0].addr;
const N2 = NODES[1].addr;

let lab: Lab;
const probes = new Map<string, Probe>();

function probe(from: 'pod' | 'node1' | 'node2' | 'external' | string): Probe {
  const ns =
    from === 'pod'
      ? lab.pods.find((p) => p.client)!.ns
      : from === 'external'
        ? lab.externalNs!
        : (lab.nodes.find((n) => n.name === from)?.ns ?? lab.pods.find((p) => p.name === from)!.ns);
  let p = probes.get(ns);
  if (!p) probes.set(ns, (p = new Probe(ns)));
  return p;
}

function podsOf(r: ProbeResult): string[] {
  return [...new Set(r.answers.map((a) => a.pod))].sort();
}

function clientsSeen(r: ProbeResult): string[] {
  return [...new Set(r.answers.map((a) => a.client.replace(/:\d+$/, '')))].sort();
}

function ip(pod: string): string {
  return lab.pods.find((p) => p.name === pod)!.ip;
}

/** Rewrites the lab's manifest file with extra documents; both agents follow it. */
function applyExtra(docs: object[]): void {
  const all = [...labManifests(lab), ...docs];
  writeFileSync(join(PATHS.stateDir, 'manifests', 'lab.yaml'), all.map((d) => stringify(d)).join('---\n'));
}

async function eventually(fn: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  lab = await labUp({ paths: PATHS, out: () => {}, hostPrefixes: [] });
});

after(() => {
  for (const p of probes.values()) p.close();
  labDown(PATHS, () => {});
  rmSync(PATHS.stateDir, { recursive: true, force: true });
});

test('P4: NodePort answers on every node address, from outside, from pods and from the node itself', async () => {
  for (const [from, addr] of [
    ['external', N1],
    ['external', N2],
    ['pod', N1],
    ['pod', N2],
    ['node1', N1],
    ['node2', N1],
  ] as const) {
    const r = await probe(from).http(addr, 30080, 20);
    assert.ok(r.ok, `${from} -> ${addr}:30080: ${r.error}`);
    assert.deepEqual(podsOf(r), ['web-0', 'web-1'], `${from} -> ${addr}:30080 reaches both backends`);
  }
});

test('T4: external NodePort traffic keeps the client address on a local backend and is SNATed to the node for a remote one', async () => {
  const r = await probe('external').http(N1, 30080, 30);
  assert.ok(r.ok, r.error);
  for (const a of r.answers) {
    const seen = a.client.replace(/:\d+$/, '');
    if (a.pod === 'web-0') assert.equal(seen, LAB_NET.client, 'local backend sees the client');
    else assert.equal(seen, N1, 'remote backend sees node1');
  }
});

test('externalIP on no interface and the LB ingress IP carry traffic from outside', async () => {
  const e = await probe('external').http(LAB_NET.externalIP, 80, 10);
  assert.ok(e.ok, e.error);
  assert.deepEqual(podsOf(e), ['web-0', 'web-1']);
  const lb = await probe('external').http(LAB_NET.lbIP, 80, 10);
  assert.ok(lb.ok, lb.error);
  assert.deepEqual(podsOf(lb), ['lb-0']);
});

test('T1: eTP Local keeps the client address and drops (timeout) on a node without local endpoints', async () => {
  const lb = await probe('external').http(LAB_NET.lbIP, 80, 10);
  assert.deepEqual(clientsSeen(lb), [LAB_NET.client]);
  const np1 = await probe('external').http(N1, 30090, 5);
  assert.ok(np1.ok, np1.error);
  assert.deepEqual(clientsSeen(np1), [LAB_NET.client]);
  const np2 = await probe('external').http(N2, 30090, 1);
  assert.equal(np2.ok, false);
  assert.match(np2.error ?? '', /timeout/, 'dropped, not rejected');
});

test('T2: pods on a node without local endpoints reach an eTP-Local NodePort and LB IP (short-circuited to all endpoints)', async () => {
  // db-0 runs on node2, which has no lb endpoint: external traffic to node2 is dropped (T1),
  // but node2's own pods are sent to every endpoint.
  for (const [addr, port] of [
    [N2, 30090],
    [LAB_NET.lbIP, 80],
  ] as const) {
    const r = await probe('db-0').http(addr, port, 5);
    assert.ok(r.ok, `${addr}:${port}: ${r.error}`);
    assert.deepEqual(podsOf(r), ['lb-0']);
  }
});

test('T6: healthCheckNodePort answers 200 with local endpoints and 503 without, from anywhere', async () => {
  const ok = await probe('external').http(N1, 32000, 1);
  assert.ok(ok.ok, ok.error);
  assert.equal(ok.answers[0]!.status, 200);
  const no = await probe('external').http(N2, 32000, 1);
  assert.ok(no.ok, no.error);
  assert.equal(no.answers[0]!.status, 503);
});

test('T3: iTP Local uses only local endpoints; none local drops', async () => {
  applyExtra([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'itp', namespace: 'default' },
      spec: { clusterIP: '10.96.0.40', internalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8000 }], selector: { app: 'x' } },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'itp-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'itp' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip('web-1')], conditions: { ready: true }, nodeName: 'node2' }],
      ports: [{ name: '', port: 8000, protocol: 'TCP' }],
    },
  ]);
  await eventually(async () => (await probe('node2').http('10.96.0.40', 80, 1)).ok, 'iTP service on node2');
  // Until node1's agent has programmed it, the VIP is unroutable there (ENETUNREACH);
  // once programmed, the client pod on node1 (no local endpoint) is dropped: a timeout.
  await eventually(async () => (await probe('pod').http('10.96.0.40', 80, 1)).error !== 'ENETUNREACH', 'iTP service on node1');
  const fromNode1Pod = await probe('pod').http('10.96.0.40', 80, 1);
  assert.equal(fromNode1Pod.ok, false, 'client pod on node1 has no local endpoint');
  assert.match(fromNode1Pod.error ?? '', /timeout/);
});

test('T5: loadBalancerSourceRanges drop sources outside the ranges on the LB IP only', async () => {
  applyExtra([]); // base manifests
  const docs = labManifests(lab).map((d) => {
    const o = d as { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> };
    if (o.kind === 'Service' && o.metadata?.name === 'lb') return { ...o, spec: { ...o.spec, loadBalancerSourceRanges: [' 10.99.0.0/16 '] } };
    return d;
  });
  writeFileSync(join(PATHS.stateDir, 'manifests', 'lab.yaml'), docs.map((d) => stringify(d)).join('---\n'));
  await eventually(async () => !(await probe('external').http(LAB_NET.lbIP, 80, 1)).ok, 'source range applied');
  const np = await probe('external').http(N1, 30090, 1);
  assert.ok(np.ok, 'NodePort is not filtered by source ranges');
  const allowAll = docs.map((d) => {
    const o = d as { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> };
    if (o.kind === 'Service' && o.metadata?.name === 'lb') return { ...o, spec: { ...o.spec, loadBalancerSourceRanges: ['0.0.0.0/0'] } };
    return d;
  });
  writeFileSync(join(PATHS.stateDir, 'manifests', 'lab.yaml'), allowAll.map((d) => stringify(d)).join('---\n'));
  await eventually(async () => (await probe('external').http(LAB_NET.lbIP, 80, 1)).ok, '0.0.0.0/0 allows all');
  applyExtra([]);
});

test('N1: a Service without endpoints is refused at once on every entry point; N2 cases time out instead', async () => {
  applyExtra([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'none', namespace: 'default' },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.41', selector: { app: 'none' }, ports: [{ name: 't', port: 80, targetPort: 8000, nodePort: 30100 }, { name: 'u', port: 80, targetPort: 8000, nodePort: 30100, protocol: 'UDP' }] },
      status: { loadBalancer: { ingress: [{ ip: '10.255.1.41' }] } },
    },
  ]);
  await eventually(async () => (await probe('pod').http('10.96.0.41', 80, 1)).error === 'ECONNREFUSED', 'none programmed');
  for (const [from, addr, port] of [
    ['pod', '10.96.0.41', 80],
    ['pod', N1, 30100],
    ['external', N1, 30100],
    ['external', '10.255.1.41', 80],
    ['node1', '10.96.0.41', 80],
  ] as const) {
    const r = await probe(from).http(addr, port, 1);
    assert.equal(r.error, 'ECONNREFUSED', `TCP ${from} -> ${addr}:${port}`);
  }
  const u = await probe('pod').udp('10.96.0.41', 80, 1);
  assert.equal(u.error, 'ECONNREFUSED', 'UDP gets ICMP port unreachable');
  const ue = await probe('external').udp(N1, 30100, 1);
  assert.equal(ue.error, 'ECONNREFUSED', 'UDP from outside gets ICMP port unreachable');
});

test('hairpin: a pod reaching itself through its own Service lands on itself and gets its reply', async () => {
  applyExtra([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'self', namespace: 'default' },
      spec: { clusterIP: '10.96.0.42', selector: { app: 'self' }, ports: [{ port: 80, targetPort: 8000 }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'self-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'self' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip('web-0')], conditions: { ready: true }, nodeName: 'node1' }],
      ports: [{ name: '', port: 8000, protocol: 'TCP' }],
    },
  ]);
  const p = probe('web-0');
  await eventually(async () => (await p.http('10.96.0.42', 80, 1)).ok, 'hairpin works');
  const r = await p.http('10.96.0.42', 80, 5);
  assert.deepEqual(podsOf(r), ['web-0']);
});

test('hostPort: a container exposing 8000 on its host answers on the node address', async () => {
  const r = await probe('external').http(N2, 8000, 5);
  assert.ok(r.ok, r.error);
  assert.deepEqual(podsOf(r), ['host-0']);
});

test('node-originated traffic reaches ClusterIPs and NodePorts (socket hooks)', async () => {
  const c = await probe('node2').http('10.96.0.10', 8080, 20);
  assert.ok(c.ok, c.error);
  assert.deepEqual(podsOf(c), ['hdls-0', 'hdls-1', 'hdls-2']);
  const n = await probe('node2').http(N2, 30080, 10);
  assert.ok(n.ok, n.error);
  const udp = await probe('node1').udp('10.96.0.13', 53, 5);
  assert.ok(udp.ok, udp.error);
});

test('A1: ClientIP affinity holds on NodePort frontends', async () => {
  applyExtra([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sticky-np', namespace: 'default' },
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.0.43',
        selector: { app: 'web' },
        sessionAffinity: 'ClientIP',
        ports: [{ port: 80, targetPort: 8000, nodePort: 30110 }],
      },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'sticky-np-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'sticky-np' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: [ip('web-0')], conditions: { ready: true }, nodeName: 'node1' },
        { addresses: [ip('web-1')], conditions: { ready: true }, nodeName: 'node2' },
      ],
      ports: [{ name: '', port: 8000, protocol: 'TCP' }],
    },
  ]);
  await eventually(async () => (await probe('external').http(N1, 30110, 1)).ok, 'sticky NodePort');
  const r = await probe('external').http(N1, 30110, 20);
  assert.equal(podsOf(r).length, 1);
});
