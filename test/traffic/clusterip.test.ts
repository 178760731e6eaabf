// Real traffic through the real agent: a ClusterIP Service programmed from manifest files
// (the agent's standalone path), reached from a client pod over veth pairs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execIn } from '../../src/lab/netns.js';
import { eventually, service, slice, tally, TestCluster } from './harness.js';

const VIP = '10.97.0.10';
const PORTS = [
  { name: 'http', port: 8080, targetPort: 8000, protocol: 'TCP' as const },
  { name: 'echo', port: 8080, targetPort: 8000, protocol: 'UDP' as const },
];
const SLICE_PORTS = [
  { name: 'http', port: 8000, protocol: 'TCP' as const },
  { name: 'echo', port: 8000, protocol: 'UDP' as const },
];
const BACKENDS = ['web-0', 'web-1', 'web-2'];

let c: TestCluster;

function endpoints(names: string[]) {
  return names.map((n) => ({ name: n, ip: c.pod(n).ip }));
}

function program(names: string[]): void {
  c.writeManifest('web.yaml', [service('web', VIP, PORTS), slice('web', endpoints(names), SLICE_PORTS)]);
}

before(async () => {
  c = await TestCluster.start({
    prefix: 'kpxt-cip-',
    source: 'manifests',
    pods: BACKENDS.map((name) => ({ name, tcpPorts: [8000], udpPorts: [8000] })),
  });
  program(BACKENDS);
  await c.waitForLog(/"msg":"ready"/);
});

after(async () => {
  await c?.stop();
});

test('TCP to ClusterIP:port reaches every backend; each sees the client pod address (A2, T4)', async () => {
  const p = c.probe();
  const res = await p.http(VIP, 8080, 60);
  assert.ok(res.ok, res.error);
  const hits = tally(res.answers);
  assert.deepEqual([...hits.keys()].sort(), BACKENDS);
  for (const a of res.answers) assert.equal(a.client.split(':')[0], c.pod('client').ip);
  for (const a of res.answers) assert.equal(a.port, 8000, 'targetPort 8000');
});

test('UDP to ClusterIP:port reaches every backend with the client address, and replies come from the VIP (P1)', async () => {
  const p = c.probe();
  const res = await p.udp(VIP, 8080, 40);
  assert.ok(res.ok, res.error);
  assert.deepEqual([...tally(res.answers).keys()].sort(), BACKENDS);
  for (const a of res.answers) assert.equal(a.client.split(':')[0], c.pod('client').ip);
});

test('traffic to another port of the VIP is not the service\'s (P1)', async () => {
  const p = c.probe();
  const res = await p.http(VIP, 9090, 1);
  assert.equal(res.ok, false);
});

test('an open connection keeps its backend while others are removed (C1); new connections avoid a removed backend', async () => {
  const p = c.probe();
  await p.send({ op: 'open', id: 'long', host: VIP, port: 8080 });
  const first = await p.send({ op: 'send', id: 'long' });
  assert.ok(first.ok, first.error);
  const mine = first.answers[0]!.pod;
  const others = BACKENDS.filter((b) => b !== mine);
  const removed = others[0]!;

  program(BACKENDS.filter((b) => b !== removed));
  await eventually(async () => {
    const r = await p.http(VIP, 8080, 20);
    return r.ok && !tally(r.answers).has(removed);
  }, 5000, `new connections off ${removed}`);

  for (let i = 0; i < 5; i++) {
    const again = await p.send({ op: 'send', id: 'long' });
    assert.ok(again.ok, again.error);
    assert.equal(again.answers[0]!.pod, mine, 'established connection keeps its backend');
  }
  await p.send({ op: 'close', id: 'long' });
  program(BACKENDS);
});

test('a UDP flow whose backend is removed moves to a live backend (C2)', async () => {
  program(BACKENDS);
  const p = c.probe();
  await p.send({ op: 'udpOpen', id: 'u', host: VIP, port: 8080 });
  const first = await p.send({ op: 'udpSend', id: 'u' });
  assert.ok(first.ok, first.error);
  const mine = first.answers[0]!.pod;
  program(BACKENDS.filter((b) => b !== mine));
  const moved = await eventually(async () => {
    const r = await p.send({ op: 'udpSend', id: 'u' });
    return r.ok && r.answers[0]!.pod !== mine ? r.answers[0]!.pod : undefined;
  }, 5000, 'UDP flow moved');
  assert.ok(BACKENDS.includes(moved));
  program(BACKENDS);
});

test('deleting the Service stops it answering (C4)', async () => {
  const p = c.probe();
  c.removeManifest('web.yaml');
  await eventually(async () => !(await p.http(VIP, 8080, 1)).ok, 5000, 'service gone');
  program(BACKENDS);
  await eventually(async () => (await p.http(VIP, 8080, 1)).ok, 5000, 'service back');
});

test('the classic selectorless Service with a hand-written Endpoints object routes to the address it names (S5)', async () => {
  const vip = '10.97.0.20';
  c.writeManifest('external-db.yaml', [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'my-service', namespace: 'default' },
      spec: { clusterIP: vip, ports: [{ protocol: 'TCP', port: 80, targetPort: 8000 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'my-service', namespace: 'default' },
      subsets: [{ addresses: [{ ip: c.pod('web-1').ip }], ports: [{ port: 8000 }] }],
    },
  ]);
  const p = c.probe();
  await eventually(async () => (await p.http(vip, 80, 1)).ok, 5000, 'selectorless Service reachable');
  const res = await p.http(vip, 80, 10);
  assert.deepEqual([...tally(res.answers).keys()], ['web-1']);
  c.removeManifest('external-db.yaml');
});

test('a UDP datagram larger than the MTU reaches a backend whole, and its as large answer comes back whole (IPv4 fragments)', async () => {
  // 4,000 bytes over 1,500-byte veths: three fragments each way. Only the first carries
  // the ports; the rest must follow it to the backend and back from the frontend, or
  // the receiver never reassembles the datagram.
  const p = c.probe();
  const res = await p.udp(VIP, 8080, 12, 4000);
  assert.ok(res.ok, res.error);
  for (const a of res.answers) {
    assert.equal(a.received, 4000, 'the backend got the whole datagram');
    assert.equal(a.pad?.length, 4000 - String(a.seq).length - 1, 'the client got the whole answer');
    assert.equal(a.client.split(':')[0], c.pod('client').ip);
  }
  assert.ok(tally(res.answers).size >= 2, 'spread over backends like any datagram');
});

test('UDP to a backend with nothing on the target port: the client gets ECONNREFUSED at once, as with kube-proxy (ICMP error translated)', async () => {
  // The backend's kernel answers "port unreachable" quoting the datagram kpx translated
  // (client -> backend:9999); only translated back (client -> VIP:53) does the client's
  // connected socket match it. Untranslated, the client would wait for its timeout.
  const vip = '10.97.0.40';
  c.writeManifest('closed-udp.yaml', [
    service('closed', vip, [{ name: 'dns', port: 53, targetPort: 9999, protocol: 'UDP' }]),
    slice('closed', endpoints(['web-0']), [{ name: 'dns', port: 9999, protocol: 'UDP' }]),
  ]);
  const p = c.probe();
  const refused = await eventually(async () => {
    const t0 = Date.now();
    const r = await p.udp(vip, 53, 1);
    return !r.ok && /ECONNREFUSED/.test(r.error ?? '') ? Date.now() - t0 : undefined;
  }, 10000, 'ECONNREFUSED from the closed UDP port');
  assert.ok(refused < 2000, 'refused before the probe\'s 2 s timeout');
  c.removeManifest('closed-udp.yaml');
});

test('a malformed manifest is reported with file and field; the other Services keep working', async () => {
  const p = c.probe();
  c.writeManifest('broken.yaml', [service('broken', '10.97.0.30', [{ port: 70000, targetPort: 8000 }])]);
  await c.waitForLog(/broken\.yaml document 1.*spec\.ports\[0\]\.port/);
  const res = await p.http(VIP, 8080, 10);
  assert.ok(res.ok, res.error);
  c.removeManifest('broken.yaml');
});

test('killing and restarting the agent keeps established connections and every Service (C5)', async () => {
  program(BACKENDS);
  const p = c.probe();
  await eventually(async () => (await p.http(VIP, 8080, 1)).ok, 5000, 'service up');
  await p.send({ op: 'open', id: 'keep', host: VIP, port: 8080 });
  const first = await p.send({ op: 'send', id: 'keep' });
  assert.ok(first.ok, first.error);
  await p.send({ op: 'udpOpen', id: 'ukeep', host: VIP, port: 8080 });
  const ufirst = await p.send({ op: 'udpSend', id: 'ukeep' });
  assert.ok(ufirst.ok, ufirst.error);

  const mark = c.log().length;
  await c.restartAgent();
  // While the agent is down and while it comes back, traffic flows.
  for (let i = 0; i < 10; i++) {
    const r = await p.http(VIP, 8080, 2);
    assert.ok(r.ok, `request during restart: ${r.error}`);
  }
  await c.waitForLog(/"msg":"ready"/, 30_000, mark);
  assert.match(c.log().slice(mark), /"adoptedFrontends":2/);
  const again = await p.send({ op: 'send', id: 'keep' });
  assert.ok(again.ok, again.error);
  assert.equal(again.answers[0]!.pod, first.answers[0]!.pod, 'same backend after restart');
  const uagain = await p.send({ op: 'udpSend', id: 'ukeep' });
  assert.ok(uagain.ok, uagain.error);
  assert.equal(uagain.answers[0]!.pod, ufirst.answers[0]!.pod, 'UDP flow kept its backend');
  const res = await p.http(VIP, 8080, 30);
  assert.deepEqual([...tally(res.answers).keys()].sort(), BACKENDS);
});

// A pod's TCP and UDP packets reach kpx_from_pod as CHECKSUM_PARTIAL skbs: the L4 field
// holds only the pseudo-header seed, which kpx updates inline (bpf/ctx.h). Between veths
// the sum is normally never computed, so a wrong seed would go unnoticed here and break
// on a real NIC. With transmit checksumming off on the node side of the pod veths the
// kernel computes every checksum in software from the translated seed before delivery,
// and the receiving pod verifies it: a wrong seed loses the packet.
test('translated packets of pods carry correct checksums when the node computes them in software (CHECKSUM_PARTIAL seed)', async () => {
  program(BACKENDS);
  const p = c.probe();
  await eventually(async () => (await p.http(VIP, 8080, 1)).ok, 5000, 'service up');
  const devs = [...BACKENDS, 'client'].map((n) => c.pod(n).hostIf);
  const offload = (on: boolean) => {
    for (const dev of devs) execIn(c.nodeNs, 'ethtool', ['-K', dev, 'tx', on ? 'on' : 'off']);
  };
  offload(false);
  try {
    for (const dev of devs) assert.match(execIn(c.nodeNs, 'ethtool', ['-k', dev]), /tx-checksumming: off/);
    const tcp = await p.http(VIP, 8080, 30);
    assert.ok(tcp.ok, tcp.error);
    assert.deepEqual([...tally(tcp.answers).keys()].sort(), BACKENDS);
    const udp = await p.udp(VIP, 8080, 30);
    assert.ok(udp.ok, udp.error);
    assert.deepEqual([...tally(udp.answers).keys()].sort(), BACKENDS);
  } finally {
    offload(true);
  }
});
