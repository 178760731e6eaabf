import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BACKEND_STATE, PROTO, type Backend } from '../../src/datapath/abi.js';
import { BackendTable } from '../../src/encoder/backend-table.js';

const be = (i: number): Backend => ({ addr: `10.244.0.${i}`, port: 80, proto: PROTO.TCP, state: BACKEND_STATE.ACTIVE, svcId: 1 });

test('BackendTable reads like the Map of the same entries: small or indexed, compact or not', () => {
  const odd = (i: number): Backend => ({ ...be(i), proto: i % 2 ? PROTO.UDP : PROTO.TCP, svcId: i % 3, port: 65535 - i, state: BACKEND_STATE.TERMINATING | BACKEND_STATE.LOCAL_FLAG });
  for (const [n, make] of [[0, be], [3, be], [40, be], [3, odd], [40, odd]] as const) {
    const ids = Array.from({ length: n }, (_, i) => 1000 - i * 3);
    const list = ids.map((_, i) => make(i));
    const table = new BackendTable(ids, list);
    const map = new Map(ids.map((id, i) => [id, list[i]!]));
    assert.equal(table.size, map.size);
    for (const id of [...ids, 1, 999, -5]) {
      assert.deepEqual(table.get(id), map.get(id));
      assert.equal(table.has(id), map.has(id));
    }
    assert.deepEqual([...table], [...map]);
    assert.deepEqual([...table.entries()], [...map.entries()]);
    assert.deepEqual([...table.keys()], [...map.keys()]);
    assert.deepEqual([...table.values()], [...map.values()]);
    const seen: Array<[number, Backend]> = [];
    table.forEach((v, k, m) => {
      assert.equal(m, table);
      seen.push([k, v]);
    });
    assert.deepEqual(seen, [...map]);
  }
  assert.throws(() => new BackendTable([1], []), RangeError);
});

test('encodeEntry: unsorted sets are sorted; an address listed twice is one backend, the later reading wins', async () => {
  const { encodeEntry } = await import('../../src/encoder/encode-frontend.js');
  const { IdAllocator } = await import('../../src/encoder/id-allocator.js');
  const { frontendIdentity } = await import('../../src/encoder/types.js');
  const { SCOPE } = await import('../../src/datapath/abi.js');
  const mb = (addr: string, ready = true) => ({ addr, port: 80, local: false, ready, serving: true, terminating: !ready, zoneHints: [] });
  const set = { usable: [mb('10.244.0.9'), mb('10.244.0.10'), mb('10.244.0.9')], kept: [mb('10.244.0.10', false)] };
  const fe = {
    serviceKey: 'default/web', owner: 'default/web:http', kind: 'ClusterIP' as const, addr: '10.96.0.1', port: 80, protocol: 'TCP' as const,
    affinityTimeoutS: 0, etpLocal: false, itpLocal: false, cluster: set, local: set,
  };
  const key = { addr: fe.addr, port: fe.port, slot: 0, proto: PROTO.TCP, scope: SCOPE.EXTERNAL };
  const e = encodeEntry(fe, key, frontendIdentity(key), set, new IdAllocator());
  assert.deepEqual(e.slots.map((id) => e.backends.get(id)!.addr), ['10.244.0.9', '10.244.0.9', '10.244.0.10']);
  assert.equal(e.backends.size, 2);
  // 10.244.0.10 is also in `kept`, read after `usable`: TERMINATING, as a Map.set would leave it.
  assert.equal(e.backends.get(e.slots[2]!)!.state, BACKEND_STATE.TERMINATING);
});
