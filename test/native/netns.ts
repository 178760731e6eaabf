// A throwaway network namespace (kpxnat-*) with a veth pair, and a way to run code
// inside it from this process: setns(2) moves only the calling (JS) thread, and every
// libbpf attach call opens its netlink socket on that thread. Frames are sent with a raw
// AF_PACKET socket, so the tests need no IP addresses and no tools beyond iproute2.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const setns = libc.func('int setns(int fd, int nstype)');
const socket = libc.func('int socket(int domain, int type, int protocol)');
const sendto = libc.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)');
const closeFd = libc.func('int close(int fd)');

const CLONE_NEWNET = 0x40000000;
const AF_PACKET = 17;
const SOCK_RAW = 3;

let seq = 0;

export interface TestNetns {
  name: string;
  /** The two ends of the veth pair. */
  a: string;
  b: string;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function createNetns(): TestNetns {
  const name = `kpxnat-${process.pid}-${seq++}`;
  const ns: TestNetns = { name, a: 'kpxnat0', b: 'kpxnat1' };
  ip('netns', 'add', name);
  try {
    // No IPv6 (so no router solicitations or DAD): the only frames are the tests' own.
    ip('netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    ip('-n', name, 'link', 'add', ns.a, 'type', 'veth', 'peer', 'name', ns.b);
    ip('-n', name, 'link', 'set', ns.a, 'up');
    ip('-n', name, 'link', 'set', ns.b, 'up');
  } catch (err) {
    deleteNetns(ns);
    throw err;
  }
  return ns;
}

export function deleteNetns(ns: TestNetns): void {
  try {
    ip('netns', 'del', ns.name);
  } catch {
    // already gone
  }
}

/** Run `fn` with this thread inside the namespace (a TestNetns or a name under
 *  /run/netns); always comes back out. */
export function inNetns<T>(ns: TestNetns | string, fn: () => T): T {
  const name = typeof ns === 'string' ? ns : ns.name;
  const home = openSync('/proc/thread-self/ns/net', 'r');
  const target = openSync(`/run/netns/${name}`, 'r');
  try {
    if ((setns(target, CLONE_NEWNET) as number) !== 0) throw new Error(`setns into ${name} failed (errno ${koffi.errno()})`);
    try {
      return fn();
    } finally {
      if ((setns(home, CLONE_NEWNET) as number) !== 0) {
        // Never carry on in the wrong namespace.
        process.stderr.write('FATAL: could not return to the original network namespace\n');
        process.exit(70);
      }
    }
  } finally {
    closeSync(target);
    closeSync(home);
  }
}

/** Run a command (e.g. `tc`) inside the namespace and return its stdout. */
export function nsExec(ns: TestNetns, cmd: string, ...args: string[]): string {
  return ip('netns', 'exec', ns.name, cmd, ...args);
}

/**
 * Send `count` broadcast Ethernet frames of the local-experimental ethertype 0x88b5 out
 * of `ifindex` (of the namespace the thread is in). They arrive on the veth peer.
 */
export function sendFrames(ifindex: number, count: number): void {
  const fd = socket(AF_PACKET, SOCK_RAW, 0) as number;
  if (fd < 0) throw new Error(`socket(AF_PACKET) failed (errno ${koffi.errno()})`);
  try {
    const frame = Buffer.alloc(60);
    frame.fill(0xff, 0, 6); // broadcast destination
    Buffer.from([0x02, 0x6b, 0x70, 0x00, 0x00, 0x01]).copy(frame, 6); // locally administered source
    frame.writeUInt16BE(0x88b5, 12);
    // struct sockaddr_ll { u16 family; be16 protocol; int ifindex; u16 hatype; u8 pkttype, halen; u8 addr[8]; }
    const sll = Buffer.alloc(20);
    sll.writeUInt16LE(AF_PACKET, 0);
    sll.writeUInt16BE(0x88b5, 2);
    sll.writeInt32LE(ifindex, 4);
    sll.writeUInt8(6, 11);
    sll.fill(0xff, 12, 18);
    for (let i = 0; i < count; i++) {
      const n = sendto(fd, frame, frame.length, 0, sll, sll.length) as number;
      if (n !== frame.length) throw new Error(`sendto failed (errno ${koffi.errno()})`);
    }
  } finally {
    closeFd(fd);
  }
}
