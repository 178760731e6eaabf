// Making sure a directory is on a BPF filesystem, so that maps and programs can be pinned.
import { mkdirSync } from 'node:fs';
import { EnvironmentError } from '../src/errors.js';
import { c, clearErrno, lastErrno } from './libbpf.js';
import { describeErrno } from './log.js';

export const BPF_FS_MAGIC = 0xcafe4a11;
export const DEFAULT_BPFFS = '/sys/fs/bpf';

// struct statfs on 64-bit Linux begins with `long f_type`; 120 bytes hold it all.
const STATFS_SIZE = 120;

/** The filesystem magic of the filesystem holding `path`, or undefined if it does not exist. */
export function fsMagic(path: string): number | undefined {
  const buf = Buffer.alloc(STATFS_SIZE);
  if ((c.statfs(path, buf) as number) !== 0) return undefined;
  return Number(buf.readBigInt64LE(0) & 0xffffffffn);
}

export function isBpffs(path: string): boolean {
  return fsMagic(path) === BPF_FS_MAGIC;
}

/**
 * Make `dir` exist on a bpffs. If it (or /sys/fs/bpf, for a directory below it) is not
 * on one, mount a bpffs there (as `mount -t bpf bpf DIR` would). Idempotent: a second
 * call mounts nothing.
 */
export function ensureBpffs(dir: string = DEFAULT_BPFFS): void {
  const underDefault = dir !== DEFAULT_BPFFS && dir.startsWith(`${DEFAULT_BPFFS}/`);
  if (underDefault && !isBpffs(DEFAULT_BPFFS)) mountBpffs(DEFAULT_BPFFS);
  mkdirP(dir);
  if (!isBpffs(dir)) mountBpffs(dir);
}

function mountBpffs(dir: string): void {
  mkdirP(dir);
  clearErrno();
  if ((c.mount('bpf', dir, 'bpf', 0, null) as number) !== 0) {
    const errno = lastErrno();
    throw new EnvironmentError(
      `cannot mount a bpffs at ${dir}: ${describeErrno(errno)} (errno ${errno})`,
      'run as root (CAP_SYS_ADMIN) or mount it first: mount -t bpf bpf /sys/fs/bpf',
    );
  }
}

function mkdirP(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new EnvironmentError(`cannot create ${dir}: ${(err as Error).message}`, 'check the path and permissions');
  }
}
