import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { IdPool } from '../../src/encoder/id-pool.js';
import { KpxError } from '../../src/errors.js';

test('ids start at 1, move forward, wrap at max and skip taken ones', () => {
  const pool = new IdPool('test', 4);
  assert.deepEqual([1, 2, 3].map(() => pool.take()), [1, 2, 3]);
  assert.equal(pool.free(1), true);
  // 1 is free again, but the counter goes on to 4 first.
  assert.equal(pool.take(), 4);
  assert.equal(pool.take(), 1);
  assert.throws(() => pool.take(), (e: unknown) => e instanceof KpxError && e.code === 'KPX_IDS_EXHAUSTED');
  assert.equal(pool.free(2), true);
  assert.equal(pool.take(), 2);
  assert.equal(pool.has(2), true);
  assert.equal(pool.size, 4);
});

test('claim binds a given id once, refuses 0, out-of-range and taken ids, and moves the counter past it', () => {
  const pool = new IdPool('test', 100);
  assert.equal(pool.claim(0), false);
  assert.equal(pool.claim(101), false);
  assert.equal(pool.claim(1.5), false);
  assert.equal(pool.claim(50), true);
  assert.equal(pool.claim(50), false);
  assert.equal(pool.has(50), true);
  assert.equal(pool.take(), 51);
  assert.equal(pool.claim(100), true);
  // Past max the counter wraps to 1.
  assert.equal(pool.take(), 1);
  assert.equal(pool.free(50), true);
  assert.equal(pool.free(50), false);
  assert.equal(pool.has(50), false);
  assert.equal(pool.size, 3);
});

test('ids across blocks and up to 2^32 - 1: taken, freed and found again', () => {
  const max = 0xffffffff;
  const pool = new IdPool('test', max);
  const ids = [1, 31, 32, 1023, 1024, 1025, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, max - 1, max];
  for (const id of ids) assert.equal(pool.claim(id), true, `claim ${id}`);
  for (const id of ids) assert.equal(pool.has(id), true, `has ${id}`);
  for (const id of [2, 33, 1026, 2 ** 31 + 2, max - 2]) assert.equal(pool.has(id), false, `free ${id}`);
  assert.equal(pool.size, ids.length);
  // The counter is past max: it wraps, skipping taken ids.
  assert.equal(pool.take(), 2);
  for (const id of ids) assert.equal(pool.free(id), true, `free ${id}`);
  for (const id of ids) assert.equal(pool.has(id), false);
  assert.equal(pool.size, 1);
});
