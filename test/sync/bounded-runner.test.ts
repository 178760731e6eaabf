import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedFrequencyRunner } from '../../src/sync/bounded-runner.js';
import { FakeClock } from './fake-clock.js';

function setup(fail: () => boolean = () => false) {
  const clock = new FakeClock();
  const runs: Array<{ at: number; full: boolean }> = [];
  const runner = new BoundedFrequencyRunner(
    async (full) => {
      runs.push({ at: clock.now(), full });
      if (fail()) throw new Error('boom');
    },
    { minIntervalMs: 1000, maxIntervalMs: 60_000, retryIntervalMs: 5000, clock },
  );
  return { clock, runs, runner };
}

test('first run is immediate and full', async () => {
  const { clock, runs, runner } = setup();
  runner.start();
  await clock.advance(0);
  assert.deepEqual(runs, [{ at: 0, full: true }]);
  runner.stop();
});

test('requests within minInterval coalesce into one run', async () => {
  const { clock, runs, runner } = setup();
  runner.start();
  await clock.advance(0);
  await clock.advance(100);
  runner.request();
  runner.request();
  await clock.advance(200);
  runner.request();
  await clock.advance(2000);
  assert.deepEqual(runs, [
    { at: 0, full: true },
    { at: 1000, full: false },
  ]);
  runner.stop();
});

test('a request after minInterval runs at once', async () => {
  const { clock, runs, runner } = setup();
  runner.start();
  await clock.advance(5000);
  runner.request();
  await clock.advance(0);
  assert.equal(runs.length, 2);
  assert.deepEqual(runs[1], { at: 5000, full: false });
  runner.stop();
});

test('periodic full resync every maxInterval without requests', async () => {
  const { clock, runs, runner } = setup();
  runner.start();
  await clock.advance(125_000);
  assert.deepEqual(
    runs.map((r) => [r.at, r.full]),
    [
      [0, true],
      [60_000, true],
      [120_000, true],
    ],
  );
  runner.stop();
});

test('a failed run is retried after retryInterval as a full sync', async () => {
  let failures = 1;
  const { clock, runs, runner } = setup(() => failures-- > 0);
  runner.start();
  await clock.advance(4999);
  assert.equal(runs.length, 1);
  await clock.advance(1);
  assert.deepEqual(runs[1], { at: 5000, full: true });
  runner.stop();
});

test('a request after a failure runs at minInterval and is full', async () => {
  let failures = 1;
  const { clock, runs, runner } = setup(() => failures-- > 0);
  runner.start();
  await clock.advance(0);
  runner.request();
  await clock.advance(1000);
  assert.deepEqual(runs[1], { at: 1000, full: true });
  runner.stop();
});

test('stop cancels everything', async () => {
  const { clock, runs, runner } = setup();
  runner.start();
  await clock.advance(0);
  runner.stop();
  runner.request();
  await clock.advance(200_000);
  assert.equal(runs.length, 1);
});
