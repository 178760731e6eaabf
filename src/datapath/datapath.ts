// The loaded datapath: the committed BPF object opened with its maps pinned under one
// bpffs directory. Opening it again (a restarted agent) reuses the pinned maps, so flows,
// ids and services survive; the new program replaces the old one on each interface.

import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BpfObject, DEFAULT_BPFFS, ensureBpffs, isBpffs, type BpfMap, type BpfProgram } from '../../native/index.js';
import { EnvironmentError } from '../errors.js';
import { packagePath } from '../package-root.js';
import { MAP_NAMES, PROGRAM_NAMES, REASONS, sumPerCpuCounter, type Counter, type MapRole, type Reason } from './abi.js';

export const DEFAULT_OBJECT = packagePath('bpf/kpx.bpf.o');
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/kpx';

export interface DatapathOptions {
  pinDir?: string;
  objectPath?: string;
  /** Per-map capacity overrides, by map role. */
  maxEntries?: Partial<Record<MapRole, number>>;
  /**
   * Also pin every program at <pinDir>/progs/<name> (the agent does). Operators then see
   * which program version is current (`bpftool prog show pinned …`, compare its id with
   * `bpftool net`), and `kpx cleanup` finds and removes it with the rest of the pins.
   */
  pinPrograms?: boolean;
}

export class Datapath {
  private constructor(
    readonly pinDir: string,
    private readonly obj: BpfObject,
    readonly maps: Readonly<Record<MapRole, BpfMap>>,
    readonly programs: Readonly<Record<keyof typeof PROGRAM_NAMES, BpfProgram>>,
  ) {}

  static load(opts: DatapathOptions = {}): Datapath {
    const pinDir = opts.pinDir ?? DEFAULT_PIN_DIR;
    ensureBpffs(bpffsRootOf(pinDir));
    mkdirSync(pinDir, { recursive: true });
    const maxEntries: Record<string, number> = {};
    for (const [role, n] of Object.entries(opts.maxEntries ?? {})) maxEntries[MAP_NAMES[role as MapRole]] = n;
    const obj = BpfObject.open(opts.objectPath ?? DEFAULT_OBJECT, { pinRoot: pinDir, maxEntries });
    try {
      obj.load();
    } catch (err) {
      obj.close();
      throw err;
    }
    const maps = Object.fromEntries(
      (Object.keys(MAP_NAMES) as MapRole[]).map((role) => [role, obj.map(MAP_NAMES[role])]),
    ) as Record<MapRole, BpfMap>;
    const programs = Object.fromEntries(
      (Object.keys(PROGRAM_NAMES) as Array<keyof typeof PROGRAM_NAMES>).map((p) => [p, obj.program(PROGRAM_NAMES[p])]),
    ) as Record<keyof typeof PROGRAM_NAMES, BpfProgram>;
    if (opts.pinPrograms) {
      try {
        pinPrograms(join(pinDir, PROGRAM_PIN_SUBDIR), Object.values(programs));
      } catch (err) {
        obj.close();
        throw err;
      }
    }
    return new Datapath(pinDir, obj, maps, programs);
  }

  /** Decision counters summed over CPUs, by reason name. */
  counters(): Record<Reason, Counter> {
    const out = {} as Record<Reason, Counter>;
    REASONS.forEach((name, id) => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(id);
      const v = this.maps.counters.lookup(key);
      out[name] = v ? sumPerCpuCounter(v) : { packets: 0n, bytes: 0n };
    });
    return out;
  }

  close(): void {
    this.obj.close();
  }
}

/** Where `pinPrograms` pins programs, below the pin directory. */
export const PROGRAM_PIN_SUBDIR = 'progs';

/**
 * Pins each program at dir/<name>, replacing an older pin (a restarted agent's) by
 * pinning beside it and renaming over it, so the path never names nothing. The old
 * program lives on while a hook still runs it, and is freed once the new one replaces it.
 */
function pinPrograms(dir: string, programs: BpfProgram[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const p of programs) {
    const path = join(dir, p.name);
    const tmp = `${path}_new`; // bpffs refuses names with a dot
    rmSync(tmp, { force: true });
    p.pin(tmp);
    renameSync(tmp, path);
  }
}

/** The bpffs a pin directory lives on: /sys/fs/bpf for anything below it (mounted there
 *  when missing, as Cilium does); any other pin directory's parent must already be a
 *  bpffs — kpx never mounts over an arbitrary directory. */
export function bpffsRootOf(pinDir: string): string {
  if (pinDir === DEFAULT_BPFFS || pinDir.startsWith(`${DEFAULT_BPFFS}/`)) return DEFAULT_BPFFS;
  const parent = dirname(pinDir);
  if (!isBpffs(parent)) {
    throw new EnvironmentError(
      `--bpffs-dir ${pinDir}: ${parent} is not a bpffs`,
      `keep the pin directory below ${DEFAULT_BPFFS}, or mount a bpffs at ${parent} first (mount -t bpf bpf ${parent})`,
    );
  }
  return parent;
}
