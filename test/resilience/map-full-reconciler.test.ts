// Map full, at the reconciler against real (small) maps: a sync that does not fit writes
// every Service that fits, leaves each one that does not either absent (new) or as it
// was (changed), names the map and the Services, and a later sync programs them once
// there is room. Nothing is ever half-written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { BACKEND_STATE, PROTO, SCOPE, SVC_FLAGS, decodeBackend, decodeSvcKey, decodeSvcValue, type Backend } from '../../src/datapath/abi.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { frontendIdentity, type EncodedFrontend } from '../../src/encoder/types.js';
import { Reconciler } from '../../src/reconciler/reconciler.js';
import { ServicesNotProgrammedError } from '../../src/reconciler/not-programmed.js';

const PIN = `/sys/fs/bpf/kpxt-rsr-${process.pid}`;

/** Service sN: one ClusterIP frontend 10.96.0.N:80 with `count` backends, ids N*100+i. */
function svc(n: number, count: number): EncodedFrontend {
  const backends = new Map<number, Backend>();
  const slots: number[] = [];
  for (let i = 1; i <= count; i++) {
    const id = n * 100 + i;
    slots.push(id);
    backends.set(id, { addr: `10.244.${n}.${i}`, port: 8000, proto: PROTO.TCP, state: BACKEND_STATE.ACTIVE, svcId: n });
  }
  return {
    owner: `default/s${n}:http`,
    svcId: n,
    key: { addr: `10.96.0.${n}`, port: 80, slot: 0, proto: PROTO.TCP, scope: SCOPE.EXTERNAL },
    value: { backendId: 0, svcId: n, count, flags: SVC_FLAGS.CLUSTER_IP, affinityTimeoutS: 0 },
    slots,
    backends,
  };
}

function state(...fes: EncodedFrontend[]): Map<string, EncodedFrontend> {
  return new Map(fes.map((f) => [frontendIdentity(f.key), f]));
}

/** Per svcId, what the maps hold: slot-0 count, the slots present, the backends present. */
function held(dp: Datapath): Map<number, { count?: number; slots: number; backends: number }> {
  const m = new Map<number, { count?: number; slots: number; backends: number }>();
  const get = (id: number) => m.get(id) ?? (m.set(id, { slots: 0, backends: 0 }), m.get(id)!);
  for (const [k, v] of dp.maps.services.entries()) {
    const key = decodeSvcKey(k);
    const val = decodeSvcValue(v);
    if (key.slot === 0) get(val.svcId).count = val.count;
    else get(val.svcId).slots++;
  }
  for (const [, v] of dp.maps.backends.entries()) get(decodeBackend(v).svcId).backends++;
  return m;
}

/** Every Service is fully present (count = slots = backends) or fully absent. */
function assertWhole(dp: Datapath, expect: Record<number, number | undefined>): void {
  const h = held(dp);
  for (const [id, n] of Object.entries(expect)) {
    const e = h.get(Number(id));
    if (n === undefined) assert.equal(e, undefined, `s${id} absent`);
    else assert.deepEqual(e, { count: n, slots: n, backends: n }, `s${id} whole with ${n} backends`);
  }
  for (const id of h.keys()) assert.ok(String(id) in expect, `no stray entries of svcId ${id}`);
}

test('map full: every Service that fits is written, the others are whole-or-absent and named; a later sync retries them', (t) => {
  t.after(() => rmSync(PIN, { recursive: true, force: true }));
  const dp = Datapath.load({ pinDir: PIN, maxEntries: { services: 16, backends: 16 } });
  try {
    const rec = new Reconciler(dp.maps);
    rec.adopt();
    rec.apply(state(svc(1, 3), svc(2, 3))); // services 8/16, backends 6/16
    assertWhole(dp, { 1: 3, 2: 3 });

    // s3 (6 entries) and s4 (3) and s5 (2) want 11 more service entries; 8 fit. s2 grows
    // by 4 too. The smallest go first: s5, s4 fit; s2's growth and s3 do not.
    const want = state(svc(1, 3), svc(2, 7), svc(3, 5), svc(4, 2), svc(5, 1));
    let err: unknown;
    try {
      rec.apply(want);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ServicesNotProgrammedError, `expected ServicesNotProgrammedError, got ${String(err)}`);
    assert.equal(err.code, 'KPX_MAP_FULL');
    assert.deepEqual(err.maps, ['kpx_services_v1']);
    assert.deepEqual(err.services, ['default/s2', 'default/s3']);
    assert.match(err.message, /map kpx_services_v1 is full: 2 Service\(s\) not programmed: default\/s2, default\/s3/);
    assertWhole(dp, { 1: 3, 2: 3, 4: 2, 5: 1 });

    // The reconciler believes the truth: a retry without room changes nothing and fails the same way.
    assert.throws(() => rec.apply(want), ServicesNotProgrammedError);
    assertWhole(dp, { 1: 3, 2: 3, 4: 2, 5: 1 });

    // Room appears (s1 and s4 go): the retry programs s2's growth and s3 whole.
    const later = state(svc(2, 7), svc(3, 5), svc(5, 1));
    const r = rec.apply(later);
    assert.ok(r.writes > 0);
    assertWhole(dp, { 2: 7, 3: 5, 5: 1 });
    assert.equal(rec.apply(later).writes, 0, 'in sync afterwards');
  } finally {
    dp.close();
  }
});

test('map full in an incremental sync (only the changed frontends): same guarantees', (t) => {
  t.after(() => rmSync(PIN + '-i', { recursive: true, force: true }));
  const dp = Datapath.load({ pinDir: PIN + '-i', maxEntries: { services: 64, backends: 8 } });
  try {
    const rec = new Reconciler(dp.maps);
    rec.adopt();
    rec.apply(state(svc(1, 4)));
    const want = state(svc(1, 4), svc(2, 3), svc(3, 3)); // backends 4 + 3 + 3 > 8
    assert.throws(
      () => rec.apply(want, [frontendIdentity(svc(2, 0).key), frontendIdentity(svc(3, 0).key)]),
      (e: unknown) => e instanceof ServicesNotProgrammedError && e.maps[0] === 'kpx_backends_v1' && e.services.join() === 'default/s3',
    );
    assertWhole(dp, { 1: 4, 2: 3 });
  } finally {
    dp.close();
  }
});
