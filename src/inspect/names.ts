// Names for the numbers in the maps, all taken from the ABI mirror (src/datapath/abi.ts)
// so that a flag, state or reason added there shows up here by name.

import { BACKEND_STATE, CT_DIR, CT_FLAGS, PROTO, SCOPE, SVC_FLAGS } from '../datapath/abi.js';

function nameOf(table: Readonly<Record<string, number>>, value: number): string | undefined {
  return Object.entries(table).find(([, v]) => v === value)?.[0];
}

/** Names of the bits set in `value` (unknown bits as hex). */
export function bitNames(table: Readonly<Record<string, number>>, value: number): string[] {
  const names = Object.entries(table)
    .filter(([, bit]) => (value & bit) !== 0)
    .map(([name]) => name);
  const unknown = value & ~Object.values(table).reduce((a, b) => a | b, 0);
  if (unknown) names.push(`0x${unknown.toString(16)}`);
  return names;
}

export const protoName = (p: number): string => nameOf(PROTO, p) ?? `proto${p}`;
export const scopeName = (s: number): string => nameOf(SCOPE, s) ?? `scope${s}`;
export const ctDirName = (d: number): string => nameOf(CT_DIR, d) ?? `dir${d}`;
export const svcFlagNames = (f: number): string[] => bitNames(SVC_FLAGS, f);
export const ctFlagNames = (f: number): string[] => bitNames(CT_FLAGS, f);

/**
 * A backend's state. The state is the whole byte when it names a BACKEND_STATE; a byte
 * that does not is read as a state in the low bits plus flag bits above them (the ABI
 * keeps room for such flags, e.g. "backend is local").
 */
export function backendStateName(state: number): string {
  const exact = nameOf(BACKEND_STATE, state);
  if (exact) return exact;
  const low = state & 0x7f;
  const base = nameOf(BACKEND_STATE, low) ?? `state${low}`;
  return state & 0x80 ? `${base}+LOCAL` : base;
}

export const addrPort = (addr: string, port: number): string => `${addr}:${port}`;
