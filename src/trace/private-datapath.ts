// A private copy of the datapath for one trace: the same object file loaded again with
// fresh maps, into which the live state that decides this packet's fate is copied. The
// live maps are only read, so a trace changes nothing on the node.
//
// The object pins its maps by name (LIBBPF_PIN_BY_NAME). Opened without a pin root,
// libbpf would pin (or worse, reuse) maps directly under /sys/fs/bpf, so the copy gets a
// throwaway pin root of its own, removed when the trace ends.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BpfMap } from '../../native/index.js';
import {
  CT_DIR,
  decodeSvcKey,
  decodeSvcValue,
  encodeAffinityKey,
  encodeCtKey,
  MAP_NAMES,
  PROTO,
  type MapRole,
  type SvcKey,
  type SvcValue,
} from '../datapath/abi.js';
import { bpffsRootOf, Datapath } from '../datapath/datapath.js';
import type { PinnedMaps } from '../inspect/pinned-maps.js';

/** Maps that hold per-flow state (or statistics), copied only for the traced tuple (or
 *  not at all); every other map is control-plane configuration and is copied whole. */
const FLOW_STATE: ReadonlySet<string> = new Set(['conntrack', 'frags', 'affinity', 'counters', 'sockRev']);
/** Capacity of the private flow-state maps: a trace inserts at most a handful of entries. */
const PRIVATE_FLOW_CAPACITY = 1024;

export interface Tuple {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto: 'TCP' | 'UDP';
}

export interface LiveFrontend {
  key: SvcKey;
  value: SvcValue;
}

export interface CopyReport {
  /** Entries copied per map role. */
  copied: Partial<Record<MapRole, number>>;
  /** Roles the live pin directory does not have (left empty in the copy). */
  missing: MapRole[];
  /** Conntrack entries of this tuple in the live map. */
  tracked: { forward: boolean; reply: boolean };
  /** Every slot-0 entry of the live services map. */
  frontends: LiveFrontend[];
}

let seq = 0;

export class PrivateDatapath {
  private constructor(
    readonly dp: Datapath,
    private readonly pinRoot: string,
  ) {}

  /** Loads `objectPath` (default: the object kpx ships) with fresh maps sized like the live ones. */
  static load(live: PinnedMaps, objectPath?: string): PrivateDatapath {
    const pinRoot = join(bpffsRootOf(live.pinDir), `kpx-trace-${process.pid}-${seq++}`);
    const maxEntries: Partial<Record<MapRole, number>> = {};
    for (const role of Object.keys(MAP_NAMES) as MapRole[]) {
      if (FLOW_STATE.has(role)) {
        if (role !== 'counters') maxEntries[role] = PRIVATE_FLOW_CAPACITY;
      } else if (live.has(role)) {
        maxEntries[role] = live.get(role).maxEntries;
      }
    }
    rmSync(pinRoot, { recursive: true, force: true });
    try {
      const dp = Datapath.load({ pinDir: pinRoot, maxEntries, ...(objectPath ? { objectPath } : {}) });
      return new PrivateDatapath(dp, pinRoot);
    } catch (err) {
      rmSync(pinRoot, { recursive: true, force: true });
      throw err;
    }
  }

  /** Copies the configuration maps whole and this tuple's flow state. */
  copyFrom(live: PinnedMaps, t: Tuple): CopyReport {
    const report: CopyReport = { copied: {}, missing: [], tracked: { forward: false, reply: false }, frontends: [] };
    const maps = this.dp.maps as Readonly<Record<MapRole, BpfMap>>;
    for (const role of Object.keys(MAP_NAMES) as MapRole[]) {
      if (FLOW_STATE.has(role)) continue;
      if (!live.has(role)) {
        report.missing.push(role);
        continue;
      }
      const target = maps[role];
      if (target.perCpu) continue; // statistics, not configuration
      const entries = live.get(role).entries();
      target.updateBatch(
        entries.map(([k]) => k),
        entries.map(([, v]) => v),
      );
      report.copied[role] = entries.length;
      if (role === 'services') {
        for (const [k, v] of entries) {
          const key = decodeSvcKey(k);
          if (key.slot === 0) report.frontends.push({ key, value: decodeSvcValue(v) });
        }
      }
    }

    const proto = PROTO[t.proto];
    const liveCt = live.get('conntrack');
    let ct = 0;
    for (const dir of [CT_DIR.FORWARD, CT_DIR.REPLY]) {
      const key = encodeCtKey({ saddr: t.src, daddr: t.dst, sport: t.sport, dport: t.dport, proto, dir });
      const value = liveCt.lookup(key);
      if (!value) continue;
      maps.conntrack.update(key, value);
      ct++;
      if (dir === CT_DIR.FORWARD) report.tracked.forward = true;
      else report.tracked.reply = true;
    }
    report.copied.conntrack = ct;

    // ClientIP affinity of this client, for every frontend (cheap: one lookup each).
    const liveAff = live.get('affinity');
    let aff = 0;
    for (const svcId of new Set(report.frontends.map((f) => f.value.svcId))) {
      const key = encodeAffinityKey({ client: t.src, svcId });
      const value = liveAff.lookup(key);
      if (!value) continue;
      maps.affinity.update(key, value);
      aff++;
    }
    report.copied.affinity = aff;
    return report;
  }

  close(): void {
    try {
      this.dp.close();
    } finally {
      rmSync(this.pinRoot, { recursive: true, force: true });
    }
  }
}
