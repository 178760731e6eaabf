// kpx_map_counts (bpf/map_counts.h): one BPF_PROG_TEST_RUN call reports how many elements
// each hash map holds. Checked against a walk of every map's keys, on maps the control
// plane filled and maps packets filled, including an LRU map that has evicted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COUNTED_MAPS, LAYOUTS, PROTO, SVC_FLAGS, decodeMapCounts, encodeAffinityKey, type CountedMap } from '../../src/datapath/abi.js';
import { rmSync } from 'node:fs';
import { BpfObject, ensureBpffs } from '../../native/index.js';
import { Datapath, OBJECT_PATH } from './harness.js';
import { TCP_FLAG, ipv4Frame } from './packet.js';

function counts(dp: Datapath): Partial<Record<CountedMap, number>> {
  const r = dp.program('mapCounts').testRun({ data: Buffer.alloc(LAYOUTS.mapCounts.size) });
  assert.equal(r.retval, 0);
  return decodeMapCounts(r.data);
}

function walked(dp: Datapath): Record<CountedMap, number> {
  const maps = { services: dp.services, backends: dp.backends, conntrack: dp.ct, affinity: dp.affinity, sockRev: undefined, svcStats: dp.svcStats, frags: dp.frags };
  return Object.fromEntries(
    (Object.keys(COUNTED_MAPS) as CountedMap[]).map((role) => [role, maps[role]?.keys().length ?? 0]),
  ) as Record<CountedMap, number>;
}

test('map counts: every hash map, as many elements as a walk of its keys finds', () => {
  const dp = Datapath.load();
  try {
    assert.deepEqual(counts(dp), { services: 0, backends: 0, conntrack: 0, affinity: 0, sockRev: 0, svcStats: 0, frags: 0 });
    for (let i = 1; i <= 5; i++) {
      dp.addService({
        vip: `10.96.0.${i}`,
        port: 80,
        proto: PROTO.TCP,
        // One id past the statistics array: its packets make an LRU hash entry.
        svcId: i === 3 ? 100_000 : i,
        flags: SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.AFFINITY,
        backends: [{ id: 10 * i, addr: `10.244.1.${i}`, port: 8080 }, { id: 10 * i + 1, addr: `10.244.2.${i}`, port: 8080 }],
      });
    }
    for (let i = 1; i <= 3; i++) {
      const frame = ipv4Frame({ proto: 'tcp', src: '10.244.0.2', dst: `10.96.0.${i}`, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN });
      assert.equal(dp.run(frame).reason, 'FWD_NEW_FLOW');
    }
    // The first fragment of a datagram leaves its ports for the rest (bpf/parse.h).
    const first = ipv4Frame({ proto: 'tcp', src: '10.244.0.2', dst: '10.96.0.1', sport: 40000, dport: 80, moreFragments: true });
    assert.equal(dp.run(first).reason, 'FWD_ESTABLISHED');
    const got = counts(dp);
    assert.deepEqual(got, { services: 15, backends: 10, conntrack: 6, affinity: 3, sockRev: 0, svcStats: 1, frags: 1 });
    assert.deepEqual(got, walked(dp));
    dp.affinity.delete(encodeAffinityKey({ client: '10.244.0.2', svcId: 1 }));
    assert.equal(counts(dp).affinity, 2, 'a delete is counted');
  } finally {
    dp.close();
  }
});

test('map counts: an LRU map that evicted reports what it holds, not what was inserted', () => {
  // A private copy of the object with a small conntrack table (max_entries set at open),
  // its maps pinned under a pin root of its own.
  const pinRoot = `/sys/fs/bpf/kpxmet-${process.pid}-lru`;
  rmSync(pinRoot, { recursive: true, force: true });
  ensureBpffs(pinRoot);
  const obj = BpfObject.open(OBJECT_PATH, { pinRoot, maxEntries: { kpx_ct_v1: 256 } });
  try {
    obj.load();
    const ct = obj.map('kpx_ct_v1');
    const key = (i: number) => {
      const b = Buffer.alloc(LAYOUTS.ctKey.size);
      b.writeUInt32BE(0x0af40000 + i, 0);
      return b;
    };
    for (let i = 0; i < 5000; i++) ct.update(key(i), Buffer.alloc(ct.valueBufferSize));
    const r = obj.program('kpx_map_counts').testRun({ data: Buffer.alloc(LAYOUTS.mapCounts.size) });
    const n = decodeMapCounts(r.data).conntrack;
    assert.ok(n !== undefined && n > 0 && n <= 256, `at most the capacity, got ${n}`);
    assert.equal(n, ct.keys().length);
  } finally {
    obj.close();
    rmSync(pinRoot, { recursive: true, force: true });
  }
});
