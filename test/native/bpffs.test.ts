// ensureBpffs: mounts a bpffs only where there is none, and is idempotent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBpffs, isBpffs, numPossibleCpus } from '../../native/index.js';

function bpfMountsAt(dir: string): number {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((line) => {
      const [, target, fstype] = line.split(' ');
      return target === dir && fstype === 'bpf';
    }).length;
}

test('ensureBpffs on /sys/fs/bpf is idempotent', () => {
  ensureBpffs();
  const mounts = bpfMountsAt('/sys/fs/bpf');
  assert.ok(mounts >= 1);
  assert.ok(isBpffs('/sys/fs/bpf'));
  ensureBpffs();
  ensureBpffs('/sys/fs/bpf');
  assert.equal(bpfMountsAt('/sys/fs/bpf'), mounts, 'no second mount');
});

test('ensureBpffs creates nested directories on an existing bpffs without mounting', (t) => {
  const dir = `/sys/fs/bpf/kpxnat-test-${process.pid}-bpffs`;
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  ensureBpffs(`${dir}/a/b`);
  assert.ok(statSync(`${dir}/a/b`).isDirectory());
  assert.ok(isBpffs(`${dir}/a/b`));
  assert.equal(bpfMountsAt(`${dir}/a/b`), 0, 'a directory, not a mount');
});

test('ensureBpffs mounts a bpffs on a directory that is not on one, once', (t) => {
  const base = mkdtempSync(join(tmpdir(), 'kpxnat-bpffs-'));
  const dir = join(base, 'pins');
  t.after(() => {
    while (bpfMountsAt(dir) > 0) execFileSync('umount', [dir]);
    rmSync(base, { recursive: true, force: true });
  });
  assert.equal(isBpffs(base), false);
  ensureBpffs(dir);
  assert.ok(isBpffs(dir));
  assert.equal(bpfMountsAt(dir), 1);
  ensureBpffs(dir);
  assert.equal(bpfMountsAt(dir), 1, 'idempotent');
});

test('numPossibleCpus matches /sys/devices/system/cpu/possible', () => {
  const possible = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  const count = possible.split(',').reduce((n, part) => {
    const [lo, hi] = part.split('-').map(Number);
    return n + (hi === undefined ? 1 : hi - lo! + 1);
  }, 0);
  assert.equal(numPossibleCpus(), count);
});
