// Turning a failed native call into kpx's typed errors (src/errors.ts).
import { BpfError } from '../src/errors.js';
import { lastErrno } from './libbpf.js';
import { describeErrno, takeLibbpfLog } from './log.js';

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EBADF: 9,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  E2BIG: 7,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524, // kernel-internal "not supported", seen by userspace from some bpf(2) commands
} as const;

/** The positive errno of an int-returning libbpf call (libbpf 1.x returns -errno). */
export function errnoOfRc(rc: number): number {
  return rc < 0 ? -rc : 0;
}

/** errno after a pointer-returning call that gave NULL; EINVAL if nothing was set. */
export function errnoAfterNull(): number {
  const e = lastErrno();
  return e > 0 ? e : ERRNO.EINVAL;
}

/** libbpf's explanation of `errno`, followed by its last few messages if it printed any. */
export function detailFor(errno: number): string {
  // The verifier log libbpf echoes is left out here: VerifierError carries it whole.
  const lines = takeLibbpfLog()
    .filter((l) => !l.includes('PROG LOAD LOG') && l.trim() !== '')
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
  const tail = lines.slice(-6).join('\n  ');
  return tail ? `${describeErrno(errno)}\n  ${tail}` : describeErrno(errno);
}

export function bpfError(op: string, errno: number): BpfError {
  return new BpfError(op, errno, detailFor(errno));
}

/** Throw a BpfError if `rc` is negative; return it otherwise. */
export function check(op: string, rc: number): number {
  if (rc < 0) throw bpfError(op, errnoOfRc(rc));
  return rc;
}
