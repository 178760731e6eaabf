import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { digest, stableStringify } from '../../src/tracker/signatures.js';

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
  assert.equal(stableStringify({ b: 1, a: { d: 1, c: 2 } }), stableStringify({ a: { c: 2, d: 1 }, b: 1 }));
});

test('digest: fixed length, equal for equal text, different otherwise', () => {
  assert.equal(digest('x').length, 44);
  assert.equal(digest('x'), digest('x'));
  assert.notEqual(digest('x'), digest('y'));
});
