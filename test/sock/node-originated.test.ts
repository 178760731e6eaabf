// Node-originated traffic through the cgroup socket hooks, with real sockets: a node
// namespace (kpxsk-<pid>-node) with two backend pods on veths, the full datapath object
// loaded with private pins, its four socket programs attached to the cgroup v2 root as
// pinned links, and services written straight into the maps. Clients run inside the
// node namespace (nsenter); the host namespace only connect()s a UDP socket, which sends
// nothing, to show that its sockets are never translated.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cgroupAttach, cgroupDetach, cgroupLinkInfo, cgroupV2Root, netnsCookie, type CgroupAttachType } from '../../native/index.js';
import { decodeAffinityValue, encodeAffinityKey, encodeConfig, PROGRAM_NAMES, PROTO, SCOPE, SVC_FLAGS, type Reason } from '../../src/datapath/abi.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { NETNS_DIR, ipIn } from '../../src/lab/netns.js';
import { buildLab, teardownLab, type Lab } from '../../src/lab/topology.js';
import { inNetns } from '../native/netns.js';
import type { ClientCommand, ClientResult } from './node-client.js';
import { ServiceWriter } from './service-writer.js';

const PREFIX = `kpxsk-${process.pid}-`;
const PIN_DIR = `/sys/fs/bpf/kpxsk-${process.pid}`;
const CLIENT = fileURLToPath(new URL('./node-client.ts', import.meta.url));
const NODE_ADDR = '192.168.77.1';
const EXT_IF = 'kpxsk-ext';
const HOOKS: Array<[CgroupAttachType, keyof typeof PROGRAM_NAMES]> = [
  ['connect4', 'sockConnect4'],
  ['sendmsg4', 'sockSendmsg4'],
  ['recvmsg4', 'sockRecvmsg4'],
  ['getpeername4', 'sockGetpeername4'],
];
const SOCK_REASONS = [
  'SOCK_TRANSLATED',
  'SOCK_AFFINITY',
  'SOCK_ESTABLISHED',
  'SOCK_REFUSED',
  'SOCK_UNREACHABLE',
  'SOCK_REV_RESTORED',
] as const satisfies readonly Reason[];

const execFileAsync = promisify(execFile);

interface ClientOutput {
  ok: boolean;
  results?: ClientResult[];
  error?: string;
}

describe('node-originated traffic through cgroup socket hooks', () => {
  let lab: Lab;
  let dp: Datapath;
  let svc: ServiceWriter;
  let nodeNs: string;
  let web1: string;
  let web2: string;
  const pins = HOOKS.map(([type]) => join(PIN_DIR, 'links', `sock_${type}`));

  /** Runs one node-client command inside the node namespace (or another one). */
  async function fromNode(cmd: ClientCommand, ns = nodeNs): Promise<ClientOutput> {
    const { stdout } = await execFileAsync('nsenter', [`--net=${NETNS_DIR}/${ns}`, process.execPath, '--import', 'tsx', CLIENT, JSON.stringify(cmd)]);
    return JSON.parse(stdout) as ClientOutput;
  }

  async function okFromNode(cmd: ClientCommand, ns = nodeNs): Promise<ClientResult[]> {
    const out = await fromNode(cmd, ns);
    assert.ok(out.ok, `${cmd.op} ${cmd.host}:${cmd.port} failed: ${out.error}`);
    return out.results!;
  }

  function sockCounters(): Record<(typeof SOCK_REASONS)[number], bigint> {
    const all = dp.counters();
    return Object.fromEntries(SOCK_REASONS.map((r) => [r, all[r].packets])) as Record<(typeof SOCK_REASONS)[number], bigint>;
  }

  function moved(before: Record<string, bigint>, after: Record<string, bigint>): Record<string, bigint> {
    return Object.fromEntries(Object.keys(after).filter((k) => after[k] !== before[k]).map((k) => [k, after[k]! - before[k]!]));
  }

  /** The source address the node uses toward `addr` (what a pod sees from the node). */
  function nodeSourceFor(addr: string): string {
    const m = /\bsrc (\S+)/.exec(ipIn(nodeNs, 'route', 'get', addr));
    assert.ok(m, `route get ${addr} names a source`);
    return m[1]!;
  }

  before(async () => {
    teardownLab(PREFIX);
    rmSync(PIN_DIR, { recursive: true, force: true });
    lab = await buildLab({
      prefix: PREFIX,
      nodes: [
        { name: 'node', podCidr: '10.246.77.0/24' },
        { name: 'node2', podCidr: '10.246.78.0/24' }, // a second node agent on this machine
      ],
      pods: [
        { name: 'web1', node: 'node', tcpPorts: [8080], udpPorts: [5353] },
        { name: 'web2', node: 'node', tcpPorts: [8080], udpPorts: [5353] },
        { name: 'web3', node: 'node2', tcpPorts: [8080] },
      ],
    });
    nodeNs = lab.nodes[0]!.ns;
    web1 = lab.pods.find((p) => p.name === 'web1')!.ip;
    web2 = lab.pods.find((p) => p.name === 'web2')!.ip;
    // The node's "external" address, for NodePort frontends: a veth pair whose far end
    // stays in the node namespace too (no dummy driver on every kernel).
    ipIn(nodeNs, 'link', 'add', EXT_IF, 'type', 'veth', 'peer', 'name', `${EXT_IF}-p`);
    ipIn(nodeNs, 'addr', 'add', `${NODE_ADDR}/24`, 'dev', EXT_IF);
    ipIn(nodeNs, 'link', 'set', EXT_IF, 'up');
    ipIn(nodeNs, 'link', 'set', `${EXT_IF}-p`, 'up');

    dp = Datapath.load({ pinDir: PIN_DIR });
    svc = new ServiceWriter(dp.maps);
    const cookie = inNetns({ name: nodeNs, a: '', b: '' }, () => netnsCookie());
    assert.notEqual(cookie, netnsCookie(), 'the node namespace is not the host one');
    dp.maps.config.update(
      Buffer.alloc(4),
      encodeConfig({ nodeAddr: NODE_ADDR, hairpinAddr: '0.0.0.0', snatPortMin: 0, snatPortMax: 0, extIfindex: 0, netnsCookie: cookie }),
    );
    const root = cgroupV2Root();
    HOOKS.forEach(([type, role], i) => cgroupAttach(root, dp.programs[role], type, { pinPath: pins[i]! }).close());
  });

  after(() => {
    for (const pin of pins) {
      try {
        cgroupDetach(pin);
      } catch (err) {
        process.stderr.write(`detach ${pin}: ${(err as Error).message}\n`);
      }
    }
    dp?.close();
    rmSync(PIN_DIR, { recursive: true, force: true });
    rmSync(`${PIN_DIR}-node2`, { recursive: true, force: true });
    teardownLab(PREFIX);
  });

  test('the four hooks are attached to the cgroup v2 root as pinned links', () => {
    for (const [i, [type]] of HOOKS.entries()) assert.equal(cgroupLinkInfo(pins[i]!)?.attachType, type);
  });

  test('TCP to a ClusterIP reaches every backend; the pod sees the node address toward it (A2, T4)', async () => {
    svc.put({ addr: '10.96.77.10', port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [[101, web1, 8080], [102, web2, 8080]] });
    const before = sockCounters();
    const results = await okFromNode({ op: 'tcp', host: '10.96.77.10', port: 80, count: 24 });
    assert.deepEqual(new Set(results.map((r) => r.pod)), new Set(['web1', 'web2']));
    for (const r of results) {
      const podIp = r.pod === 'web1' ? web1 : web2;
      assert.equal(r.seenBy.split(':')[0], nodeSourceFor(podIp), 'source chosen by the route to the backend');
    }
    assert.deepEqual(moved(before, sockCounters()), { SOCK_TRANSLATED: 24n });
  });

  test('UDP on connected sockets: replies and getpeername show the ClusterIP (P1)', async () => {
    svc.put({ addr: '10.96.77.10', port: 53, proto: PROTO.UDP, svcId: 2, flags: SVC_FLAGS.CLUSTER_IP, backends: [[201, web1, 5353], [202, web2, 5353]] });
    const before = sockCounters();
    const results = await okFromNode({ op: 'udpConnected', host: '10.96.77.10', port: 53, count: 24 });
    assert.deepEqual(new Set(results.map((r) => r.pod)), new Set(['web1', 'web2']));
    for (const r of results) {
      assert.equal(r.from, '10.96.77.10:53', 'recvmsg shows the service as the source');
      assert.equal(r.peer, '10.96.77.10:53', 'getpeername shows the service');
    }
    const d = moved(before, sockCounters());
    assert.equal(d.SOCK_TRANSLATED, 24n);
    assert.ok((d.SOCK_REV_RESTORED ?? 0n) >= 48n, 'each exchange restored the reply source and the peer');
  });

  test('an unconnected UDP socket keeps its backend (C1), moves when it goes (C2), and hears the ClusterIP', async () => {
    const child = spawn('nsenter', [
      `--net=${NETNS_DIR}/${nodeNs}`,
      process.execPath,
      '--import',
      'tsx',
      CLIENT,
      JSON.stringify({ op: 'udpUnconnectedRepeat', host: '10.96.77.10', port: 53, count: 12 }),
    ]);
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<ClientResult> => {
      child.stdin.write('go\n');
      const line = await lines.next();
      assert.ok(!line.done, 'client answered');
      const out = JSON.parse(line.value as string) as ClientOutput;
      assert.ok(out.ok, out.error);
      return out.results![0]!;
    };
    try {
      const before = sockCounters();
      const first = await next();
      assert.equal(first.from, '10.96.77.10:53');
      for (let i = 0; i < 5; i++) {
        const r = await next();
        assert.equal(r.pod, first.pod, 'same socket, same backend');
        assert.equal(r.from, '10.96.77.10:53');
      }
      assert.deepEqual(moved(before, sockCounters()), { SOCK_TRANSLATED: 1n, SOCK_ESTABLISHED: 5n, SOCK_REV_RESTORED: 6n });

      // The backend it uses goes away: the control plane shrinks the slots, then deletes it.
      const [goneId, keep] = first.pod === 'web1' ? [201, 202] : [202, 201];
      svc.setSlots(2, [keep]);
      svc.deleteBackend(goneId);
      const moved1 = await next();
      assert.notEqual(moved1.pod, first.pod, 'moved to the live backend');
      assert.equal(moved1.from, '10.96.77.10:53');
      for (let i = 0; i < 3; i++) assert.equal((await next()).pod, moved1.pod);
    } finally {
      child.stdin.end();
      child.kill();
    }
    svc.put({ addr: '10.96.77.10', port: 53, proto: PROTO.UDP, svcId: 2, flags: SVC_FLAGS.CLUSTER_IP, backends: [[201, web1, 5353], [202, web2, 5353]] });
  });

  test('no endpoint anywhere: connect() and sendto() fail with ECONNREFUSED (N1)', async () => {
    svc.put({ addr: '10.96.77.11', port: 80, proto: PROTO.TCP, svcId: 3, flags: SVC_FLAGS.CLUSTER_IP, backends: [] });
    svc.put({ addr: '10.96.77.11', port: 53, proto: PROTO.UDP, svcId: 4, flags: SVC_FLAGS.CLUSTER_IP, backends: [] });
    const before = sockCounters();
    assert.equal((await fromNode({ op: 'tcp', host: '10.96.77.11', port: 80 })).error, 'ECONNREFUSED');
    assert.equal((await fromNode({ op: 'udpUnconnected', host: '10.96.77.11', port: 53 })).error, 'ECONNREFUSED');
    assert.equal((await fromNode({ op: 'udpConnected', host: '10.96.77.11', port: 53 })).error, 'ECONNREFUSED');
    assert.deepEqual(moved(before, sockCounters()), { SOCK_REFUSED: 3n });

    // Endpoints appear: it forwards.
    svc.put({ addr: '10.96.77.11', port: 80, proto: PROTO.TCP, svcId: 3, flags: SVC_FLAGS.CLUSTER_IP, backends: [[301, web2, 8080]] });
    assert.equal((await okFromNode({ op: 'tcp', host: '10.96.77.11', port: 80 }))[0]!.pod, 'web2');
  });

  test('iTP Local uses only the node-local entry (T3); none local fails with EHOSTUNREACH (N2)', async () => {
    const cip = { addr: '10.96.77.12', port: 80, proto: PROTO.TCP, flags: SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.ITP_LOCAL } as const;
    // Cluster-wide: both pods (one of them "remote" as far as the control plane says).
    svc.put({ ...cip, svcId: 5, backends: [[501, web1, 8080], [502, web2, 8080]] });
    svc.put({ ...cip, svcId: 6, scope: SCOPE.INTERNAL, backends: [[601, web2, 8080]] });
    const results = await okFromNode({ op: 'tcp', host: cip.addr, port: cip.port, count: 10 });
    assert.deepEqual(new Set(results.map((r) => r.pod)), new Set(['web2']));

    svc.put({ ...cip, svcId: 6, scope: SCOPE.INTERNAL, backends: [] });
    const before = sockCounters();
    assert.equal((await fromNode({ op: 'tcp', host: cip.addr, port: cip.port })).error, 'EHOSTUNREACH');
    assert.deepEqual(moved(before, sockCounters()), { SOCK_UNREACHABLE: 1n });
  });

  test('NodePort on a node address; eTP Local is served by all endpoints for the node itself (P4, T2)', async () => {
    const np = { addr: NODE_ADDR, port: 30080, proto: PROTO.TCP, flags: SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL } as const;
    svc.put({ ...np, svcId: 7, backends: [[701, web1, 8080], [702, web2, 8080]] });
    svc.put({ ...np, svcId: 8, scope: SCOPE.INTERNAL, backends: [] }); // no local endpoint
    const results = await okFromNode({ op: 'tcp', host: NODE_ADDR, port: 30080, count: 24 });
    assert.deepEqual(new Set(results.map((r) => r.pod)), new Set(['web1', 'web2']));
  });

  test('ClientIP affinity: every connection of the node goes to one backend, keyed by the node address (A1)', async () => {
    svc.put({
      addr: '10.96.77.13',
      port: 80,
      proto: PROTO.TCP,
      svcId: 9,
      flags: SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.AFFINITY,
      affinityTimeoutS: 600,
      backends: [[901, web1, 8080], [902, web2, 8080]],
    });
    const before = sockCounters();
    const results = await okFromNode({ op: 'tcp', host: '10.96.77.13', port: 80, count: 12 });
    assert.equal(new Set(results.map((r) => r.pod)).size, 1);
    assert.deepEqual(moved(before, sockCounters()), { SOCK_TRANSLATED: 1n, SOCK_AFFINITY: 11n });
    const entry = dp.maps.affinity.lookup(encodeAffinityKey({ client: NODE_ADDR, svcId: 9 }));
    assert.ok(entry, 'affinity entry keyed by the node address');
    assert.equal(decodeAffinityValue(entry).backendId, results[0]!.pod === 'web1' ? 901 : 902);
  });

  test('a deleted frontend is no longer translated (C4); other destinations pass untouched', async () => {
    svc.put({ addr: '10.96.77.14', port: 80, proto: PROTO.TCP, svcId: 10, flags: SVC_FLAGS.CLUSTER_IP, backends: [[1001, web1, 8080]] });
    assert.equal((await okFromNode({ op: 'tcp', host: '10.96.77.14', port: 80 }))[0]!.pod, 'web1');
    svc.remove(10);
    const before = sockCounters();
    // The node namespace has no route to the service range: an untranslated connect fails there.
    assert.equal((await fromNode({ op: 'tcp', host: '10.96.77.14', port: 80 })).error, 'ENETUNREACH');
    // A pod address directly: not a frontend, not translated, reaches the pod.
    const direct = await okFromNode({ op: 'tcp', host: web1, port: 8080 });
    assert.equal(direct[0]!.peer, `${web1}:8080`);
    assert.deepEqual(moved(before, sockCounters()), {});
  });

  test('two node agents side by side on one cgroup: each translates only its own node (C5 pins, per-netns)', async () => {
    // A second agent: its own pinned maps and links, the same VIP mapped to its own pod.
    const node2 = lab.nodes.find((n) => n.name === 'node2')!.ns;
    const web3 = lab.pods.find((p) => p.name === 'web3')!.ip;
    const pin2 = `${PIN_DIR}-node2`;
    const pins2 = HOOKS.map(([type]) => join(pin2, 'links', `sock_${type}`));
    const dp2 = Datapath.load({ pinDir: pin2 });
    try {
      new ServiceWriter(dp2.maps).put({ addr: '10.96.77.10', port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [[1, web3, 8080]] });
      const cookie2 = inNetns({ name: node2, a: '', b: '' }, () => netnsCookie());
      dp2.maps.config.update(
        Buffer.alloc(4),
        encodeConfig({ nodeAddr: '0.0.0.0', hairpinAddr: '0.0.0.0', snatPortMin: 0, snatPortMax: 0, extIfindex: 0, netnsCookie: cookie2 }),
      );
      HOOKS.forEach(([type, role], i) => cgroupAttach(cgroupV2Root(), dp2.programs[role], type, { pinPath: pins2[i]! }).close());

      const mine = await okFromNode({ op: 'tcp', host: '10.96.77.10', port: 80, count: 8 });
      assert.ok(mine.every((r) => r.pod === 'web1' || r.pod === 'web2'), 'node 1 uses its own maps');
      const theirs = await okFromNode({ op: 'tcp', host: '10.96.77.10', port: 80, count: 4 }, node2);
      assert.deepEqual(new Set(theirs.map((r) => r.pod)), new Set(['web3']), 'node 2 uses its own maps');

      // Agent 2 restarts: a new object over its pins, the links updated in place.
      dp2.close();
      const dp2b = Datapath.load({ pinDir: pin2 });
      try {
        const ids = pins2.map((p) => cgroupLinkInfo(p)!.linkId);
        const replaced = HOOKS.map(([type, role], i) => cgroupAttach(cgroupV2Root(), dp2b.programs[role], type, { pinPath: pins2[i]! }));
        replaced.forEach((l) => l.close());
        assert.ok(replaced.every((l) => l.replaced));
        assert.deepEqual(pins2.map((p) => cgroupLinkInfo(p)!.linkId), ids, 'same links');
        assert.equal((await okFromNode({ op: 'tcp', host: '10.96.77.10', port: 80 }, node2))[0]!.pod, 'web3');
      } finally {
        dp2b.close();
      }
    } finally {
      for (const p of pins2) cgroupDetach(p);
      dp2.close();
      rmSync(pin2, { recursive: true, force: true });
    }
    // Agent 2 gone: node 1 is untouched.
    assert.ok((await okFromNode({ op: 'tcp', host: '10.96.77.10', port: 80 }))[0]!.pod.startsWith('web'));
  });

  test('sockets of another namespace (the host) are never translated', async () => {
    const before = sockCounters();
    // connect() of a UDP socket sends nothing: it only fixes the peer (if the host has a
    // route to the address at all). Either way the hooks must leave it alone.
    const s = createSocket('udp4');
    const peer = await new Promise<string>((resolve) => {
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.connect(53, '10.96.77.10', () => {
        const p = s.remoteAddress();
        resolve(`${p.address}:${p.port}`);
      });
    });
    s.close();
    if (peer.includes(':')) assert.equal(peer, '10.96.77.10:53', 'the host socket keeps the service address');
    assert.deepEqual(moved(before, sockCounters()), {}, 'no socket hook counted anything');
    // And the hooks are still there, acting in the node namespace.
    const r = await okFromNode({ op: 'udpConnected', host: '10.96.77.10', port: 53 });
    assert.equal(r[0]!.from, '10.96.77.10:53');
  });
});
