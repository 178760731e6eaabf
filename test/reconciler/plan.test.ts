// The write order of plan.ts, checked by replaying every single write of a plan against an
// in-memory copy of the two maps and asking, after each write, what a packet would see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND_STATE, PROTO, SCOPE, SVC_FLAGS, type Backend } from '../../src/datapath/abi.js';
import { frontendIdentity, type EncodedFrontend } from '../../src/encoder/types.js';
import { emptyPlan, planFrontend, sameFrontend, type WritePlan } from '../../src/reconciler/plan.js';

const VIP = '10.96.0.10';

function fe(svcId: number, backendIds: number[], extra: number[] = []): EncodedFrontend {
  const key = { addr: VIP, port: 8080, slot: 0, proto: PROTO.TCP, scope: SCOPE.EXTERNAL };
  const backends = new Map<number, Backend>();
  for (const id of [...backendIds, ...extra])
    backends.set(id, {
      addr: `10.244.1.${id}`,
      port: 8000,
      proto: PROTO.TCP,
      state: backendIds.includes(id) ? BACKEND_STATE.ACTIVE : BACKEND_STATE.TERMINATING,
      svcId,
    });
  return {
    owner: 'default/hdls',
    svcId,
    key,
    value: { backendId: 0, svcId, count: backendIds.length, flags: SVC_FLAGS.CLUSTER_IP, affinityTimeoutS: 0 },
    slots: backendIds,
    backends,
  };
}

interface World {
  slots: Map<number, number>; // slot -> backend id (slot 0 -> count)
  backends: Set<number>;
}

function load(f: EncodedFrontend | undefined): World {
  const w: World = { slots: new Map(), backends: new Set() };
  if (!f) return w;
  w.slots.set(0, f.value.count);
  f.slots.forEach((id, i) => w.slots.set(i + 1, id));
  for (const id of f.backends.keys()) w.backends.add(id);
  return w;
}

/** Every slot a packet can pick (1..count) names a backend that exists. */
function packetSafe(w: World): boolean {
  const count = w.slots.get(0);
  if (count === undefined) return true; // frontend absent: packets pass
  for (let s = 1; s <= count; s++) {
    const id = w.slots.get(s);
    if (id === undefined || !w.backends.has(id)) return false;
  }
  return true;
}

function replay(w: World, p: WritePlan): boolean[] {
  const steps: Array<() => void> = [
    ...p.backendUpserts.map(([id]) => () => void w.backends.add(id)),
    ...p.slotWrites.map(([k, v]) => () => void w.slots.set(k.slot, v.backendId)),
    ...p.frontendWrites.map(([, v]) => () => void w.slots.set(0, v.count)),
    ...p.frontendDeletes.map(() => () => void w.slots.delete(0)),
    ...p.slotDeletes.map((k) => () => void w.slots.delete(k.slot)),
    ...p.backendDeletes.map((id) => () => void w.backends.delete(id)),
  ];
  return steps.map((s) => {
    s();
    return packetSafe(w);
  });
}

const transitions: Array<[string, EncodedFrontend | undefined, EncodedFrontend | undefined]> = [
  ['create', undefined, fe(1, [1, 2, 3])],
  ['grow', fe(1, [1, 2]), fe(1, [1, 2, 3, 4])],
  ['shrink', fe(1, [1, 2, 3, 4]), fe(1, [1, 4])],
  ['replace every backend', fe(1, [1, 2, 3]), fe(1, [4, 5, 6])],
  ['shrink to empty', fe(1, [1, 2, 3]), fe(1, [])],
  ['grow from empty', fe(1, []), fe(1, [7])],
  ['delete', fe(1, [1, 2, 3]), undefined],
  ['backend becomes terminating (C3)', fe(1, [1, 2, 3]), fe(1, [1, 3], [2])],
];

for (const [name, before, after] of transitions) {
  test(`plan ${name}: every intermediate state is packet-safe and the end state is exact`, () => {
    const plan = emptyPlan();
    planFrontend(plan, before, after);
    const w = load(before);
    const safe = replay(w, plan);
    assert.ok(safe.every(Boolean), `unsafe after write #${safe.indexOf(false) + 1}`);
    assert.deepEqual(w, load(after));
  });
}

test('no writes when nothing changed', () => {
  const plan = emptyPlan();
  planFrontend(plan, fe(1, [1, 2]), fe(1, [1, 2]));
  assert.ok(sameFrontend(fe(1, [1, 2]), fe(1, [1, 2])));
  assert.deepEqual(plan, emptyPlan());
});

test('only changed slots are rewritten', () => {
  const plan = emptyPlan();
  planFrontend(plan, fe(1, [1, 2, 3]), fe(1, [1, 9, 3]));
  assert.deepEqual(
    plan.slotWrites.map(([k, v]) => [k.slot, v.backendId]),
    [[2, 9]],
  );
  assert.deepEqual(plan.backendUpserts.map(([id]) => id), [9]);
  assert.deepEqual(plan.backendDeletes, [2]);
  assert.equal(plan.frontendWrites.length, 0, 'count unchanged: slot 0 untouched');
  assert.equal(frontendIdentity(fe(1, []).key), `${VIP}:8080/6/0`);
});
