// A "new build" of the datapath for upgrade tests: the same sources compiled with one
// harmless -D change, so the programs' bytes (and tags) differ while every map keeps its
// layout. Built with bpf/Makefile in a scratch directory.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BPF_DIR = fileURLToPath(new URL('../../bpf/', import.meta.url));

export interface Variant {
  path: string;
  remove(): void;
}

/** Builds kpx.bpf.o with `defines` (e.g. ['-DKPX_SELECT_PROBES=7']) into a temp dir. */
export function buildVariant(defines: string[]): Variant {
  const dir = mkdtempSync(join(tmpdir(), 'kpxt-res-bpf-'));
  try {
    for (const f of readdirSync(BPF_DIR)) if (/\.(c|h)$/.test(f) || f === 'Makefile') copyFileSync(join(BPF_DIR, f), join(dir, f));
    // CLANG is the Makefile's one overridable knob; CFLAGS is set with := and would be replaced whole.
    execFileSync('make', ['-s', '-C', dir, `CLANG=clang ${defines.join(' ')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { path: join(dir, 'kpx.bpf.o'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
