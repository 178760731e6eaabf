// Is a BPF fd a map or a program? bpf_obj_get opens either kind of pin, and
// BPF_OBJ_GET_INFO_BY_FD would fill a map-info buffer with program info (or the other
// way round) without complaint, so the kind is read from /proc/self/fdinfo first.
import { readFileSync } from 'node:fs';
import { BpfError } from '../src/errors.js';
import { ERRNO } from './fail.js';

export function expectFdKind(fd: number, kind: 'map' | 'prog', what: string): void {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  if (!info.includes(`\n${kind}_type:`)) {
    throw new BpfError(`open ${what}`, ERRNO.EINVAL, `pinned object is not a BPF ${kind === 'map' ? 'map' : 'program'}`);
  }
}
