// Golden cases: one directory per rule (named after its letter), input.yaml in,
// expected.txt (canonical map dump + notes) out. UPDATE_GOLDEN=1 rewrites expected files;
// review every rewritten file against /work/shared/SEMANTICS.md before keeping it.

import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCase } from './run-case.js';

const root = dirname(fileURLToPath(import.meta.url));
const cases = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'input.yaml')))
  .map((d) => d.name)
  .sort();

test('golden cases exist for every rule of groups S, P, E, A', () => {
  const rules = ['S1', 'S2', 'S3', 'S4', 'S5', 'P1', 'P2', 'P3', 'P4', 'E1', 'E2', 'E3', 'A1', 'A2'];
  for (const r of rules) assert.ok(cases.some((c) => c.startsWith(`${r}-`)), `no golden case for ${r}`);
});

for (const name of cases) {
  test(`golden ${name}`, () => {
    const dir = join(root, name);
    const actual = runCase(dir);
    const expectedPath = join(dir, 'expected.txt');
    if (process.env.UPDATE_GOLDEN === '1') {
      writeFileSync(expectedPath, actual);
      return;
    }
    assert.ok(existsSync(expectedPath), `${name}: expected.txt missing (run with UPDATE_GOLDEN=1, then review it)`);
    assert.equal(actual, readFileSync(expectedPath, 'utf8'));
  });
}
