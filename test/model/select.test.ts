import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { clusterSet, localSet, topologyZone } from '../../src/model/select.js';
import type { ModelBackend } from '../../src/model/types.js';

function b(addr: string, more: Partial<ModelBackend> = {}): ModelBackend {
  return { addr, port: 80, local: false, ready: true, serving: true, terminating: false, zoneHints: [], ...more };
}
const addrs = (xs: readonly ModelBackend[]) => xs.map((x) => x.addr);

test('E1: ready endpoints are usable; serving-terminating ones are kept, not usable', () => {
  const set = clusterSet([b('10.0.0.1'), b('10.0.0.2', { ready: false, terminating: true })], undefined);
  assert.deepEqual(addrs(set.usable), ['10.0.0.1']);
  assert.deepEqual(addrs(set.kept), ['10.0.0.2']);
});

test('E1: with no ready endpoint, serving-terminating ones become usable; not-serving ones never', () => {
  const set = clusterSet(
    [b('10.0.0.1', { ready: false, terminating: true }), b('10.0.0.2', { ready: false, serving: false, terminating: true })],
    undefined,
  );
  assert.deepEqual(addrs(set.usable), ['10.0.0.1']);
  assert.deepEqual(addrs(set.kept), []);
});

test('E1: the Local fallback is computed on local endpoints alone', () => {
  const eps = [b('10.0.0.1', { local: true, ready: false, terminating: true }), b('10.0.0.2')];
  assert.deepEqual(addrs(clusterSet(eps, undefined).usable), ['10.0.0.2']);
  assert.deepEqual(addrs(localSet(eps).usable), ['10.0.0.1']);
  assert.deepEqual(addrs(localSet([b('10.0.0.2')]).usable), []);
});

test('E3: hints need a node zone, hints on every ready endpoint, and one for this zone', () => {
  const hinted = [b('10.0.0.1', { zoneHints: ['a'] }), b('10.0.0.2', { zoneHints: ['b'] })];
  assert.equal(topologyZone(hinted, 'a'), 'a');
  assert.equal(topologyZone(hinted, undefined), undefined);
  assert.equal(topologyZone(hinted, 'c'), undefined);
  assert.equal(topologyZone([...hinted, b('10.0.0.3')], 'a'), undefined);
  // A not-ready endpoint without hints does not disable them.
  assert.equal(topologyZone([...hinted, b('10.0.0.3', { ready: false })], 'a'), 'a');
});

test('E3: hints do not apply to the terminating fallback', () => {
  const eps = [b('10.0.0.1', { ready: false, terminating: true, zoneHints: ['b'] }), b('10.0.0.2', { ready: false, terminating: true })];
  assert.deepEqual(addrs(clusterSet(eps, 'a').usable), ['10.0.0.1', '10.0.0.2']);
});
