// Network interface names to indexes, in the calling process's network namespace.
import { AttachError } from '../src/errors.js';
import { c, clearErrno, lastErrno } from './libbpf.js';
import { ERRNO } from './fail.js';

/** if_nametoindex(3); AttachError (ENODEV) with a clear message when there is no such interface. */
export function ifIndex(ifname: string): number {
  clearErrno();
  const index = c.if_nametoindex(ifname) as number;
  if (index > 0) return index;
  const errno = lastErrno() || ERRNO.ENODEV;
  throw new AttachError(
    ifname,
    'look up interface',
    errno,
    `no network interface named "${ifname}" in this network namespace`,
  );
}
