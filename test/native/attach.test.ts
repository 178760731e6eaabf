// tc and XDP attach/query/replace/detach on a veth pair inside a kpxnat-* network
// namespace, checked both through the API and with iproute2, and with real frames.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BpfObject,
  ifIndex,
  tcAttach,
  tcDetach,
  tcQuery,
  tcRemoveClsact,
  TC_DEFAULTS,
  xdpAttach,
  xdpDetach,
  xdpQuery,
} from '../../native/index.js';
import { AttachError } from '../../src/errors.js';
import { fixtureObject, pinDir, removeFixtures, removePins, u32 } from './fixture.js';
import { createNetns, deleteNetns, inNetns, nsExec, sendFrames, type TestNetns } from './netns.js';

/** The kernel id of the program behind `fd`, from /proc/self/fdinfo, independent of libbpf. */
function progId(fd: number): number {
  const m = /prog_id:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  assert.ok(m, 'fdinfo has prog_id');
  return Number(m[1]);
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('tc and XDP attach', () => {
  let ns: TestNetns;
  let obj: BpfObject;
  let pins: string;
  before(() => {
    ns = createNetns();
    pins = pinDir();
    obj = BpfObject.open(fixtureObject('native_test'), { pinRoot: pins });
    obj.load();
  });
  after(() => {
    obj?.close();
    if (ns) deleteNetns(ns);
    if (pins) removePins(pins);
    removeFixtures();
  });

  test('tc attach, query, replace and detach on ingress', () => {
    const count = obj.program('tc_count');
    const rewrite = obj.program('tc_rewrite');
    inNetns(ns, () => {
      assert.equal(tcQuery(ns.b, 'ingress'), undefined, 'nothing before attach (not even clsact)');
      const id = tcAttach(ns.b, count, 'ingress');
      assert.equal(id, progId(count.fd));
      assert.deepEqual(tcQuery(ns.b, 'ingress'), { progId: id });
      const shown = nsExec(ns, 'tc', 'filter', 'show', 'dev', ns.b, 'ingress');
      assert.match(shown, /handle 0x6b70/);
      assert.match(shown, new RegExp(`pref ${TC_DEFAULTS.priority} bpf`));
      assert.match(shown, /tc_count.*direct-action/);

      // Attaching again at the same handle/priority replaces in place: one filter, new program.
      const id2 = tcAttach(ns.b, rewrite, 'ingress');
      assert.notEqual(id2, id);
      assert.deepEqual(tcQuery(ns.b, 'ingress'), { progId: id2 });
      const after = nsExec(ns, 'tc', 'filter', 'show', 'dev', ns.b, 'ingress');
      assert.equal(after.match(/handle 0x6b70/g)?.length, 1);
      assert.match(after, /tc_rewrite/);

      assert.equal(tcDetach(ns.b, 'ingress'), true);
      assert.equal(tcQuery(ns.b, 'ingress'), undefined);
      assert.equal(tcDetach(ns.b, 'ingress'), false, 'second detach finds nothing');
      assert.doesNotMatch(nsExec(ns, 'tc', 'filter', 'show', 'dev', ns.b, 'ingress'), /bpf/);
    });
  });

  test('tc handle and priority are overridable; egress is separate from ingress', () => {
    const count = obj.program('tc_count');
    inNetns(ns, () => {
      const opts = { handle: 0x77, priority: 9 };
      tcAttach(ns.a, count, 'egress', opts);
      assert.ok(tcQuery(ns.a, 'egress', opts));
      assert.equal(tcQuery(ns.a, 'egress'), undefined, 'default handle/priority is a different filter');
      assert.equal(tcQuery(ns.a, 'ingress', opts), undefined);
      assert.match(nsExec(ns, 'tc', 'filter', 'show', 'dev', ns.a, 'egress'), /pref 9 bpf .*handle 0x77/s);
      assert.equal(tcDetach(ns.a, 'egress', opts), true);
      assert.equal(tcRemoveClsact(ns.a), true);
      assert.doesNotMatch(nsExec(ns, 'tc', 'qdisc', 'show', 'dev', ns.a), /clsact/);
      assert.equal(tcRemoveClsact(ns.a), false);
    });
  });

  test('an attached tc program sees real frames', async () => {
    const counts = obj.map('t_counts');
    const read = (): bigint => counts.lookup(u32(0))!.readBigUInt64LE();
    const start = read();
    inNetns(ns, () => {
      tcAttach(ns.b, obj.program('tc_count'), 'ingress');
      sendFrames(ifIndex(ns.a), 5);
    });
    try {
      await waitFor(() => read() - start >= 5n, 'frames counted at tc ingress');
    } finally {
      inNetns(ns, () => tcDetach(ns.b, 'ingress'));
    }
  });

  test('XDP attach (generic, native, auto), query and detach', async () => {
    const xdp = obj.program('xdp_pass');
    const id = progId(xdp.fd);
    const counts = obj.map('t_counts');
    const read = (): bigint => counts.lookup(u32(1))!.readBigUInt64LE();
    inNetns(ns, () => {
      assert.equal(xdpQuery(ns.b), undefined);
      assert.equal(xdpDetach(ns.b), false);

      xdpAttach(ns.b, xdp, 'generic');
      assert.deepEqual(xdpQuery(ns.b, 'generic'), { progId: id });
      assert.equal(xdpQuery(ns.b, 'native'), undefined);
      assert.match(nsExec(ns, 'ip', 'link', 'show', 'dev', ns.b), new RegExp(`xdpgeneric.*id ${id}`, 's'));
      assert.equal(xdpDetach(ns.b, 'generic'), true);
      assert.equal(xdpQuery(ns.b), undefined);

      xdpAttach(ns.b, xdp, 'native'); // veth has native XDP
      assert.deepEqual(xdpQuery(ns.b, 'native'), { progId: id });
      assert.match(nsExec(ns, 'ip', 'link', 'show', 'dev', ns.b), new RegExp(`xdp[^g].*id ${id}`, 's'));
    });
    const start = read();
    inNetns(ns, () => sendFrames(ifIndex(ns.a), 3));
    await waitFor(() => read() - start >= 3n, 'frames counted at XDP');
    inNetns(ns, () => {
      assert.equal(xdpDetach(ns.b), true, 'auto detaches the native program');
      assert.equal(xdpQuery(ns.b), undefined);

      xdpAttach(ns.b, xdp, 'auto');
      assert.deepEqual(xdpQuery(ns.b), { progId: id });
      assert.equal(xdpDetach(ns.b, 'auto'), true);
      assert.equal(xdpQuery(ns.b), undefined);
    });
  });

  test('attaching the wrong program type fails with AttachError', () => {
    inNetns(ns, () => {
      assert.throws(
        () => xdpAttach(ns.b, obj.program('tc_count'), 'generic'),
        (e: unknown) => e instanceof AttachError && e.iface === ns.b && e.code === 'KPX_ATTACH' && e.errno > 0,
      );
    });
  });

  test('a missing interface is a clear AttachError (ENODEV)', () => {
    assert.throws(
      () => ifIndex('kpxnat-nope'),
      (e: unknown) =>
        e instanceof AttachError && e.errno === 19 && e.iface === 'kpxnat-nope' && /no network interface named "kpxnat-nope"/.test(e.message),
    );
    assert.throws(() => tcAttach('kpxnat-nope', obj.program('tc_count'), 'ingress'), AttachError);
    assert.throws(() => xdpAttach('kpxnat-nope', obj.program('xdp_pass')), AttachError);
    assert.ok(inNetns(ns, () => ifIndex(ns.a)) > 0);
    assert.equal(inNetns(ns, () => ifIndex('lo')), 1);
  });
});
