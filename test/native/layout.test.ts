// The koffi struct declarations in native/libbpf.ts against the real C layouts: a small C
// program built from the installed libbpf headers prints every size and offset.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BpfMapBatchOpts,
  BpfMapInfo,
  BpfObjectOpenOpts,
  BpfProgInfoHead,
  BpfTcHook,
  BpfTcOpts,
  BpfTestRunOpts,
  koffi,
} from '../../native/libbpf.js';

const dir = mkdtempSync(join(tmpdir(), 'kpxnat-layout-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cLayouts(): Record<string, Record<string, number>> {
  const exe = join(dir, 'layout');
  execFileSync('clang', ['-O0', '-o', exe, fileURLToPath(new URL('./fixtures/layout.c', import.meta.url))]);
  return JSON.parse(execFileSync(exe, { encoding: 'utf8' })) as Record<string, Record<string, number>>;
}

const MIRRORS: Array<[string, koffi.IKoffiCType]> = [
  ['bpf_object_open_opts', BpfObjectOpenOpts],
  ['bpf_test_run_opts', BpfTestRunOpts],
  ['bpf_map_batch_opts', BpfMapBatchOpts],
  ['bpf_map_info', BpfMapInfo],
  ['bpf_prog_info', BpfProgInfoHead],
  ['bpf_tc_hook', BpfTcHook],
  ['bpf_tc_opts', BpfTcOpts],
];

test('koffi struct layouts match the C headers field for field', () => {
  const c = cLayouts();
  for (const [name, type] of MIRRORS) {
    const fields = c[name];
    assert.ok(fields, `${name} printed`);
    for (const [field, offset] of Object.entries(fields)) {
      if (field === '_' || field === 'sizeof') continue;
      assert.equal(koffi.offsetof(type, field), offset, `${name}.${field}`);
    }
    // bpf_prog_info is mirrored only up to `name`; every other struct must match whole,
    // because its size goes into `sz` / info_len.
    if (name === 'bpf_prog_info') {
      assert.equal(koffi.sizeof(type), fields.name! + 16);
    } else {
      assert.equal(koffi.sizeof(type), fields.sizeof, `sizeof ${name}`);
    }
  }
});
