// `kpx lab`: refuses ranges the machine already uses, can be run twice, and `lab down`
// leaves nothing behind (namespaces, pins, state files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { checkNoOverlap, hostPrefixes, LAB_RANGES, labDown, labUp, type LabPaths } from '../../src/lab/command.js';
import { listNetns } from '../../src/lab/netns.js';
import { parseCidr } from '../../src/net/ipv4.js';
import { LabError } from '../../src/errors.js';

const PATHS: LabPaths = { prefix: 'kpxt-lab-', stateDir: `/run/kpxt-lab-${process.pid}`, pinRoot: `/sys/fs/bpf/kpxt-lab-${process.pid}` };

test('the lab refuses address ranges that overlap an address the machine has', () => {
  const host = [parseCidr('192.0.2.2/24')!, parseCidr('10.244.7.1/24')!];
  assert.throws(() => checkNoOverlap(LAB_RANGES, host), (err: unknown) => {
    assert.ok(err instanceof LabError);
    assert.match(err.message, /pod-cidr 10\.244\.0\.0\/16 overlaps 10\.244\.7\.0\/24/);
    return true;
  });
  assert.doesNotThrow(() => checkNoOverlap(LAB_RANGES, [parseCidr('192.0.2.2/24')!]));
  // This machine's own addresses are read, not changed.
  assert.ok(hostPrefixes().length > 0);
});

test('lab up twice is safe, and lab down removes every namespace, pin and file', async () => {
  try {
    const first = await labUp({ paths: PATHS, out: () => {}, hostPrefixes: [] });
    const names = listNetns(PATHS.prefix);
    assert.equal(names.length, first.pods.length + first.nodes.length + 1);
    const second = await labUp({ paths: PATHS, out: () => {}, hostPrefixes: [] });
    assert.deepEqual(listNetns(PATHS.prefix), names, 'the second run replaced the first');
    assert.equal(second.nodes.length, 2);
    assert.ok(existsSync(`${PATHS.pinRoot}/node1`));
  } finally {
    const lines: string[] = [];
    labDown(PATHS, (l) => lines.push(l));
    assert.match(lines.join('\n'), /removed/);
  }
  assert.deepEqual(listNetns(PATHS.prefix), []);
  assert.equal(existsSync(PATHS.pinRoot), false);
  assert.equal(existsSync(PATHS.stateDir), false);
});
