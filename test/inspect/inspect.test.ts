// kpx inspect against real pinned maps: state programmed by the real Reconciler, flows
// and affinity written in the datapath's own encoding, read back by the kpx command.
// -o json round-trips every field; the text form names the owners from owners.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND_STATE, CT_DIR, CT_FLAGS, PROTO, SVC_FLAGS, encodeAffinityKey, encodeCtKey, encodeCtValue, encodeBackend, encodeBackendId, LAYOUTS, type CtKey, type CtValue } from '../../src/datapath/abi.js';
import { removeStateDir } from '../../src/inspect/owners-file.js';
import { HDLS, frontend, newPinDir, programLive, removePins, runKpx } from './fixture.js';

const DNS = frontend({ owner: 'kube-system/kube-dns:dns', svcId: 8, addr: '10.96.0.53', port: 53, proto: PROTO.UDP, flags: SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.AFFINITY, affinityTimeoutS: 10800, backends: [[5, '10.244.2.5', 53]] });

function kpxJson<T>(args: string[]): T {
  const r = runKpx(args);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

test('inspect -o json round-trips services, backends, conntrack, nat, affinity (owners from owners.json)', (t) => {
  const pin = newPinDir('inspect');
  t.after(() => removePins(pin));
  const dp = programLive(pin, [HDLS, DNS]);
  const now = process.hrtime.bigint();
  const ct = (k: CtKey, v: Partial<CtValue>): void =>
    dp.maps.conntrack.update(
      encodeCtKey(k),
      encodeCtValue({ lastSeenNs: now - 5_000_000_000n, natAddr: '0.0.0.0', natPort: 0, flags: 0, backendId: 0, svcId: 0, peerAddr: '0.0.0.0', peerPort: 0, ...v }),
    );
  try {
    // A pod's flow to hdls (backend 2), both directions, as kpx_from_pod records it.
    ct({ saddr: '10.244.1.20', daddr: '10.96.0.10', sport: 40000, dport: 8080, proto: PROTO.TCP, dir: CT_DIR.FORWARD }, { backendId: 2, svcId: 7, flags: CT_FLAGS.SEEN_REPLY });
    ct({ saddr: '10.244.1.12', daddr: '10.244.1.20', sport: 8000, dport: 40000, proto: PROTO.TCP, dir: CT_DIR.REPLY }, { backendId: 2, svcId: 7, flags: CT_FLAGS.SEEN_REPLY, natAddr: '10.96.0.10', natPort: 8080 });
    // An external client's flow, source-translated to the node (T4).
    ct({ saddr: '203.0.113.5', daddr: '10.96.0.10', sport: 5555, dport: 8080, proto: PROTO.TCP, dir: CT_DIR.FORWARD }, { backendId: 3, svcId: 7, flags: CT_FLAGS.SNAT, peerAddr: '192.168.1.10', peerPort: 61001 });
    // ClientIP affinity of the pod to kube-dns (A1).
    const aff = Buffer.alloc(LAYOUTS.affinityValue.size);
    aff.writeBigUInt64LE(now - 2_000_000_000n, LAYOUTS.affinityValue.fields.last_used_ns.offset);
    aff.writeUInt32LE(5, LAYOUTS.affinityValue.fields.backend_id.offset);
    dp.maps.affinity.update(encodeAffinityKey({ client: '10.244.1.20', svcId: 8 }), aff);
  } finally {
    dp.close();
  }

  type Svc = { frontend: string; scope: string; svcId: number; flags: string[]; affinityTimeoutS: number; owner: string; slots: number[]; backends: Array<{ id: number; addr: string; port: number; proto: string; state: string; inSlots: boolean }> };
  const svcs = kpxJson<{ services: Svc[]; orphanBackends: number[]; orphanSlots: string[] }>(['inspect', 'services', '--bpffs-dir', pin, '-o', 'json']);
  assert.deepEqual(svcs.orphanBackends, []);
  assert.deepEqual(
    svcs.services.map((s) => [s.frontend, s.scope, s.svcId, s.flags, s.affinityTimeoutS, s.owner, s.slots]),
    [
      ['10.96.0.10:8080/TCP', 'EXTERNAL', 7, ['CLUSTER_IP'], 0, 'default/hdls:http', [1, 2, 3]],
      ['10.96.0.53:53/UDP', 'EXTERNAL', 8, ['CLUSTER_IP', 'AFFINITY'], 10800, 'kube-system/kube-dns:dns', [5]],
    ],
  );
  const hdls = svcs.services[0]!;
  assert.deepEqual(
    hdls.backends.map((b) => [b.id, `${b.addr}:${b.port}/${b.proto}`, b.state, b.inSlots]),
    [
      [1, '10.244.1.11:8000/TCP', 'ACTIVE', true],
      [2, '10.244.1.12:8000/TCP', 'ACTIVE', true],
      [3, '10.244.1.13:8000/TCP', 'ACTIVE', true],
      [4, '10.244.1.14:8000/TCP', 'TERMINATING', false], // C3: kept for its flows, in no slot
    ],
  );

  const backends = kpxJson<Array<{ id: number; addr: string; state: string; svcId: number; owner: string }>>(['inspect', 'backends', '--bpffs-dir', pin, '-o', 'json']);
  assert.deepEqual(backends.map((b) => [b.id, b.addr, b.state, b.svcId, b.owner]), [
    [1, '10.244.1.11', 'ACTIVE', 7, 'default/hdls:http'],
    [2, '10.244.1.12', 'ACTIVE', 7, 'default/hdls:http'],
    [3, '10.244.1.13', 'ACTIVE', 7, 'default/hdls:http'],
    [4, '10.244.1.14', 'TERMINATING', 7, 'default/hdls:http'],
    [5, '10.244.2.5', 'ACTIVE', 8, 'kube-system/kube-dns:dns'],
  ]);

  type Flow = { dir: string; proto: string; src: string; dst: string; backendId: number; backend: string; nat: string | null; peer: string | null; flags: string[]; ageS: number; owner: string };
  const flows = kpxJson<Flow[]>(['inspect', 'conntrack', '--bpffs-dir', pin, '-o', 'json']);
  const bySrc = new Map(flows.map((f) => [`${f.dir} ${f.src}`, f]));
  assert.equal(flows.length, 3);
  const fwd = bySrc.get('FORWARD 10.244.1.20:40000')!;
  assert.deepEqual([fwd.dst, fwd.backendId, fwd.backend, fwd.nat, fwd.peer, fwd.flags, fwd.owner], ['10.96.0.10:8080', 2, '10.244.1.12:8000', null, null, ['SEEN_REPLY'], 'default/hdls:http']);
  assert.ok(fwd.ageS >= 5 && fwd.ageS < 120, `age ${fwd.ageS}`);
  const rep = bySrc.get('REPLY 10.244.1.12:8000')!;
  assert.deepEqual([rep.dst, rep.nat], ['10.244.1.20:40000', '10.96.0.10:8080']);

  const nat = kpxJson<Flow[]>(['inspect', 'nat', '--bpffs-dir', pin, '-o', 'json']);
  assert.deepEqual(nat.map((f) => [f.dir, f.src, f.dst, f.peer, f.backend, f.flags]), [['FORWARD', '203.0.113.5:5555', '10.96.0.10:8080', '192.168.1.10:61001', '10.244.1.13:8000', ['SNAT']]]);

  const affinity = kpxJson<Array<{ client: string; svcId: number; backendId: number; backend: string; owner: string; ageS: number }>>(['inspect', 'affinity', '--bpffs-dir', pin, '-o', 'json']);
  assert.deepEqual(affinity.map((a) => [a.client, a.svcId, a.backendId, a.backend, a.owner]), [['10.244.1.20', 8, 5, '10.244.2.5:53', 'kube-system/kube-dns:dns']]);
  assert.ok(affinity[0]!.ageS >= 2);

  const counters = kpxJson<Array<{ reason: string; packets: string }>>(['inspect', 'counters', '--bpffs-dir', pin, '-o', 'json']);
  assert.ok(counters.some((c) => c.reason === 'FWD_NEW_FLOW' && c.packets === '0'));

  // The text form: one frontend line with its owner, one line per slot, the kept backend.
  const text = runKpx(['inspect', 'services', '--bpffs-dir', pin]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^10\.96\.0\.10:8080\/TCP\s+EXTERNAL\s+id=7\s+flags=CLUSTER_IP\s+affinity=-\s+default\/hdls:http$/m);
  assert.match(text.stdout, /slot 2\s+backend 2\s+10\.244\.1\.12:8000\/TCP\s+ACTIVE/);
  assert.match(text.stdout, /no slot\s+backend 4\s+10\.244\.1\.14:8000\/TCP\s+TERMINATING \(existing flows only\)/);
});

test('inspect shows orphaned entries and works without owners.json', (t) => {
  const pin = newPinDir('orphan');
  t.after(() => removePins(pin));
  const dp = programLive(pin, [HDLS]);
  try {
    dp.maps.backends.update(encodeBackendId(99), encodeBackend({ addr: '10.244.9.9', port: 80, proto: PROTO.TCP, state: BACKEND_STATE.ACTIVE, svcId: 42 }));
  } finally {
    dp.close();
  }
  removeStateDir(pin); // the pins stay; only the names are gone
  const r = runKpx(['inspect', 'services', '--bpffs-dir', pin]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^10\.96\.0\.10:8080\/TCP .* -$/m, 'owner unknown without owners.json');
  assert.match(r.stdout, /orphan backend 99/);
});

test('inspect: a missing pin directory is a clear error, not a crash', () => {
  const r = runKpx(['inspect', 'services', '--bpffs-dir', '/sys/fs/bpf/kpxops-does-not-exist']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no kpx pin directory at \/sys\/fs\/bpf\/kpxops-does-not-exist.*\[KPX_ENVIRONMENT\]/);
});
