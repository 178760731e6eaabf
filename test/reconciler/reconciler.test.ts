// The reconciler against the real pinned maps of the committed object: writes only the
// difference, and a restarted agent (a new Datapath over the same pins) adopts it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { BACKEND_STATE, PROTO, SCOPE, SVC_FLAGS, encodeBackend, encodeBackendId, encodeSvcKey, encodeSvcValue, type Backend } from '../../src/datapath/abi.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { frontendIdentity, type EncodedFrontend } from '../../src/encoder/types.js';
import { Reconciler } from '../../src/reconciler/reconciler.js';
import { readGeneration } from '../../src/reconciler/backend-generation.js';

const PIN = `/sys/fs/bpf/kpxrec-test-${process.pid}`;

function fe(addr: string, svcId: number, backendIds: number[]): EncodedFrontend {
  const backends = new Map<number, Backend>();
  for (const id of backendIds) backends.set(id, { addr: `10.244.1.${id % 250}`, port: 8000, proto: PROTO.TCP, state: BACKEND_STATE.ACTIVE, svcId });
  return {
    owner: `default/s${svcId}:http`,
    svcId,
    key: { addr, port: 8080, slot: 0, proto: PROTO.TCP, scope: SCOPE.EXTERNAL },
    value: { backendId: 0, svcId, count: backendIds.length, flags: SVC_FLAGS.CLUSTER_IP, affinityTimeoutS: 0 },
    slots: backendIds,
    backends,
  };
}

function state(...fes: EncodedFrontend[]): Map<string, EncodedFrontend> {
  return new Map(fes.map((f) => [frontendIdentity(f.key), f]));
}

test('reconciler writes differences, and a restart adopts without rewriting (C5)', (t) => {
  t.after(() => rmSync(PIN, { recursive: true, force: true }));
  let dp = Datapath.load({ pinDir: PIN });
  try {
    const rec = new Reconciler(dp.maps);
    rec.adopt();
    const a = fe('10.96.0.10', 1, [1, 2, 3]);
    const b = fe('10.96.0.11', 2, [4, 5]);
    let r = rec.apply(state(a, b));
    assert.equal(r.changed, 2);
    assert.equal(r.writes, 5 + 5 + 2);
    assert.equal(dp.maps.services.keys().length, 2 + 5);
    assert.equal(dp.maps.backends.keys().length, 5);

    // Shrink one, leave the other alone: only the shrunk frontend is touched.
    const a2 = fe('10.96.0.10', 1, [1, 3]);
    r = rec.apply(state(a2, b));
    assert.equal(r.changed, 1);
    assert.equal(dp.maps.services.keys().length, 2 + 4);
    assert.equal(dp.maps.backends.keys().length, 4);

    // Restart: a new Datapath over the same pins, a new reconciler adopting them.
    dp.close();
    dp = Datapath.load({ pinDir: PIN });
    const rec2 = new Reconciler(dp.maps);
    const adopted = rec2.adopt();
    assert.equal(adopted.size, 2);
    assert.deepEqual(adopted.get(frontendIdentity(a2.key))!.slots, [1, 3]);
    r = rec2.apply(state(a2, b));
    assert.equal(r.writes, 0, 'nothing rewritten after adoption');

    // Delete a frontend: slot 0, slots and backends all go.
    r = rec2.apply(state(b));
    assert.equal(dp.maps.services.keys().length, 3);
    assert.equal(dp.maps.backends.keys().length, 2);
  } finally {
    dp.close();
  }
});

test('a full sync removes orphans left by an interrupted write', (t) => {
  t.after(() => rmSync(PIN + '-o', { recursive: true, force: true }));
  const dp = Datapath.load({ pinDir: PIN + '-o' });
  try {
    // An orphan backend and a slot without its slot 0, as a crash mid-write would leave.
    dp.maps.backends.update(encodeBackendId(99), encodeBackend({ addr: '10.244.1.99', port: 80, proto: PROTO.TCP, state: 1, svcId: 42 }));
    dp.maps.services.update(
      encodeSvcKey({ addr: '10.96.0.99', port: 80, slot: 1, proto: PROTO.TCP, scope: 0 }),
      encodeSvcValue({ backendId: 99, svcId: 42, count: 0, flags: 0, affinityTimeoutS: 0 }),
    );
    const rec = new Reconciler(dp.maps);
    rec.adopt();
    rec.apply(state(fe('10.96.0.10', 1, [1])));
    assert.equal(dp.maps.services.keys().length, 2);
    assert.deepEqual(dp.maps.backends.keys().map((k) => k.readUInt32LE(0)), [1]);
  } finally {
    dp.close();
  }
});

test('source ranges (T5) are written before the frontend, follow changes and are adopted', (t) => {
  t.after(() => rmSync(PIN + '-r', { recursive: true, force: true }));
  const dp = Datapath.load({ pinDir: PIN + '-r' });
  try {
    const rec = new Reconciler(dp.maps);
    rec.adopt();
    const base = fe('10.255.1.10', 7, [1]);
    const lb = (ranges: string[]): EncodedFrontend => ({
      ...base,
      value: { ...base.value, flags: SVC_FLAGS.LOAD_BALANCER | SVC_FLAGS.SOURCE_RANGES },
      sourceRanges: ranges,
    });
    rec.apply(state(lb(['10.0.0.0/8', '192.0.2.0/24'])));
    assert.equal(dp.maps.srcRanges.keys().length, 2);
    rec.apply(state(lb(['192.0.2.0/24'])));
    assert.equal(dp.maps.srcRanges.keys().length, 1);
    const again = new Reconciler(dp.maps);
    const adopted = again.adopt();
    assert.deepEqual(adopted.get(frontendIdentity(base.key))!.sourceRanges, ['192.0.2.0/24']);
    assert.equal(again.apply(state(lb(['192.0.2.0/24']))).writes, 0);
    again.apply(state());
    assert.equal(dp.maps.srcRanges.keys().length, 0, 'ranges go with the frontend');
  } finally {
    dp.close();
  }
});

test('the backend generation moves after every backend change and only then (conntrack backend cache, C2)', (t) => {
  t.after(() => rmSync(`${PIN}-gen`, { recursive: true, force: true }));
  const dp = Datapath.load({ pinDir: `${PIN}-gen` });
  try {
    const rec = new Reconciler(dp.maps);
    const gen = () => readGeneration(dp.maps.backendGen);
    const g0 = gen();
    rec.adopt();
    assert.equal(gen(), g0 + 1, 'adopting distrusts whatever an earlier writer left cached');
    const a = fe('10.96.0.10', 1, [1, 2, 3]);
    rec.apply(state(a));
    assert.equal(gen(), g0 + 2, 'backends written');
    rec.apply(state(a));
    assert.equal(gen(), g0 + 2, 'nothing written, nothing to distrust');
    rec.apply(state(fe('10.96.0.10', 1, [1, 3])));
    assert.equal(gen(), g0 + 3, 'a backend deleted');
    const b = fe('10.96.0.10', 1, [1, 3]);
    const backends = new Map(b.backends);
    backends.set(3, { ...backends.get(3)!, state: BACKEND_STATE.TERMINATING });
    rec.apply(state({ ...b, backends }));
    assert.equal(gen(), g0 + 4, 'a backend rewritten in place');
  } finally {
    dp.close();
  }
});
