import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { KPX_MAX_BACKENDS_PER_SVC } from '../../src/encoder/limits.js';

test('KPX_MAX_BACKENDS_PER_SVC matches bpf/constants.h', () => {
  const header = readFileSync(new URL('../../bpf/constants.h', import.meta.url), 'utf8');
  const m = /#define KPX_MAX_BACKENDS_PER_SVC (\d+)/.exec(header);
  assert.ok(m, 'KPX_MAX_BACKENDS_PER_SVC not found in bpf/constants.h');
  assert.equal(Number(m[1]), KPX_MAX_BACKENDS_PER_SVC);
});
