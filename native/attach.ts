// Attaching programs to interfaces: tc (clsact qdisc + BPF filter) and XDP. Everything
// acts in the calling process's current network namespace. libbpf 1.1 has no tcx API,
// so tc programs go on a clsact qdisc as direct-action filters.
import { AttachError } from '../src/errors.js';
import { BPF_TC_EGRESS, BPF_TC_F_REPLACE, BPF_TC_INGRESS, BpfTcHook, BpfTcOpts, bpf, koffi, XDP_FLAGS } from './libbpf.js';
import { detailFor, ERRNO, errnoOfRc } from './fail.js';
import { resetLibbpfLog } from './log.js';
import { ifIndex } from './netif.js';
import type { BpfProgram } from './program.js';

export type TcDirection = 'ingress' | 'egress';
export type XdpMode = 'native' | 'generic' | 'auto';

/** Where kpx's tc filter sits on the clsact hook: handle 0x6b70 ("kp"), priority 1. */
export const TC_DEFAULTS = { handle: 0x6b70, priority: 1 } as const;

export interface TcFilterOptions {
  handle?: number;
  priority?: number;
}

function tcHook(ifindex: number, direction: TcDirection) {
  return {
    sz: koffi.sizeof(BpfTcHook),
    ifindex,
    attach_point: direction === 'ingress' ? BPF_TC_INGRESS : BPF_TC_EGRESS,
    parent: 0,
  };
}

function tcOpts(opts: TcFilterOptions, progFd = 0, flags = 0) {
  return {
    sz: koffi.sizeof(BpfTcOpts),
    prog_fd: progFd,
    flags,
    prog_id: 0,
    handle: opts.handle ?? TC_DEFAULTS.handle,
    priority: opts.priority ?? TC_DEFAULTS.priority,
  };
}

function attachError(ifname: string, op: string, rc: number): AttachError {
  const errno = errnoOfRc(rc);
  return new AttachError(ifname, op, errno, detailFor(errno));
}

/**
 * Attach `prog` as kpx's tc filter on `ifname`, creating the clsact qdisc if needed.
 * An existing filter at the same handle/priority is replaced atomically
 * (BPF_TC_F_REPLACE), so traffic never passes unfiltered during an upgrade.
 * Returns the kernel id of the attached program.
 */
export function tcAttach(ifname: string, prog: BpfProgram, direction: TcDirection, opts: TcFilterOptions = {}): number {
  const hook = tcHook(ifIndex(ifname), direction);
  resetLibbpfLog();
  const created = bpf.tc_hook_create(hook) as number;
  if (created < 0 && created !== -ERRNO.EEXIST) throw attachError(ifname, 'create clsact qdisc', created);
  const o = tcOpts(opts, prog.fd, BPF_TC_F_REPLACE);
  const rc = bpf.tc_attach(hook, o) as number;
  if (rc < 0) throw attachError(ifname, `tc attach ${direction} ${prog.name}`, rc);
  return o.prog_id;
}

/** Remove kpx's tc filter; false if there was none. The clsact qdisc stays (others may use it). */
export function tcDetach(ifname: string, direction: TcDirection, opts: TcFilterOptions = {}): boolean {
  if (!tcQuery(ifname, direction, opts)) return false;
  const hook = tcHook(ifIndex(ifname), direction);
  resetLibbpfLog();
  const rc = bpf.tc_detach(hook, tcOpts(opts)) as number;
  if (rc === -ERRNO.ENOENT) return false;
  if (rc < 0) throw attachError(ifname, `tc detach ${direction}`, rc);
  return true;
}

/** The program at kpx's tc handle/priority, or undefined if none (or no clsact qdisc). */
export function tcQuery(ifname: string, direction: TcDirection, opts: TcFilterOptions = {}): { progId: number } | undefined {
  const hook = tcHook(ifIndex(ifname), direction);
  const o = tcOpts(opts);
  resetLibbpfLog();
  const rc = bpf.tc_query(hook, o) as number;
  // ENOENT: no such filter. EINVAL: no clsact qdisc on the interface at all.
  if (rc === -ERRNO.ENOENT || rc === -ERRNO.EINVAL) return undefined;
  if (rc < 0) throw attachError(ifname, `tc query ${direction}`, rc);
  return { progId: o.prog_id };
}

/**
 * Remove the clsact qdisc of `ifname` with every filter on it (kpx's and anyone else's).
 * For tearing down interfaces kpx owns; false if there was none.
 */
export function tcRemoveClsact(ifname: string): boolean {
  const hook = { ...tcHook(ifIndex(ifname), 'ingress'), attach_point: BPF_TC_INGRESS | BPF_TC_EGRESS };
  resetLibbpfLog();
  const rc = bpf.tc_hook_destroy(hook) as number;
  if (rc === -ERRNO.ENOENT || rc === -ERRNO.EINVAL) return false;
  if (rc < 0) throw attachError(ifname, 'remove clsact qdisc', rc);
  return true;
}

const XDP_MODE_FLAGS: Record<XdpMode, number> = {
  native: XDP_FLAGS.DRV_MODE,
  generic: XDP_FLAGS.SKB_MODE,
  auto: 0, // the kernel picks native when the driver supports it, generic otherwise
};

/** Attach `prog` at XDP on `ifname`, replacing a program already attached in that mode. */
export function xdpAttach(ifname: string, prog: BpfProgram, mode: XdpMode = 'auto'): void {
  const ifindex = ifIndex(ifname);
  resetLibbpfLog();
  const rc = bpf.xdp_attach(ifindex, prog.fd, XDP_MODE_FLAGS[mode], null) as number;
  if (rc < 0) throw attachError(ifname, `xdp attach (${mode}) ${prog.name}`, rc);
}

/**
 * The id of the XDP program on `ifname` in `mode`, or undefined. 'auto' reports the
 * program whichever mode it is attached in.
 */
export function xdpQuery(ifname: string, mode: XdpMode = 'auto'): { progId: number } | undefined {
  const ifindex = ifIndex(ifname);
  const id = [0];
  resetLibbpfLog();
  const rc = bpf.xdp_query_id(ifindex, XDP_MODE_FLAGS[mode], id) as number;
  if (rc < 0) throw attachError(ifname, 'xdp query', rc);
  return id[0] ? { progId: id[0] } : undefined;
}

/**
 * Detach the XDP program of `ifname`; false if there was none. 'auto' detaches from
 * whichever mode (native and/or generic) has a program: a bare detach would only
 * address the driver's native mode.
 */
export function xdpDetach(ifname: string, mode: XdpMode = 'auto'): boolean {
  const ifindex = ifIndex(ifname);
  const modes: XdpMode[] = mode === 'auto' ? ['native', 'generic'] : [mode];
  let detached = false;
  for (const m of modes) {
    if (!xdpQuery(ifname, m)) continue;
    resetLibbpfLog();
    const rc = bpf.xdp_detach(ifindex, XDP_MODE_FLAGS[m], null) as number;
    if (rc < 0) throw attachError(ifname, `xdp detach (${m})`, rc);
    detached = true;
  }
  return detached;
}
