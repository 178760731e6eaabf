// Is a BPF fd a map or a program? bpf_obj_get opens either kind of pin, and
// BPF_OBJ_GET_INFO_BY_FD would fill a map-info buffer with program info (or the other
// way round) without complaint, so the kind is read from /proc/self/fdinfo first.
import { readFileSync } from 'node:fs';
import { BpfError } from '../src/errors.js';
import { check, ERRNO } from './fail.js';
import { bpf, c } from './libbpf.js';
import { resetLibbpfLog } from './log.js';

export function expectFdKind(fd: number, kind: 'map' | 'prog', what: string): void {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  if (!info.includes(`\n${kind}_type:`)) {
    throw new BpfError(`open ${what}`, ERRNO.EINVAL, `pinned object is not a BPF ${kind === 'map' ? 'map' : 'program'}`);
  }
}

/**
 * Opens a pin of the expected kind and hands its fd to `wrap`; the fd is closed if the
 * pin is of another kind or `wrap` throws, so a failed open leaks nothing.
 */
export function openPinnedFd<T>(path: string, kind: 'map' | 'prog', wrap: (fd: number) => T): T {
  resetLibbpfLog();
  const fd = check(`bpf_obj_get ${path}`, bpf.obj_get(path) as number);
  try {
    expectFdKind(fd, kind, path);
    return wrap(fd);
  } catch (err) {
    c.close(fd);
    throw err;
  }
}
