import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { PROTO } from '../../src/datapath/abi.js';
import { BackendIdTable, backendKey } from '../../src/encoder/backend-id-table.js';

test('backendKey: equal exactly when address, port and protocol are equal', () => {
  const k = (addr: string, port: number, proto: number) => backendKey({ addr, port, proto: proto as 6 | 17 });
  assert.equal(k('10.244.1.1', 80, PROTO.TCP), k('10.244.1.1', 80, PROTO.TCP));
  const all = [
    k('10.244.1.1', 80, PROTO.TCP),
    k('10.244.1.1', 80, PROTO.UDP),
    k('10.244.1.1', 81, PROTO.TCP),
    k('10.244.1.2', 80, PROTO.TCP),
    k('255.255.255.255', 65535, PROTO.UDP),
    k('0.0.0.0', 0, PROTO.TCP),
    // Not a canonical quad, or another protocol: string keys, still distinct.
    k('010.244.1.1', 80, PROTO.TCP),
    k('10.244.1.1', 80, 132),
  ];
  assert.equal(new Set(all).size, all.length);
  assert.equal(typeof all[0], 'number');
  assert.ok(Number.isSafeInteger(all[4]));
  assert.equal(typeof all[6], 'string');
});

test('BackendIdTable: add, get, delete, retain, the same whether small or indexed', () => {
  for (const n of [3, 40]) {
    const t = new BackendIdTable();
    for (let i = 0; i < n; i++) t.add(i * 7, 100 + i);
    assert.equal(t.size, n);
    for (let i = 0; i < n; i++) assert.equal(t.get(i * 7), 100 + i);
    assert.equal(t.get(1), undefined);
    // Deleting the first moves the last into its place; every other key still resolves.
    assert.equal(t.delete(0), 100);
    assert.equal(t.delete(0), undefined);
    for (let i = 1; i < n; i++) assert.equal(t.get(i * 7), 100 + i);
    const removed = t.retain((id) => id % 2 === 0);
    assert.deepEqual(removed.sort(), Array.from({ length: n }, (_, i) => 100 + i).filter((id) => id !== 100 && id % 2 === 1).sort());
    for (let i = 1; i < n; i++) assert.equal(t.get(i * 7), (100 + i) % 2 === 0 ? 100 + i : undefined);
    assert.deepEqual([...t.ids()].sort(), Array.from({ length: n }, (_, i) => 100 + i).filter((id) => id !== 100 && id % 2 === 0).sort());
    t.add('x', 999);
    assert.equal(t.get('x'), 999);
  }
});
