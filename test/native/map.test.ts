// BpfMap: element ops, per-CPU values, full maps, batches, iteration, pins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, BpfObject, numPossibleCpus, UPDATE_FLAGS } from '../../native/index.js';
import { BpfError, MapFullError } from '../../src/errors.js';
import { fixtureObject, kvKey, pinDir, removeFixtures, removePins, u32, u64 } from './fixture.js';

const ENOENT = 2;
const EEXIST = 17;
const EINVAL = 22;

function sortedHex(bufs: Buffer[]): string[] {
  return bufs.map((b) => b.toString('hex')).sort();
}

describe('BpfMap', () => {
  let pins: string;
  before(() => {
    pins = pinDir();
  });
  after(() => {
    removePins(pins);
    removeFixtures();
  });
  // A fresh object (and pin root) per test so that every map starts empty. Without a
  // pinRoot libbpf would pin the by-name maps under /sys/fs/bpf itself.
  const fresh = (t: { after: (fn: () => void) => void }): BpfObject => {
    const root = pinDir();
    const o = BpfObject.open(fixtureObject('native_test'), { pinRoot: root });
    o.load();
    t.after(() => {
      o.close();
      removePins(root);
    });
    return o;
  };

  test('update, lookup, delete; delete of a missing key is false', (t) => {
    const m = fresh(t).map('t_hash');
    m.update(kvKey(1, 2), u64(42));
    assert.deepEqual(m.lookup(kvKey(1, 2)), u64(42));
    assert.equal(m.lookup(kvKey(2, 1)), undefined);
    assert.equal(m.delete(kvKey(1, 2)), true);
    assert.equal(m.delete(kvKey(1, 2)), false);
    assert.equal(m.lookup(kvKey(1, 2)), undefined);
  });

  test('update flags NOEXIST and EXIST', (t) => {
    const m = fresh(t).map('t_hash');
    m.update(kvKey(1), u64(1), UPDATE_FLAGS.NOEXIST);
    assert.throws(() => m.update(kvKey(1), u64(2), UPDATE_FLAGS.NOEXIST), (e: unknown) => e instanceof BpfError && e.errno === EEXIST);
    m.update(kvKey(1), u64(3), UPDATE_FLAGS.EXIST);
    assert.deepEqual(m.lookup(kvKey(1)), u64(3));
    assert.throws(() => m.update(kvKey(9), u64(2), UPDATE_FLAGS.EXIST), (e: unknown) => e instanceof BpfError && e.errno === ENOENT);
  });

  test('keys and values of the wrong size are refused before reaching the kernel', (t) => {
    const m = fresh(t).map('t_hash');
    assert.throws(() => m.lookup(Buffer.alloc(4)), (e: unknown) => e instanceof BpfError && e.errno === EINVAL);
    assert.throws(() => m.update(kvKey(1), Buffer.alloc(4)), (e: unknown) => e instanceof BpfError && /value is 4 bytes/.test(e.message));
  });

  test('an update on a full hash map throws MapFullError naming the map', (t) => {
    const m = fresh(t).map('t_hash');
    for (let i = 0; i < m.maxEntries; i++) m.update(kvKey(i), u64(i));
    assert.throws(
      () => m.update(kvKey(100), u64(100)),
      (e: unknown) => e instanceof MapFullError && e.map === 't_hash' && e.code === 'KPX_MAP_FULL' && e.errno === 7,
    );
    m.update(kvKey(0), u64(7)); // replacing an existing key still works when full
    assert.deepEqual(m.lookup(kvKey(0)), u64(7));
  });

  test('an LRU map evicts instead of filling up', (t) => {
    const m = fresh(t).map('t_lru');
    for (let i = 0; i < m.maxEntries * 4; i++) m.update(u32(i), u32(i));
    const n = m.keys().length;
    assert.ok(n > 0 && n <= m.maxEntries);
  });

  test('per-CPU lookups return one 8-byte-aligned slot per possible CPU', (t) => {
    const o = fresh(t);
    const m = o.map('t_percpu');
    const cpus = numPossibleCpus();
    assert.ok(cpus >= 1);
    assert.equal(m.perCpu, true);
    assert.equal(m.valueBufferSize, 8 * cpus); // 4-byte value rounded up to 8
    const value = Buffer.alloc(8 * cpus);
    for (let cpu = 0; cpu < cpus; cpu++) value.writeUInt32LE(100 + cpu, cpu * 8);
    m.update(u32(1), value);
    const raw = m.lookup(u32(1))!;
    assert.equal(raw.length, 8 * cpus);
    const slots = m.lookupPerCpu(u32(1))!;
    assert.equal(slots.length, cpus);
    slots.forEach((s, cpu) => assert.equal(s.readUInt32LE(), 100 + cpu));
    // The datapath bumps the slot of the CPU it ran on: the sum over CPUs counts runs.
    o.program('tc_count').testRun({ data: Buffer.alloc(64), repeat: 25 });
    const total = m.lookupPerCpu(u32(0))!.reduce((sum, s) => sum + s.readUInt32LE(), 0);
    assert.equal(total, 25);
    assert.throws(() => m.update(u32(1), Buffer.alloc(4)), (e: unknown) => e instanceof BpfError && /CPUs/.test(e.message));
  });

  test('updateBatch writes every element; deleteBatch removes them and skips missing keys', (t) => {
    const m = fresh(t).map('t_pinned'); // 128 entries
    const keys = Array.from({ length: 100 }, (_, i) => u32(i));
    const values = keys.map((_, i) => u64(i * 3));
    m.updateBatch(keys, values);
    assert.equal(m.keys().length, 100);
    assert.deepEqual(m.lookup(u32(99)), u64(297));
    const deleted = m.deleteBatch([u32(1), u32(1000), u32(2), u32(1001), u32(3)]);
    assert.equal(deleted, 3);
    assert.equal(m.keys().length, 97);
    assert.equal(m.lookup(u32(2)), undefined);
    assert.equal(m.deleteBatch([]), 0);
    m.updateBatch([], []);
  });

  test('updateBatch on an array map', (t) => {
    const m = fresh(t).map('t_counts');
    m.updateBatch([u32(0), u32(3)], [u64(5), u64(6)]);
    assert.deepEqual(m.lookup(u32(0)), u64(5));
    assert.deepEqual(m.lookup(u32(3)), u64(6));
  });

  test('batches on a map type without batch ops (devmap) fall back to single-element ops', (t) => {
    const m = fresh(t).map('t_devmap');
    const lo = 1; // loopback's ifindex: devmap values must name an existing device
    m.updateBatch([u32(0), u32(5), u32(7)], [u32(lo), u32(lo), u32(lo)]);
    assert.deepEqual(m.lookup(u32(5)), u32(lo));
    assert.equal(m.lookup(u32(6)), undefined);
    m.deleteBatch([u32(5), u32(6), u32(0)]); // a devmap deletes empty slots without complaint
    assert.equal(m.lookup(u32(5)), undefined);
    assert.equal(m.lookup(u32(0)), undefined);
    assert.deepEqual(m.lookup(u32(7)), u32(lo));
  });

  test('updateBatch past capacity throws MapFullError; mismatched lengths are refused', (t) => {
    const m = fresh(t).map('t_hash');
    const keys = Array.from({ length: 6 }, (_, i) => kvKey(i));
    assert.throws(() => m.updateBatch(keys, keys.map((_, i) => u64(i))), (e: unknown) => e instanceof MapFullError && e.map === 't_hash');
    assert.equal(m.keys().length, 4);
    assert.throws(() => m.updateBatch([kvKey(1)], []), (e: unknown) => e instanceof BpfError && e.errno === EINVAL);
  });

  test('entries() and keys() walk the whole map', (t) => {
    const m = fresh(t).map('t_pinned');
    for (let i = 0; i < 50; i++) m.update(u32(i), u64(i + 1000));
    const entries = m.entries();
    assert.equal(entries.length, 50);
    for (const [k, v] of entries) assert.equal(v.readBigUInt64LE(), BigInt(k.readUInt32LE() + 1000));
    assert.deepEqual(sortedHex(m.keys()), sortedHex(Array.from({ length: 50 }, (_, i) => u32(i))));
  });

  test('count() agrees with keys() without keeping the keys', (t) => {
    const o = fresh(t);
    const m = o.map('t_pinned');
    assert.equal(m.count(), 0);
    for (let i = 0; i < 50; i++) m.update(u32(i), u64(i));
    assert.equal(m.count(), 50);
    m.deleteBatch([u32(3), u32(17)]);
    assert.equal(m.count(), 48);
    assert.equal(m.count(), m.keys().length);
    assert.equal(o.map('t_counts').count(), 4); // an array map: every index
  });

  test('keys() of an array map lists every index', (t) => {
    const m = fresh(t).map('t_counts');
    assert.deepEqual(m.keys().map((k) => k.readUInt32LE()), [0, 1, 2, 3]);
  });

  test('iteration stays correct while elements are deleted under it', (t) => {
    const m = fresh(t).map('t_pinned');
    for (let i = 0; i < 100; i++) m.update(u32(i), u64(i));
    // Delete every other key while walking by hand, as a concurrent writer would.
    const seen = new Set<number>();
    for (const k of m.keys()) {
      seen.add(k.readUInt32LE());
      m.delete(u32((k.readUInt32LE() + 1) % 100));
    }
    assert.ok(seen.size <= 100);
    const left = m.entries();
    for (const [k, v] of left) assert.equal(v.readBigUInt64LE(), BigInt(k.readUInt32LE()));
    assert.equal(new Set(m.keys().map((k) => k.toString('hex'))).size, m.keys().length, 'no duplicates');
  });

  test('pin, openPinned (sizes and name from the kernel), close', (t) => {
    const o = fresh(t);
    o.map('t_hash').update(kvKey(5), u64(55));
    o.map('t_hash').pin(`${pins}/hash`);
    const m = BpfMap.openPinned(`${pins}/hash`);
    t.after(() => m.close());
    assert.equal(m.name, 't_hash');
    assert.equal(m.keySize, 8);
    assert.equal(m.valueSize, 8);
    assert.equal(m.maxEntries, 4);
    assert.equal(m.type, 1);
    assert.deepEqual(m.lookup(kvKey(5)), u64(55));
    m.close();
    assert.throws(() => m.lookup(kvKey(5)), (e: unknown) => e instanceof BpfError && e.errno === 9);
    assert.throws(() => BpfMap.openPinned(`${pins}/missing`), (e: unknown) => e instanceof BpfError && e.errno === ENOENT);
    assert.throws(() => o.map('t_hash').pin(`${pins}/hash`), (e: unknown) => e instanceof BpfError && e.errno === EEXIST);
  });

  test('openPinned refuses a pinned program', (t) => {
    const o = fresh(t);
    o.program('tc_count').pin(`${pins}/prog`);
    assert.throws(() => BpfMap.openPinned(`${pins}/prog`), (e: unknown) => e instanceof BpfError && /not a BPF map/.test(e.message));
  });
});
