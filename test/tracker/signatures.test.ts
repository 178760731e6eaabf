import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { canonicalDigest, digest, stableStringify } from '../../src/tracker/signatures.js';

/** The reference: JSON.stringify with every object's keys sorted by a replacer. */
function reference(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
      return out;
    }) ?? ''
  );
}

test('stableStringify is JSON.stringify with sorted keys, for every kind of value', () => {
  const values: unknown[] = [
    undefined,
    null,
    0,
    -1.5,
    true,
    'a "quoted" \\ string\n\u2028 ünïcode',
    [],
    {},
    [1, undefined, () => 1, Symbol('s'), null, 'x', [[]]],
    { b: 1, a: 2, c: { z: [3, { y: 1, x: undefined, w: () => 1 }], 'é': 1, E: 2, e: 3, '10': 1, '9': 2, '': 0 } },
    { '4294967294': 1, '4294967295': 2, '01': 3, '1': 4, '0': 5, ' 2': 6, a: 7 },
    { when: new Date(Date.UTC(2024, 0, 1)), nested: { toJSON: () => ({ q: 1, p: 2 }) } },
    { spec: { ports: [{ port: 80, name: 'http', protocol: 'TCP', targetPort: 8080 }], selector: { app: 'web' }, clusterIP: '10.96.0.1' } },
  ];
  values.forEach((v, i) => assert.equal(stableStringify(v), reference(v), `value ${i}`));
  values.forEach((v, i) => assert.equal(canonicalDigest(v), digest(reference(v)), `digest of value ${i}`));
  assert.equal(stableStringify({ b: 1, a: { d: 1, c: 2 } }), stableStringify({ a: { c: 2, d: 1 }, b: 1 }));
});

test('stableStringify and canonicalDigest: strings, numbers and sizes that take the slow paths', () => {
  const big = {
    endpoints: Array.from({ length: 3000 }, (_, i) => ({ addresses: [`10.0.${i >> 8}.${i & 255}`], zone: i % 2 ? 'zone-ü' : 'z', n: i, hints: { forZones: [{ name: 'a' }] } })),
  };
  const values: unknown[] = [
    ['\u0000\u001f\t', 'é', 'a\u00e9"b', '\ud83d\ude00 pair', 'lone \ud83d high', 'lone \ude00 low', 'end \ud83d', '\u2028\u2029', 'x'.repeat(70_000)],
    [0, -0, 1, 9, 10, 99, 100, 2 ** 53 - 1, 2 ** 53, -7, 0.1, 1e21, 1e-7, NaN, Infinity, -Infinity, 123456789012345],
    { 'k\u00e9y': 1, 'q"k': 2, 'lone\ud800': 3, b: true, a: false, n: null },
    big,
    Object.assign(Object.create({ inherited: 1 }), { own: 2 }),
  ];
  values.forEach((v, i) => {
    assert.equal(stableStringify(v), reference(v), `value ${i}`);
    assert.equal(canonicalDigest(v), digest(reference(v)), `digest of value ${i}`);
  });
  // The scratch buffer grew for `big` and the long string; later small values are intact.
  assert.equal(stableStringify({ b: [1], a: 'x' }), '{"a":"x","b":[1]}');
});

test('canonicalDigest: a toJSON that takes a signature itself does not corrupt the outer one', () => {
  const inner = { toJSON: () => ({ inner: canonicalDigest({ z: 1, y: [2] }) }) };
  const v = { b: inner, a: 'text' };
  assert.equal(stableStringify(v), reference(v));
  assert.equal(canonicalDigest(v), digest(reference(v)));
});

test('digest: fixed length, equal for equal text, different otherwise', () => {
  assert.equal(digest('x').length, 44);
  assert.equal(digest('x'), digest('x'));
  assert.notEqual(digest('x'), digest('y'));
});
