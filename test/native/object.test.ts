// BpfObject: open, load, verifier failures, and pinned maps reused across opens.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BpfObject, BpfMap } from '../../native/index.js';
import { BpfError, VerifierError } from '../../src/errors.js';
import { fixtureObject, kvKey, pinDir, removeFixtures, removePins, u32, u64 } from './fixture.js';

after(removeFixtures);

describe('BpfObject', () => {
  test('opens and loads the fixture, listing its maps and programs', (t) => {
    const pins = pinDir();
    t.after(() => removePins(pins));
    const obj = BpfObject.open(fixtureObject('native_test'), { pinRoot: pins });
    t.after(() => obj.close());
    assert.deepEqual(obj.mapNames(), ['t_hash', 't_percpu', 't_lru', 't_pinned', 't_devmap', 't_counts']);
    assert.deepEqual(obj.programNames(), ['tc_count', 'tc_rewrite', 'xdp_pass']);
    obj.load();
    const hash = obj.map('t_hash');
    assert.equal(hash.name, 't_hash');
    assert.equal(hash.keySize, 8);
    assert.equal(hash.valueSize, 8);
    assert.equal(hash.maxEntries, 4);
    assert.equal(hash.type, 1); // BPF_MAP_TYPE_HASH
    assert.ok(hash.fd > 0);
    assert.equal(obj.map('t_hash'), hash, 'handles are cached per name');
    const prog = obj.program('tc_count');
    assert.equal(prog.name, 'tc_count');
    assert.ok(prog.fd > 0);
  });

  test('map() and program() before load() or of unknown names fail with BpfError', (t) => {
    const pins = pinDir();
    t.after(() => removePins(pins));
    const obj = BpfObject.open(fixtureObject('native_test'), { pinRoot: pins });
    t.after(() => obj.close());
    assert.throws(() => obj.map('t_hash'), (e: unknown) => e instanceof BpfError && /not loaded/.test(e.message));
    assert.throws(() => obj.map('nope'), (e: unknown) => e instanceof BpfError && e.errno === 2);
    assert.throws(() => obj.program('nope'), (e: unknown) => e instanceof BpfError && e.errno === 2);
  });

  test('open of a missing file fails with BpfError ENOENT', () => {
    assert.throws(
      () => BpfObject.open('/nonexistent/kpxnat.o'),
      (e: unknown) => e instanceof BpfError && e.errno === 2 && e.op.includes('/nonexistent/kpxnat.o'),
    );
  });

  test('a program the verifier rejects fails load() with VerifierError carrying the log', (t) => {
    const obj = BpfObject.open(fixtureObject('native_reject'));
    t.after(() => obj.close());
    assert.throws(
      () => obj.load(),
      (e: unknown) =>
        e instanceof VerifierError &&
        e.code === 'KPX_VERIFIER' &&
        e.errno === 13 &&
        /invalid access to packet/.test(e.log) &&
        e.message.includes('tc_unchecked'),
    );
  });

  test('maxEntries overrides a map size before load', (t) => {
    const pins = pinDir();
    t.after(() => removePins(pins));
    const obj = BpfObject.open(fixtureObject('native_test'), { pinRoot: pins, maxEntries: { t_lru: 1000 } });
    t.after(() => obj.close());
    obj.load();
    assert.equal(obj.map('t_lru').maxEntries, 1000);
  });

  test('pinned-by-name maps are pinned under pinRoot and reused by the next open: state survives', (t) => {
    const pins = pinDir();
    t.after(() => removePins(pins));
    const path = fixtureObject('native_test');

    const first = BpfObject.open(path, { pinRoot: pins });
    first.load();
    assert.equal(first.pinPath('t_pinned'), `${pins}/t_pinned`);
    assert.equal(first.pinPath('t_hash'), undefined, 't_hash is not pinned');
    first.map('t_pinned').update(u32(7), u64(0x1234));
    first.map('t_hash').update(kvKey(1), u64(1));
    first.close();
    assert.ok(existsSync(`${pins}/t_pinned`), 'the pin outlives the object');

    const second = BpfObject.open(path, { pinRoot: pins });
    t.after(() => second.close());
    second.load();
    assert.deepEqual(second.map('t_pinned').lookup(u32(7)), u64(0x1234), 'pinned map was adopted');
    assert.equal(second.map('t_hash').lookup(kvKey(1)), undefined, 'unpinned map is new');

    const viaPin = BpfMap.openPinned(`${pins}/t_pinned`);
    t.after(() => viaPin.close());
    assert.deepEqual(viaPin.lookup(u32(7)), u64(0x1234));
  });

  test('an incompatible existing pin makes load() fail instead of silently replacing it', (t) => {
    const pins = pinDir();
    t.after(() => removePins(pins));
    const path = fixtureObject('native_test');
    const first = BpfObject.open(path, { pinRoot: pins });
    first.load();
    first.close();
    const second = BpfObject.open(path, { pinRoot: pins, maxEntries: { t_pinned: 256 } });
    t.after(() => second.close());
    assert.throws(
      () => second.load(),
      (e: unknown) => e instanceof BpfError && !(e instanceof VerifierError) && /t_pinned/.test(e.message),
    );
  });

  test('handles stop working once their object is closed', (t) => {
    const pins = pinDir();
    t.after(() => removePins(pins));
    const obj = BpfObject.open(fixtureObject('native_test'), { pinRoot: pins });
    obj.load();
    const m = obj.map('t_hash');
    obj.close();
    assert.throws(() => m.lookup(kvKey(1)), (e: unknown) => e instanceof BpfError && e.errno === 9);
    assert.throws(() => obj.map('t_hash'), (e: unknown) => e instanceof BpfError && e.errno === 9);
  });
});
