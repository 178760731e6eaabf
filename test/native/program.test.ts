// BpfProgram.testRun (BPF_PROG_TEST_RUN) and program pins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfObject, BpfProgram } from '../../native/index.js';
import { BpfError } from '../../src/errors.js';
import { fixtureObject, pinDir, removeFixtures, removePins, u32 } from './fixture.js';

const TC_ACT_OK = 0;
const XDP_PASS = 2;

describe('BpfProgram', () => {
  let obj: BpfObject;
  let pins: string;
  before(() => {
    pins = pinDir();
    obj = BpfObject.open(fixtureObject('native_test'), { pinRoot: pins });
    obj.load();
  });
  after(() => {
    obj.close();
    removePins(pins);
    removeFixtures();
  });

  test('testRun returns the verdict and the rewritten packet bytes', () => {
    const packet = Buffer.alloc(60, 0x11);
    const r = obj.program('tc_rewrite').testRun({ data: packet });
    assert.equal(r.retval, 7);
    assert.equal(r.data.length, 60);
    assert.equal(r.data[0], 0xab);
    assert.deepEqual(r.data.subarray(1), packet.subarray(1));
    assert.equal(packet[0], 0x11, 'the input buffer is not modified');
  });

  test('testRun with repeat runs the program that many times and reports a duration', () => {
    const counts = obj.map('t_counts');
    const before = counts.lookup(u32(0))!.readBigUInt64LE();
    const r = obj.program('tc_count').testRun({ data: Buffer.alloc(64), repeat: 1000 });
    assert.equal(r.retval, TC_ACT_OK);
    assert.ok(r.durationNs > 0);
    assert.equal(counts.lookup(u32(0))!.readBigUInt64LE() - before, 1000n);
  });

  test('testRun of an XDP program', () => {
    const r = obj.program('xdp_pass').testRun({ data: Buffer.alloc(64, 0x22) });
    assert.equal(r.retval, XDP_PASS);
    assert.deepEqual(r.data, Buffer.alloc(64, 0x22));
  });

  test('testRun with a too small dataOutSize explains itself', () => {
    assert.throws(
      () => obj.program('tc_rewrite').testRun({ data: Buffer.alloc(64), dataOutSize: 16 }),
      (e: unknown) => e instanceof BpfError && e.errno === 28 && /dataOutSize/.test(e.message),
    );
  });

  test('testRun of a packet shorter than an Ethernet header is refused by the kernel', () => {
    assert.throws(
      () => obj.program('tc_rewrite').testRun({ data: Buffer.alloc(4) }),
      (e: unknown) => e instanceof BpfError && e.errno === 22,
    );
  });

  test('pin and openPinned give a working program handle', (t) => {
    obj.program('tc_rewrite').pin(`${pins}/prog_rewrite`);
    const p = BpfProgram.openPinned(`${pins}/prog_rewrite`);
    t.after(() => p.close());
    assert.equal(p.name, 'tc_rewrite');
    assert.equal(p.type, 3); // BPF_PROG_TYPE_SCHED_CLS
    assert.equal(p.testRun({ data: Buffer.alloc(20) }).retval, 7);
    p.close();
    assert.throws(() => p.fd, (e: unknown) => e instanceof BpfError && e.errno === 9);
  });

  test('openPinned refuses a pin of the other kind', () => {
    assert.throws(
      () => BpfProgram.openPinned(`${pins}/t_pinned`),
      (e: unknown) => e instanceof BpfError && /not a BPF program/.test(e.message),
    );
  });
});
