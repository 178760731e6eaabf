import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { IdPool } from '../../src/encoder/id-pool.js';
import { KpxError } from '../../src/errors.js';

test('ids start at 1, move forward, wrap at max and skip taken ones', () => {
  const pool = new IdPool<string>('test', 4);
  assert.deepEqual(['a', 'b', 'c'].map((o) => pool.take(o)), [1, 2, 3]);
  assert.equal(pool.free(1), true);
  // 1 is free again, but the counter goes on to 4 first.
  assert.equal(pool.take('d'), 4);
  assert.equal(pool.take('e'), 1);
  assert.throws(() => pool.take('f'), (e: unknown) => e instanceof KpxError && e.code === 'KPX_IDS_EXHAUSTED');
  assert.equal(pool.free(2), true);
  assert.equal(pool.take('g'), 2);
  assert.equal(pool.ownerOf(2), 'g');
  assert.equal(pool.size, 4);
});

test('claim binds a given id once, refuses 0, out-of-range and taken ids, and moves the counter past it', () => {
  const pool = new IdPool<number>('test', 100);
  assert.equal(pool.claim(0, 1), false);
  assert.equal(pool.claim(101, 1), false);
  assert.equal(pool.claim(1.5, 1), false);
  assert.equal(pool.claim(50, 7), true);
  assert.equal(pool.claim(50, 8), false);
  assert.equal(pool.ownerOf(50), 7);
  assert.equal(pool.take(9), 51);
  assert.equal(pool.claim(100, 9), true);
  // Past max the counter wraps to 1.
  assert.equal(pool.take(9), 1);
  assert.equal(pool.free(50), true);
  assert.equal(pool.free(50), false);
});
