// The repository (or image) root, found from this module's own location: the directory
// above it that holds package.json. The same code runs from src/ through tsx and from
// dist/src/ once compiled (the agent image), so files shipped beside the code (the BPF
// object) cannot be found by a fixed number of "../".

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path below the package root, e.g. "bpf/kpx.bpf.o". */
export function packagePath(relative: string): string {
  return join(PACKAGE_ROOT, relative);
}
