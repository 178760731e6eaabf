// `kpx inspect diff`: the canonical dump (src/encoder/canonical-dump.ts) of what the
// control plane wants next to the dump of what the pinned maps hold, frontend by
// frontend; a line present on one side only is a difference. Owners are left out of the
// comparison (the maps do not hold them) and shown as comments on desired-only lines.

import { canonicalDump } from '../encoder/canonical-dump.js';
import { frontendIdentity, type EncodedFrontend, type EncodedState } from '../encoder/types.js';
import type { ProgrammedState } from '../reconciler/read-programmed.js';
import { protoName, scopeName } from './names.js';

export interface FrontendDiff {
  frontend: string;
  owner: string | null;
  /** Lines only the maps hold ("-" in the text form). */
  onlyInMaps: string[];
  /** Lines only the desired state holds ("+"). */
  onlyInDesired: string[];
}

export interface StateDiff {
  equal: boolean;
  frontends: FrontendDiff[];
  /** Orphaned map entries (maps only): the agent's next full sync deletes them. */
  orphans: string[];
}

function linesOf(fe: EncodedFrontend | undefined): string[] {
  if (!fe) return [];
  return canonicalDump(new Map([[frontendIdentity(fe.key), fe]]), { owners: false })
    .split('\n')
    .filter((l) => l !== '');
}

function ipOrder(addr: string): number {
  return addr.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function diffStates(programmed: ProgrammedState, desired: EncodedState): StateDiff {
  const ids = new Set([...programmed.frontends.keys(), ...desired.keys()]);
  const keyOf = (id: string) => (desired.get(id) ?? programmed.frontends.get(id))!.key;
  const order = [...ids].sort((a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    return ipOrder(x.addr) - ipOrder(y.addr) || x.port - y.port || x.proto - y.proto || x.scope - y.scope;
  });
  const frontends: FrontendDiff[] = [];
  for (const id of order) {
    const have = linesOf(programmed.frontends.get(id));
    const want = linesOf(desired.get(id));
    const haveSet = new Set(have);
    const wantSet = new Set(want);
    const onlyInMaps = have.filter((l) => !wantSet.has(l));
    const onlyInDesired = want.filter((l) => !haveSet.has(l));
    if (!onlyInMaps.length && !onlyInDesired.length) continue;
    const k = keyOf(id);
    frontends.push({
      frontend: `${k.addr}:${k.port}/${protoName(k.proto)} ${scopeName(k.scope)}`,
      owner: desired.get(id)?.owner ?? null,
      onlyInMaps,
      onlyInDesired,
    });
  }
  const orphans = [
    ...programmed.orphanBackends.map((b) => `backend ${b} (owned by no frontend)`),
    ...programmed.orphanSlots.map((k) => `svc ${k.addr}:${k.port}/${protoName(k.proto)} ${scopeName(k.scope)} slot=${k.slot} (no slot 0)`),
  ];
  return { equal: frontends.length === 0 && orphans.length === 0, frontends, orphans };
}

/** Unified-diff-like text: "-" lines are only in the maps, "+" lines only desired. */
export function renderDiff(d: StateDiff, mapsLabel: string, desiredLabel: string): string[] {
  if (d.equal) return [`no differences: the maps hold exactly what the ${desiredLabel} asks for`];
  const out = [`--- maps (${mapsLabel})`, `+++ desired (${desiredLabel})`];
  for (const f of d.frontends) {
    out.push(`@@ ${f.frontend}${f.owner ? `  ${f.owner}` : ''}`);
    for (const l of f.onlyInMaps) out.push(`-${l}`);
    for (const l of f.onlyInDesired) out.push(`+${l}`);
  }
  if (d.orphans.length) out.push('@@ orphaned entries');
  for (const o of d.orphans) out.push(`-${o}`);
  return out;
}
