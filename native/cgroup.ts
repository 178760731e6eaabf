// Attaching socket-address programs (cgroup/connect4 and friends) to a cgroup v2 as BPF
// links. (The namespace cookie the programs compare with comes from netns-cookie.ts.)
//
// Why links, pinned (see docs/node-originated.md):
//  * A link pinned on bpffs stays attached when the agent exits; a restarted agent opens
//    the pin and swaps its freshly loaded program in with BPF_LINK_UPDATE, an atomic
//    exchange, so connect() is never left untranslated between two agents.
//  * Links to a cgroup are always multi-attach: two agents (two node namespaces on one
//    machine, as in the lab) each own a link on the same cgroup, side by side, and one's
//    update or detach never touches the other's program (bpf_prog_attach without
//    BPF_F_REPLACE could not tell the two apart).
//  * Detaching is BPF_LINK_DETACH on the pinned link plus removing the pin: exactly kpx's
//    program goes, whoever else is attached stays.
import { closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { AttachError, BpfError, EnvironmentError } from '../src/errors.js';
import { fsMagic } from './bpffs.js';
import { BpfProgInfoHead, bpf, c, koffi } from './libbpf.js';
import { detailFor, ERRNO, errnoOfRc } from './fail.js';
import { resetLibbpfLog } from './log.js';
import type { BpfProgram } from './program.js';

const lib = koffi.load('libbpf.so.1');

const native = {
  link_create: lib.func('int bpf_link_create(int prog_fd, int target_fd, int attach_type, const void *opts)'),
  link_update: lib.func('int bpf_link_update(int link_fd, int new_prog_fd, const void *opts)'),
  link_detach: lib.func('int bpf_link_detach(int link_fd)'),
  prog_query: lib.func(
    'int bpf_prog_query(int target_fd, int type, uint32_t query_flags, _Out_ uint32_t *attach_flags, void *prog_ids, _Inout_ uint32_t *prog_cnt)',
  ),
};

/** The socket hooks kpx uses, with their enum bpf_attach_type values (linux/bpf.h). */
export const CGROUP_ATTACH_TYPES = {
  connect4: 10, // BPF_CGROUP_INET4_CONNECT
  sendmsg4: 14, // BPF_CGROUP_UDP4_SENDMSG
  recvmsg4: 19, // BPF_CGROUP_UDP4_RECVMSG
  getpeername4: 29, // BPF_CGROUP_INET4_GETPEERNAME
} as const;
export type CgroupAttachType = keyof typeof CGROUP_ATTACH_TYPES;

const BPF_LINK_TYPE_CGROUP = 3;
const ENOLINK = 67;
const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface CgroupLinkInfo {
  linkId: number;
  progId: number;
  /** The cgroup's id (its inode number on cgroupfs); 0 once the cgroup is gone. */
  cgroupId: bigint;
  attachType: CgroupAttachType | undefined;
}

export interface CgroupAttachOptions {
  /**
   * Pin the link here (on bpffs; parent directories are created). When a link is already
   * pinned here, its program is replaced in place instead (no gap, same link id).
   * Without a pin the link lives only as long as the returned handle stays open.
   */
  pinPath?: string;
}

/** An attached cgroup link, by file descriptor. */
export class CgroupLink {
  #fd: number;

  constructor(
    fd: number,
    readonly cgroupPath: string,
    readonly attachType: CgroupAttachType,
    /** Where the link is pinned, if it is. */
    readonly pinPath: string | undefined,
    /** True when an existing pinned link got the new program (BPF_LINK_UPDATE). */
    readonly replaced: boolean,
  ) {
    this.#fd = fd;
  }

  get fd(): number {
    if (this.#fd < 0) throw new BpfError(`cgroup link ${this.attachType}`, ERRNO.EBADF, 'link handle is closed');
    return this.#fd;
  }

  info(): CgroupLinkInfo {
    return linkInfo(this.fd, this.pinPath ?? this.cgroupPath);
  }

  /** Detach the program from the cgroup and remove the pin, if any. */
  detach(): void {
    resetLibbpfLog();
    const rc = native.link_detach(this.fd) as number;
    if (rc < 0 && rc !== -ENOLINK) throw attachError(this.cgroupPath, `detach ${this.attachType} link`, rc);
    if (this.pinPath) rmSync(this.pinPath, { force: true });
    this.close();
  }

  /** Close the handle. A pinned link stays attached; an unpinned one is detached. */
  close(): void {
    if (this.#fd >= 0) c.close(this.#fd);
    this.#fd = -1;
  }
}

/** Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or …/unified in hybrid layouts). */
export function cgroupV2Root(mounts = '/proc/self/mounts'): string {
  for (const line of readFileSync(mounts, 'utf8').split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2' && mountPoint) return unescapeMountPath(mountPoint);
  }
  throw new EnvironmentError('no cgroup v2 hierarchy is mounted', 'mount one: mount -t cgroup2 none /sys/fs/cgroup/unified');
}

/**
 * Attach `prog` to the cgroup at `cgroupPath` for `attachType` as a BPF link (multi-attach:
 * other programs on the cgroup stay). With `pinPath`, an existing link pinned there is
 * updated to `prog` atomically; a stale pin (its cgroup is gone, or it names another
 * cgroup or hook) is replaced by a new link, attached before the old one goes.
 */
export function cgroupAttach(
  cgroupPath: string,
  prog: BpfProgram,
  attachType: CgroupAttachType,
  opts: CgroupAttachOptions = {},
): CgroupLink {
  const pinPath = opts.pinPath;
  const cgroupId = cgroupIdOf(cgroupPath);
  if (pinPath) {
    const old = openPinnedLink(pinPath);
    if (old !== undefined) {
      const info = linkInfo(old, pinPath);
      if (info.cgroupId === cgroupId && info.attachType === attachType) {
        resetLibbpfLog();
        const rc = native.link_update(old, prog.fd, null) as number;
        if (rc === 0) return new CgroupLink(old, cgroupPath, attachType, pinPath, true);
        if (rc !== -ENOLINK) {
          c.close(old);
          throw attachError(cgroupPath, `replace ${attachType} program with ${prog.name} (link ${pinPath})`, rc);
        }
      }
      // Stale or foreign: attach the new link first, then retire the old one.
      const fresh = createLink(cgroupPath, prog, attachType);
      native.link_detach(old);
      c.close(old);
      rmSync(pinPath, { force: true });
      return pinLink(fresh, cgroupPath, attachType, pinPath);
    }
    return pinLink(createLink(cgroupPath, prog, attachType), cgroupPath, attachType, pinPath);
  }
  return new CgroupLink(createLink(cgroupPath, prog, attachType), cgroupPath, attachType, undefined, false);
}

/** Detach the link pinned at `pinPath` and remove the pin; false if nothing is pinned there. */
export function cgroupDetach(pinPath: string): boolean {
  const fd = openPinnedLink(pinPath);
  if (fd === undefined) return false;
  resetLibbpfLog();
  const rc = native.link_detach(fd) as number;
  c.close(fd);
  // ENOLINK: already detached (its cgroup went away); the pin is all that is left.
  if (rc < 0 && rc !== -ENOLINK) throw attachError(pinPath, 'detach cgroup link', rc);
  rmSync(pinPath, { force: true });
  return true;
}

/** What the link pinned at `pinPath` is attached to, or undefined if nothing is pinned there. */
export function cgroupLinkInfo(pinPath: string): CgroupLinkInfo | undefined {
  const fd = openPinnedLink(pinPath);
  if (fd === undefined) return undefined;
  try {
    return linkInfo(fd, pinPath);
  } finally {
    c.close(fd);
  }
}

/** Ids of the programs attached directly to the cgroup for `attachType`, in run order. */
export function cgroupQuery(cgroupPath: string, attachType: CgroupAttachType): number[] {
  const fd = openCgroup(cgroupPath);
  try {
    let room = 64;
    for (;;) {
      const ids = Buffer.alloc(room * 4);
      const cnt = [room];
      const flags = [0];
      resetLibbpfLog();
      const rc = native.prog_query(fd, CGROUP_ATTACH_TYPES[attachType], 0, flags, ids, cnt) as number;
      if (rc === -ERRNO.ENOSPC) {
        room *= 4;
        continue;
      }
      if (rc < 0) throw attachError(cgroupPath, `query ${attachType} programs`, rc);
      const n = cnt[0] ?? 0;
      return Array.from({ length: n }, (_, i) => ids.readUInt32LE(i * 4));
    }
  } finally {
    closeSync(fd);
  }
}

// ---- internals -----------------------------------------------------------------------

function attachError(where: string, op: string, rc: number): AttachError {
  const errno = errnoOfRc(rc);
  return new AttachError(where, op, errno, detailFor(errno));
}

function openCgroup(cgroupPath: string): number {
  try {
    return openSync(cgroupPath, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw new EnvironmentError(`cannot open cgroup ${cgroupPath}: ${(err as Error).message}`, 'pass a cgroup v2 directory (see cgroupV2Root())');
  }
}

/** The cgroup's id as the kernel reports it in link info: the directory's inode number. */
function cgroupIdOf(cgroupPath: string): bigint {
  if (fsMagic(cgroupPath) !== CGROUP2_SUPER_MAGIC) {
    throw new EnvironmentError(`${cgroupPath} is not on a cgroup v2 filesystem`, 'pass a cgroup v2 directory (see cgroupV2Root())');
  }
  return statSync(cgroupPath, { bigint: true }).ino;
}

function createLink(cgroupPath: string, prog: BpfProgram, attachType: CgroupAttachType): number {
  const cg = openCgroup(cgroupPath);
  try {
    resetLibbpfLog();
    const fd = native.link_create(prog.fd, cg, CGROUP_ATTACH_TYPES[attachType], null) as number;
    if (fd < 0) throw attachError(cgroupPath, `attach ${prog.name} at cgroup ${attachType}`, fd);
    return fd;
  } finally {
    closeSync(cg);
  }
}

function pinLink(fd: number, cgroupPath: string, attachType: CgroupAttachType, pinPath: string): CgroupLink {
  try {
    mkdirSync(dirname(pinPath), { recursive: true, mode: 0o700 });
    resetLibbpfLog();
    const rc = bpf.obj_pin(fd, pinPath) as number;
    if (rc < 0) throw attachError(cgroupPath, `pin ${attachType} link at ${pinPath}`, rc);
  } catch (err) {
    c.close(fd); // unpinned: closing detaches it again
    throw err;
  }
  return new CgroupLink(fd, cgroupPath, attachType, pinPath, false);
}

/** The fd of the link pinned at `pinPath`, or undefined if there is no pin. */
function openPinnedLink(pinPath: string): number | undefined {
  resetLibbpfLog();
  const fd = bpf.obj_get(pinPath) as number;
  if (fd === -ERRNO.ENOENT) return undefined;
  if (fd < 0) throw attachError(pinPath, 'open pinned link', fd);
  const fdinfo = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  if (!fdinfo.includes('\nlink_type:')) {
    c.close(fd);
    throw new BpfError(`open ${pinPath}`, ERRNO.EINVAL, 'pinned object is not a BPF link');
  }
  return fd;
}

// struct bpf_link_info (linux/bpf.h): type, id, prog_id, then a union aligned to 8 whose
// cgroup member is { __u64 cgroup_id; __u32 attach_type; }. The kernel fills as much as
// info_len allows, so only this head is mirrored.
const LINK_INFO = { size: 32, type: 0, id: 4, progId: 8, cgroupId: 16, attachType: 24 } as const;

function linkInfo(fd: number, what: string): CgroupLinkInfo {
  const buf = Buffer.alloc(LINK_INFO.size);
  resetLibbpfLog();
  const rc = bpf.obj_get_info_by_fd(fd, buf, [LINK_INFO.size]) as number;
  if (rc < 0) throw attachError(what, 'read link info', rc);
  const type = buf.readUInt32LE(LINK_INFO.type);
  if (type !== BPF_LINK_TYPE_CGROUP) throw new BpfError(`link info ${what}`, ERRNO.EINVAL, `link type ${type} is not a cgroup link`);
  const at = buf.readUInt32LE(LINK_INFO.attachType);
  const attachType = (Object.keys(CGROUP_ATTACH_TYPES) as CgroupAttachType[]).find((k) => CGROUP_ATTACH_TYPES[k] === at);
  return {
    linkId: buf.readUInt32LE(LINK_INFO.id),
    progId: buf.readUInt32LE(LINK_INFO.progId),
    cgroupId: buf.readBigUInt64LE(LINK_INFO.cgroupId),
    attachType,
  };
}

/** The kernel id of a loaded program. */
export function programId(prog: BpfProgram): number {
  const size = koffi.sizeof(BpfProgInfoHead);
  const buf = Buffer.alloc(size);
  const rc = bpf.obj_get_info_by_fd(prog.fd, buf, [size]) as number;
  if (rc < 0) throw new BpfError(`program info ${prog.name}`, errnoOfRc(rc), detailFor(errnoOfRc(rc)));
  return (koffi.decode(buf, BpfProgInfoHead) as { id: number }).id;
}

/** /proc/self/mounts escapes space, tab, newline and backslash as octal (\040 …). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
