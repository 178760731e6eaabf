// `kpx cleanup`: removes everything kpx put on this node, in the network namespace the
// command runs in — for after the DaemonSet is gone, or before handing the node back to
// kube-proxy:
//   1. kpx's tc filters (kpx's handle and priority, kpx_* programs only) at ingress and
//      egress of the pod interfaces matching the patterns and of the external device;
//   2. XDP on the external device, if it runs a kpx_* program;
//   3. cgroup links pinned under the pin directory (the socket hooks): detached, unpinned;
//   4. every other pin (maps, programs) and the pin directory itself;
//   5. the state directory with owners.json.
// Hooks go first so no packet meets a program whose maps are being removed. Idempotent:
// a second run finds nothing and says so. Stop the agent first, or it re-attaches.

import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, BpfProgram, cgroupDetach, cgroupLinkInfo, tcDetach, tcQuery, TC_DEFAULTS, xdpDetach, xdpQuery } from '../../native/index.js';
import { interfaceMatcher, listInterfaces } from '../agent/interfaces.js';
import { removeStateDir, STATE_ROOT, stateDirFor } from '../inspect/owners-file.js';
import { isKpxProgram, tcProgramName, xdpProgramNames } from './hook-owner.js';

export interface CleanupOptions {
  pinDir: string;
  podInterfaces: string[];
  externalInterface?: string;
  /** Root of the owners.json state directories (tests use their own). */
  stateRoot?: string;
}

export interface CleanupReport {
  /** One line per thing removed. */
  removed: string[];
  /** Things found but left alone, and why. */
  kept: string[];
  /** Failures (cleanup goes on with the rest). */
  errors: string[];
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function detachTc(ifname: string, r: CleanupReport): void {
  for (const dir of ['ingress', 'egress'] as const) {
    try {
      const q = tcQuery(ifname, dir);
      if (!q) continue;
      const name = tcProgramName(ifname, dir, q.progId);
      if (name !== undefined && !isKpxProgram(name)) {
        r.kept.push(`tc ${dir} filter on ${ifname} at kpx's handle runs ${name}, not a kpx program`);
        continue;
      }
      if (tcDetach(ifname, dir)) {
        r.removed.push(`tc ${dir} filter on ${ifname} (handle ${hex(TC_DEFAULTS.handle)} prio ${TC_DEFAULTS.priority}, program ${name ?? `id ${q.progId}`})`);
      }
    } catch (err) {
      r.errors.push(`tc ${dir} on ${ifname}: ${(err as Error).message}`);
    }
  }
}

function detachXdp(ifname: string, r: CleanupReport): void {
  try {
    const q = xdpQuery(ifname, 'auto');
    if (!q) return;
    // Names need CAP_SYS_ADMIN to look up; without them the program is taken as kpx's
    // (the operator named this device as kpx's external device).
    const names = xdpProgramNames(ifname);
    const foreign = names.filter((n) => !isKpxProgram(n));
    if (foreign.length) {
      r.kept.push(`XDP on ${ifname} runs ${foreign.join(', ')}, not a kpx program`);
      return;
    }
    const what = names.length ? names.join(', ') : `id ${q.progId}`;
    if (xdpDetach(ifname, 'auto')) r.removed.push(`XDP program ${what} on ${ifname}`);
  } catch (err) {
    r.errors.push(`xdp on ${ifname}: ${(err as Error).message}`);
  }
}

/** Every pin below `dir` (files; bpffs holds no other kind), deepest first. */
function pinsBelow(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...pinsBelow(p));
    else out.push(p);
  }
  return out;
}

function dirsBelow(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...dirsBelow(p), p);
  }
  return out;
}

/** What a pin is: 'link' (cgroup), 'map', 'program' or 'other'. */
function pinKind(path: string): 'link' | 'map' | 'program' | 'other' {
  try {
    if (cgroupLinkInfo(path)) return 'link';
  } catch {
    // not a cgroup link
  }
  for (const [kind, open] of [
    ['map', (p: string) => BpfMap.openPinned(p)],
    ['program', (p: string) => BpfProgram.openPinned(p)],
  ] as const) {
    try {
      open(path).close();
      return kind;
    } catch {
      // not this kind
    }
  }
  return 'other';
}

export function cleanup(opts: CleanupOptions): CleanupReport {
  const r: CleanupReport = { removed: [], kept: [], errors: [] };

  const match = interfaceMatcher(opts.podInterfaces);
  const present = listInterfaces().map((i) => i.name);
  for (const name of present) if (match(name) || name === opts.externalInterface) detachTc(name, r);
  if (opts.externalInterface) {
    if (present.includes(opts.externalInterface)) detachXdp(opts.externalInterface, r);
    else r.kept.push(`external interface ${opts.externalInterface} does not exist in this network namespace`);
  }

  if (existsSync(opts.pinDir)) {
    const pins = pinsBelow(opts.pinDir).map((p) => ({ path: p, kind: pinKind(p) }));
    for (const p of pins.filter((x) => x.kind === 'link')) {
      try {
        const info = cgroupLinkInfo(p.path);
        if (cgroupDetach(p.path)) r.removed.push(`cgroup link ${p.path} (${info?.attachType ?? 'unknown hook'}, link id ${info?.linkId ?? '?'}): detached and unpinned`);
      } catch (err) {
        r.errors.push(`cgroup link ${p.path}: ${(err as Error).message}`);
      }
    }
    for (const p of pins.filter((x) => x.kind !== 'link')) {
      try {
        rmSync(p.path, { force: true });
        r.removed.push(`pinned ${p.kind === 'other' ? 'object' : p.kind} ${p.path}`);
      } catch (err) {
        r.errors.push(`unpin ${p.path}: ${(err as Error).message}`);
      }
    }
    try {
      for (const d of dirsBelow(opts.pinDir)) rmdirSync(d);
      rmdirSync(opts.pinDir);
      r.removed.push(`pin directory ${opts.pinDir}`);
    } catch (err) {
      r.errors.push(`remove ${opts.pinDir}: ${(err as Error).message}`);
    }
  }

  const root = opts.stateRoot ?? STATE_ROOT;
  if (removeStateDir(opts.pinDir, root)) r.removed.push(`state directory ${stateDirFor(opts.pinDir, root)} (owners.json)`);
  return r;
}
