// Which program sits on an interface hook, by name, so cleanup removes only kpx's own
// (programs named kpx_*). The kernel reports names through iproute2's JSON output; the
// native binding reports only program ids.

import { execFileSync } from 'node:child_process';

function runJson(cmd: string, args: string[]): unknown {
  try {
    return JSON.parse(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || 'null');
  } catch {
    return null;
  }
}

interface TcFilter {
  options?: { handle?: string; bpf_name?: string; prog?: { id?: number; name?: string } };
}

/**
 * The name of program `progId` in the tc filters of `ifname`/`direction`, if tc shows it:
 * from the program itself (tc needs CAP_SYS_ADMIN to look it up by id), else from the
 * filter's own name, which libbpf sets to "<program>:[<id>]".
 */
export function tcProgramName(ifname: string, direction: 'ingress' | 'egress', progId: number): string | undefined {
  const filters = runJson('tc', ['-j', 'filter', 'show', 'dev', ifname, direction]) as TcFilter[] | null;
  for (const f of filters ?? []) {
    const o = f.options;
    if (o?.prog?.id === progId && o.prog.name) return o.prog.name;
    const m = o?.bpf_name ? /^(.*):\[(\d+)\]$/.exec(o.bpf_name) : null;
    if (m && Number(m[2]) === progId) return m[1];
  }
  return undefined;
}

interface LinkXdp {
  xdp?: { prog?: { id?: number; name?: string }; attached?: Array<{ prog?: { id?: number; name?: string } }> };
}

/** Names of the XDP programs attached to `ifname` (any mode). */
export function xdpProgramNames(ifname: string): string[] {
  const links = runJson('ip', ['-j', '-d', 'link', 'show', 'dev', ifname]) as LinkXdp[] | null;
  const x = links?.[0]?.xdp;
  if (!x) return [];
  // One program can show twice: as the interface's program and in the per-mode list.
  const byId = new Map<number | string, string>();
  for (const p of [x.prog, ...(x.attached ?? []).map((a) => a.prog)]) if (p?.name) byId.set(p.id ?? p.name, p.name);
  return [...byId.values()];
}

export const isKpxProgram = (name: string | undefined): boolean => name !== undefined && name.startsWith('kpx_');
