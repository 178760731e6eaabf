import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BACKEND_STATE, PROTO, SCOPE } from '../../src/datapath/abi.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import { frontendIdentity, type EncodedFrontend } from '../../src/encoder/types.js';
import { KpxError } from '../../src/errors.js';

const be = (addr: string, port = 80) => ({ addr, port, proto: PROTO.TCP });

/** What the maps hold: frontend `identity` (svcId, vip:80) with one backend, id backendId at addr:80. */
function programmedWithOne(identity: string, svcId: number, vip: string, backendId: number, addr: string): Map<string, EncodedFrontend> {
  const frontend: EncodedFrontend = {
    owner: 'x',
    svcId,
    key: { addr: vip, port: 80, slot: 0, proto: PROTO.TCP, scope: 0 },
    value: { backendId: 0, svcId, count: 1, flags: 1, affinityTimeoutS: 0 },
    slots: [backendId],
    backends: new Map([[backendId, { ...be(addr), state: BACKEND_STATE.ACTIVE, svcId }]]),
  };
  return new Map([[identity, frontend]]);
}

test('ids are stable per identity, distinct across identities, and never 0', () => {
  const ids = new IdAllocator();
  const a = ids.svcId('10.96.0.1:80/6/0');
  const b = ids.svcId('10.96.0.2:80/6/0');
  assert.notEqual(a, 0);
  assert.notEqual(a, b);
  assert.equal(ids.svcId('10.96.0.1:80/6/0'), a);
  const x = ids.backendId(a, be('10.244.1.1'));
  assert.notEqual(x, 0);
  assert.equal(ids.backendId(a, be('10.244.1.1')), x);
  // The same endpoint behind another frontend is another backend id.
  assert.notEqual(ids.backendId(b, be('10.244.1.1')), x);
});

test('a live id is never handed out again; a released one is reused only after release', () => {
  const ids = new IdAllocator({ maxSvcId: 3 });
  assert.deepEqual(['a', 'b', 'c'].map((k) => ids.svcId(k)), [1, 2, 3]);
  assert.throws(() => ids.svcId('d'), (e: unknown) => e instanceof KpxError && e.code === 'KPX_IDS_EXHAUSTED');
  ids.releaseSvc('b');
  assert.equal(ids.svcId('d'), 2);
  assert.equal(ids.svcId('a'), 1);
  assert.equal(ids.svcId('c'), 3);
});

test('a freshly released id is not the next one handed out while others are free', () => {
  const ids = new IdAllocator({ maxSvcId: 10 });
  ids.svcId('a');
  ids.svcId('b');
  ids.releaseSvc('a');
  assert.equal(ids.svcId('c'), 3);
});

test('adopted ids are kept, conflicts refused, and fresh ids continue above them', () => {
  const ids = new IdAllocator();
  assert.equal(ids.adopt('x', 7), true);
  assert.equal(ids.adopt('x', 7), true);
  assert.equal(ids.adopt('x', 8), false);
  assert.equal(ids.adopt('y', 7), false);
  assert.equal(ids.adopt('z', 0), false);
  assert.equal(ids.svcId('x'), 7);
  assert.equal(ids.svcId('fresh'), 8);
  assert.equal(ids.adoptBackend(7, be('10.244.1.1'), 40), true);
  assert.equal(ids.backendId(7, be('10.244.1.1')), 40);
  assert.equal(ids.backendId(7, be('10.244.1.2')), 41);
});

test('adoptState seeds every id of a state read back from the maps', () => {
  const key = { addr: '10.96.0.1', port: 80, slot: 0, proto: PROTO.TCP, scope: SCOPE.EXTERNAL };
  const fe: EncodedFrontend = {
    owner: '(adopted)',
    svcId: 12,
    key,
    value: { backendId: 0, svcId: 12, count: 1, flags: 1, affinityTimeoutS: 0 },
    slots: [30],
    backends: new Map([
      [30, { ...be('10.244.1.1', 8080), state: BACKEND_STATE.ACTIVE, svcId: 12 }],
      [31, { ...be('10.244.1.2', 8080), state: BACKEND_STATE.TERMINATING, svcId: 12 }],
    ]),
  };
  const ids = new IdAllocator();
  ids.svcId('other'); // id 1, no conflict with 12
  assert.deepEqual(ids.adoptState(new Map([[frontendIdentity(key), fe]])), []);
  assert.equal(ids.svcId(frontendIdentity(key)), 12);
  assert.equal(ids.backendId(12, be('10.244.1.2', 8080)), 31);
  const clash = new IdAllocator();
  clash.adopt('someone-else', 12);
  assert.equal(clash.adoptState(new Map([[frontendIdentity(key), fe]])).length, 1);
});

test('releasing a frontend releases its backends; releaseUnused keeps exactly what is programmed', () => {
  const ids = new IdAllocator();
  const a = ids.svcId('a');
  const b = ids.svcId('b');
  ids.backendId(a, be('10.244.1.1'));
  const kept = ids.backendId(b, be('10.244.1.1'));
  ids.backendId(b, be('10.244.1.2'));
  ids.releaseSvc('a');
  assert.deepEqual(ids.sizes(), { svcs: 1, backends: 2 });
  const programmed = programmedWithOne('b', b, '10.96.0.2', kept, '10.244.1.1');
  assert.deepEqual(ids.releaseUnused(programmed), { svcs: 0, backends: 1 });
  assert.equal(ids.peekBackendId(b, be('10.244.1.2')), undefined);
  assert.equal(ids.backendId(b, be('10.244.1.1')), kept);
});

test('backend ids are one space across frontends: an adopted id another frontend holds is refused', () => {
  const ids = new IdAllocator();
  assert.equal(ids.adoptBackend(1, be('10.244.1.1'), 5), true);
  assert.equal(ids.adoptBackend(1, be('10.244.1.1'), 5), true);
  assert.equal(ids.adoptBackend(1, be('10.244.1.1'), 6), false);
  assert.equal(ids.adoptBackend(2, be('10.244.1.9'), 5), false);
  assert.equal(ids.backendId(2, be('10.244.1.9')), 6);
  // Same address and port, other protocol: another backend.
  assert.notEqual(ids.backendId(2, { addr: '10.244.1.9', port: 80, proto: PROTO.UDP }), 6);
  ids.releaseBackend(2, be('10.244.1.9'));
  assert.equal(ids.peekBackendId(2, be('10.244.1.9')), undefined);
  assert.deepEqual(ids.sizes(), { svcs: 0, backends: 2 });
});

test('releaseUnused frees the backends of frontends the maps do not hold, and ids no programmed frontend names', () => {
  const ids = new IdAllocator();
  const a = ids.svcId('a');
  const gone = ids.svcId('gone');
  const keep = ids.backendId(a, be('10.244.1.1'));
  const drop = ids.backendId(a, be('10.244.1.2'));
  ids.backendId(gone, be('10.244.1.1'));
  const programmed = programmedWithOne('a', a, '10.96.0.1', keep, '10.244.1.1');
  assert.deepEqual(ids.releaseUnused(programmed), { svcs: 1, backends: 2 });
  assert.equal(ids.peekSvcId('gone'), undefined);
  assert.equal(ids.peekBackendId(a, be('10.244.1.2')), undefined);
  assert.equal(ids.backendId(a, be('10.244.1.1')), keep);
  // A released id is not handed out again right away.
  assert.notEqual(ids.backendId(a, be('10.244.1.3')), drop);
});
