// The live maps, opened from their pins (no object is loaded, nothing is attached): what
// `kpx inspect` and `kpx trace` read. Each map is checked against the ABI layout it is
// decoded with, so a pin left by a kpx of another ABI fails loudly instead of printing
// garbage.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '../../native/index.js';
import { LAYOUTS, MAP_NAMES, type MapRole } from '../datapath/abi.js';
import { EnvironmentError } from '../errors.js';

/** Key and value layout of each role that has a struct layout (config is an array of one). */
const SIZES: Partial<Record<string, { key: number; value: number }>> = {
  services: { key: LAYOUTS.svcKey.size, value: LAYOUTS.svcValue.size },
  backends: { key: 4, value: LAYOUTS.backend.size },
  conntrack: { key: LAYOUTS.ctKey.size, value: LAYOUTS.ctValue.size },
  affinity: { key: LAYOUTS.affinityKey.size, value: LAYOUTS.affinityValue.size },
  counters: { key: 4, value: LAYOUTS.counter.size },
  config: { key: 4, value: LAYOUTS.config.size },
  srcRanges: { key: LAYOUTS.srcRangeKey.size, value: 1 },
};

export class PinnedMaps {
  private readonly open = new Map<MapRole, BpfMap>();

  constructor(readonly pinDir: string) {
    if (!existsSync(pinDir)) {
      throw new EnvironmentError(`no kpx pin directory at ${pinDir}`, 'is the agent running on this node? pass its --bpffs-dir');
    }
  }

  pinPath(role: MapRole): string {
    return join(this.pinDir, MAP_NAMES[role]);
  }

  has(role: MapRole): boolean {
    return existsSync(this.pinPath(role));
  }

  /** The map of `role`; EnvironmentError when it is not pinned or has another layout. */
  get(role: MapRole): BpfMap {
    const cached = this.open.get(role);
    if (cached) return cached;
    const path = this.pinPath(role);
    if (!existsSync(path)) throw new EnvironmentError(`map ${MAP_NAMES[role]} is not pinned in ${this.pinDir}`, 'the agent that pinned it may be of an older kpx; restart it with this version');
    const map = BpfMap.openPinned(path);
    const want = SIZES[role];
    // srcRanges values are whatever the datapath stores per range; only keys are decoded.
    if (want && (map.keySize !== want.key || (role !== 'srcRanges' && map.valueSize !== want.value))) {
      map.close();
      throw new EnvironmentError(
        `${path}: key/value are ${map.keySize}/${map.valueSize} bytes, this kpx decodes ${want.key}/${want.value}`,
        'the pins come from a kpx with another map ABI; use the kpx binary of the running agent',
      );
    }
    this.open.set(role, map);
    return map;
  }

  close(): void {
    for (const m of this.open.values()) m.close();
    this.open.clear();
  }
}

/** Runs `f` with the pinned maps of `pinDir` open, and closes them after. */
export function withPinnedMaps<T>(pinDir: string, f: (maps: PinnedMaps) => T): T {
  const maps = new PinnedMaps(pinDir);
  try {
    return f(maps);
  } finally {
    maps.close();
  }
}
