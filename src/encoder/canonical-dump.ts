// A stable, human-readable text of the map contents an EncodedState stands for: one line
// per services-map entry (slot 0 and every slot) and one per backend, frontends ordered
// by address, port, protocol and scope. Golden tests compare it; `kpx inspect diff`
// compares the dump of the desired state with the dump of what the maps hold (pass
// owners: false there — owners are not in the maps).

import { BACKEND_STATE, PROTO, SCOPE, SVC_FLAGS, type SvcKey } from '../datapath/abi.js';
import { compareAddrPort } from '../model/ip.js';
import type { EncodedFrontend, EncodedState } from './types.js';

export interface DumpOptions {
  /** Append "# owner" to slot-0 lines (default true). */
  readonly owners?: boolean;
}

function nameOf(table: Readonly<Record<string, number>>, value: number): string {
  return Object.entries(table).find(([, v]) => v === value)?.[0] ?? String(value);
}

export function formatFlags(flags: number): string {
  const names = Object.entries(SVC_FLAGS)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
  const unknown = flags & ~Object.values(SVC_FLAGS).reduce((a, b) => a | b, 0);
  if (unknown) names.push(`0x${unknown.toString(16)}`);
  return names.length ? names.join('|') : '-';
}

/** "ACTIVE", "TERMINATING", with "+LOCAL" for backends on this node. */
export function formatBackendState(state: number): string {
  const base = nameOf({ ACTIVE: BACKEND_STATE.ACTIVE, TERMINATING: BACKEND_STATE.TERMINATING }, state & BACKEND_STATE.STATE_MASK);
  return state & BACKEND_STATE.LOCAL_FLAG ? `${base}+LOCAL` : base;
}

function frontendText(k: SvcKey): string {
  return `${k.addr}:${k.port}/${nameOf(PROTO, k.proto)} ${nameOf(SCOPE, k.scope)}`;
}

function compareKeys(a: SvcKey, b: SvcKey): number {
  return compareAddrPort(a, b) || a.proto - b.proto || a.scope - b.scope;
}

function dumpFrontend(fe: EncodedFrontend, owners: boolean): string[] {
  const head = frontendText(fe.key);
  const v = fe.value;
  const lines = [
    `svc ${head} slot=0 id=${v.svcId} count=${v.count} flags=${formatFlags(v.flags)} affinity=${v.affinityTimeoutS}s` + (owners ? `  # ${fe.owner}` : ''),
  ];
  if (fe.sourceRanges) lines.push(`srcrange ${head} id=${v.svcId} ${fe.sourceRanges.join(',') || '(none allowed)'}`);
  fe.slots.forEach((id, i) => lines.push(`svc ${head} slot=${i + 1} backend=${id}`));
  for (const id of [...fe.backends.keys()].sort((a, b) => a - b)) {
    const be = fe.backends.get(id)!;
    lines.push(`backend ${id} ${be.addr}:${be.port}/${nameOf(PROTO, be.proto)} ${formatBackendState(be.state)} svc=${be.svcId}`);
  }
  return lines;
}

export function canonicalDump(state: EncodedState, opts: DumpOptions = {}): string {
  const owners = opts.owners ?? true;
  const frontends = [...state.values()].sort((a, b) => compareKeys(a.key, b.key));
  return frontends.map((fe) => dumpFrontend(fe, owners).join('\n') + '\n').join('\n');
}
