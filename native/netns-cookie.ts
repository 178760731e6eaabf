// The cookie of the calling thread's network namespace (SO_NETNS_COOKIE, Linux 5.14+):
// the same 64-bit value BPF programs get from bpf_get_netns_cookie(), so socket hooks
// shared by several namespaces can tell which one a socket lives in.
import { BpfError } from '../src/errors.js';
import { koffi } from './libbpf.js';

const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int domain, int type, int protocol)');
const getsockopt = libc.func('int getsockopt(int fd, int level, int optname, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)');
const close = libc.func('int close(int fd)');

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_NETNS_COOKIE = 71;

export function netnsCookie(): bigint {
  const fd = socket(AF_INET, SOCK_DGRAM, 0) as number;
  if (fd < 0) throw new BpfError('socket', koffi.errno(), 'cannot create a socket to read the netns cookie');
  try {
    const buf = Buffer.alloc(8);
    const len = [8];
    if ((getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, buf, len) as number) !== 0) {
      throw new BpfError('getsockopt(SO_NETNS_COOKIE)', koffi.errno(), 'kernel lacks SO_NETNS_COOKIE (Linux 5.14+)');
    }
    return buf.readBigUInt64LE(0);
  } finally {
    close(fd);
  }
}
