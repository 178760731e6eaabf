// `--map-size services=64,backends=64`: capacities of the datapath maps by role, set
// before load. A pinned map keeps the capacity it was created with, and libbpf refuses
// to reuse a pin whose max_entries differs: changing a capacity needs new pins (see
// docs/upgrade.md), which Datapath.load reports as such.

import { MAP_NAMES, type MapRole } from '../datapath/abi.js';
import { BadFlagError } from '../errors.js';

export type MapSizes = Partial<Record<MapRole, number>>;

export function parseMapSizes(flag: string, text: string): MapSizes {
  const out: MapSizes = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z]+)=(\d+)$/.exec(part);
    const role = m?.[1] as MapRole | undefined;
    if (!m || !role || !(role in MAP_NAMES)) {
      throw new BadFlagError(flag, `"${part}" is not ROLE=ENTRIES with ROLE one of ${Object.keys(MAP_NAMES).join(', ')}`);
    }
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n) || n < 1 || n > 0x7fffffff) throw new BadFlagError(flag, `${role}: entries must be 1..2147483647, not ${m[2]}`);
    out[role] = n;
  }
  return out;
}
