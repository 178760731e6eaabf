// Loads the committed datapath object (bpf/kpx.bpf.o) into the kernel with a private pin
// root (/sys/fs/bpf/kpxdp-test-*), seeds its maps the way the control plane does, and
// runs packets through its programs (kpx_from_pod by default) with BPF_PROG_TEST_RUN,
// reporting which counter (reason) each packet landed in.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfObject, ensureBpffs, type BpfMap, type BpfProgram } from '../../native/index.js';
import { bumpGeneration } from '../../src/reconciler/backend-generation.js';
import {
  BACKEND_STATE,
  MAP_NAMES,
  PROGRAM_NAMES,
  REASONS,
  REASON_MAX,
  SCOPE,
  decodeCtValue,
  decodeAffinityValue,
  encodeAffinityKey,
  encodeBackend,
  encodeBackendId,
  encodeConfig,
  encodeSrcRangeKey,
  encodeCtKey,
  encodeCtValue,
  encodeSvcKey,
  encodeSvcValue,
  encodeSvcStatsKey,
  decodeSvcStatsKey,
  sumPerCpuCounter,
  sumPerCpuSvcStats,
  type SvcStats,
  type AffinityValue,
  type Config,
  type ProgramRole,
  type CtKey,
  type CtValue,
  type Proto,
  type Reason,
} from '../../src/datapath/abi.js';

export const OBJECT_PATH = fileURLToPath(new URL('../../bpf/kpx.bpf.o', import.meta.url));
export const TC_ACT = { OK: 0, SHOT: 2, REDIRECT: 7 } as const;
export const XDP_ACT = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
/** tc verdicts by their TC_ACT name, XDP verdicts as XDP_<name>. */
export type Verdict = keyof typeof TC_ACT | `XDP_${keyof typeof XDP_ACT}`;
const BPF_PROG_TYPE_XDP = 6;

export interface BackendSeed {
  id: number;
  addr: string;
  port: number;
  state?: number;
  /** Runs on this node: BACKEND_STATE.LOCAL_FLAG in state. */
  local?: boolean;
}

export interface ServiceSeed {
  vip: string;
  port: number;
  proto: Proto;
  svcId: number;
  flags?: number;
  affinityTimeoutS?: number;
  /** SCOPE.EXTERNAL (default) or SCOPE.INTERNAL (the node-local entry, own svcId). */
  scope?: number;
  backends: BackendSeed[];
  /** Backend ids in slot order (slot 1 first); default: every backend, in order. */
  slots?: number[];
}

/** A struct __sk_buff for BPF_PROG_TEST_RUN's ctx_in with GSO fields set (offsets of
 * gso_segs and gso_size in <linux/bpf.h>; the kernel accepts only a few fields). */
export function gsoContext(gsoSize: number, gsoSegs: number): Buffer {
  const ctx = Buffer.alloc(192);
  ctx.writeUInt32LE(gsoSegs, 164);
  ctx.writeUInt32LE(gsoSize, 176);
  return ctx;
}

export interface RunResult {
  verdict: Verdict;
  reason: Reason;
  data: Buffer;
}

let pinSeq = 0;

export class Datapath {
  readonly services: BpfMap;
  readonly backends: BpfMap;
  readonly backendGen: BpfMap;
  readonly ct: BpfMap;
  readonly affinity: BpfMap;
  readonly counters: BpfMap;
  readonly config: BpfMap;
  readonly srcRanges: BpfMap;
  /** Ports of fragmented datagrams, from their first fragments (bpf/parse.h). */
  readonly frags: BpfMap;
  /** Per-frontend statistics (bpf/svc_stats.h): the array for small ids, the LRU hash. */
  readonly svcStatsDense: BpfMap;
  readonly svcStats: BpfMap;
  /** kpx_from_pod, what run() runs. */
  readonly prog: BpfProgram;
  readonly #obj: BpfObject;
  readonly #pinRoot: string;
  readonly #seeded = new Map<number, ServiceSeed>();
  #keepPins = false;

  private constructor(obj: BpfObject, pinRoot: string) {
    this.#obj = obj;
    this.#pinRoot = pinRoot;
    this.services = obj.map(MAP_NAMES.services);
    this.backends = obj.map(MAP_NAMES.backends);
    this.backendGen = obj.map(MAP_NAMES.backendGen);
    this.ct = obj.map(MAP_NAMES.conntrack);
    this.affinity = obj.map(MAP_NAMES.affinity);
    this.counters = obj.map(MAP_NAMES.counters);
    this.config = obj.map(MAP_NAMES.config);
    this.srcRanges = obj.map(MAP_NAMES.srcRanges);
    this.frags = obj.map(MAP_NAMES.frags);
    this.svcStatsDense = obj.map(MAP_NAMES.svcStatsDense);
    this.svcStats = obj.map(MAP_NAMES.svcStats);
    this.prog = obj.program(PROGRAM_NAMES.fromPod);
  }

  /** The real object, loaded with fresh maps pinned under a new kpxdp-test-* root. */
  static load(path: string = OBJECT_PATH): Datapath {
    ensureBpffs();
    const pinRoot = `/sys/fs/bpf/kpxdp-test-${process.pid}-${pinSeq++}`;
    rmSync(pinRoot, { recursive: true, force: true });
    ensureBpffs(pinRoot);
    let obj: BpfObject | undefined;
    try {
      obj = BpfObject.open(path, { pinRoot });
      obj.load();
      return new Datapath(obj, pinRoot);
    } catch (err) {
      obj?.close();
      rmSync(pinRoot, { recursive: true, force: true });
      throw err;
    }
  }

  /** The object loaded again over this one's pins, as a restarted agent loads it: the
   *  pinned maps are reused, nothing else is shared. Close it before this one. */
  reopen(path: string = OBJECT_PATH): Datapath {
    const obj = BpfObject.open(path, { pinRoot: this.#pinRoot });
    try {
      obj.load();
      const dp = new Datapath(obj, this.#pinRoot);
      dp.#keepPins = true;
      return dp;
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  close(): void {
    this.#obj.close();
    if (!this.#keepPins) rmSync(this.#pinRoot, { recursive: true, force: true });
  }

  // ---- seeding, in the control plane's write order --------------------------------

  /** Writes backends, then slots, then slot 0 (so any slot < count names a live backend). */
  addService(s: ServiceSeed): void {
    for (const b of s.backends) this.putBackend(s, b);
    this.#seeded.set(s.svcId, s);
    this.setSlots(s.svcId, s.slots ?? s.backends.map((b) => b.id));
  }

  putBackend(s: Pick<ServiceSeed, 'proto' | 'svcId'>, b: BackendSeed): void {
    const state = (b.state ?? BACKEND_STATE.ACTIVE) | (b.local ? BACKEND_STATE.LOCAL_FLAG : 0);
    this.backends.update(encodeBackendId(b.id), encodeBackend({ addr: b.addr, port: b.port, proto: s.proto, state, svcId: s.svcId }));
    bumpGeneration(this.backendGen); // as the reconciler does after backend writes
  }

  /** Writes kpx_config_v1 (the node's SNAT address and ports, hairpin address). */
  setConfig(c: Partial<Config>): void {
    const key = Buffer.alloc(4);
    this.config.update(
      key,
      encodeConfig({ nodeAddr: '0.0.0.0', hairpinAddr: '0.0.0.0', snatPortMin: 0, snatPortMax: 0, extIfindex: 0, netnsCookie: 0n, ...c }),
    );
  }

  /** Admits `cidr` ("a.b.c.d/n") to the LB frontend svcId (T5). */
  addSourceRange(svcId: number, cidr: string): void {
    const [addr, bits] = cidr.split('/');
    this.srcRanges.update(encodeSrcRangeKey({ svcId, addr: addr!, bits: Number(bits) }), Buffer.from([1]));
  }

  /** Points the frontend's slots at `ids`. Growing: slots, then slot 0. Shrinking:
   * slot 0 first, then the slots past the new count are deleted. */
  setSlots(svcId: number, ids: number[], count: number = ids.length): void {
    const s = this.#service(svcId);
    const key = (slot: number) => encodeSvcKey({ addr: s.vip, port: s.port, proto: s.proto, scope: s.scope ?? SCOPE.EXTERNAL, slot });
    const old = this.services.lookup(key(0));
    const oldCount = old ? old.readUInt16LE(8) : 0;
    const front = encodeSvcValue({
      backendId: 0,
      svcId: s.svcId,
      count,
      flags: s.flags ?? 0,
      affinityTimeoutS: s.affinityTimeoutS ?? 10800,
    });
    if (count < oldCount) this.services.update(key(0), front);
    ids.forEach((id, i) =>
      this.services.update(key(i + 1), encodeSvcValue({ backendId: id, svcId: s.svcId, count: 0, flags: 0, affinityTimeoutS: 0 })),
    );
    this.services.update(key(0), front);
    for (let slot = ids.length + 1; slot <= oldCount; slot++) this.services.delete(key(slot));
  }

  /** Rewrites slot 0 with new flags (e.g. affinity switched on or off at runtime). */
  setFlags(svcId: number, flags: number, affinityTimeoutS?: number): void {
    const s = this.#service(svcId);
    s.flags = flags;
    if (affinityTimeoutS !== undefined) s.affinityTimeoutS = affinityTimeoutS;
    const key = encodeSvcKey({ addr: s.vip, port: s.port, proto: s.proto, scope: s.scope ?? SCOPE.EXTERNAL, slot: 0 });
    const old = this.services.lookup(key);
    const count = old ? old.readUInt16LE(8) : 0;
    this.services.update(key, encodeSvcValue({ backendId: 0, svcId: s.svcId, count, flags, affinityTimeoutS: s.affinityTimeoutS ?? 10800 }));
  }

  deleteBackend(id: number): void {
    this.backends.delete(encodeBackendId(id));
    bumpGeneration(this.backendGen); // as the reconciler does after backend writes
  }

  /** Deletes the frontend: slot 0 first, then its slots and backends. */
  deleteService(svcId: number): void {
    const s = this.#service(svcId);
    const key = (slot: number) => encodeSvcKey({ addr: s.vip, port: s.port, proto: s.proto, scope: s.scope ?? SCOPE.EXTERNAL, slot });
    const old = this.services.lookup(key(0));
    const count = old ? old.readUInt16LE(8) : 0;
    this.services.delete(key(0));
    for (let slot = 1; slot <= count; slot++) this.services.delete(key(slot));
    for (const b of s.backends) this.deleteBackend(b.id);
    this.#seeded.delete(svcId);
  }

  ctEntry(k: CtKey): CtValue | undefined {
    const v = this.ct.lookup(encodeCtKey(k));
    return v ? decodeCtValue(v) : undefined;
  }

  putCtEntry(k: CtKey, v: CtValue): void {
    this.ct.update(encodeCtKey(k), encodeCtValue(v));
  }

  affinityEntry(client: string, svcId: number): AffinityValue | undefined {
    const v = this.affinity.lookup(encodeAffinityKey({ client, svcId }));
    return v ? decodeAffinityValue(v) : undefined;
  }

  putAffinityEntry(client: string, svcId: number, v: AffinityValue): void {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(v.lastUsedNs, 0);
    b.writeUInt32LE(v.backendId, 8);
    this.affinity.update(encodeAffinityKey({ client, svcId }), b);
  }

  /** Statistics of every id that has any, summed over CPUs: the array slots below
   *  `denseIds` that are not all zero (tests use small ids) and every LRU hash entry. */
  svcStatsSnapshot(denseIds = 256): Map<number, SvcStats> {
    const out = new Map<number, SvcStats>();
    for (let id = 0; id < denseIds; id++) {
      const s = this.svcStatsOf(id);
      if (s.packets || s.bytes || s.newConns || s.drops) out.set(id, s);
    }
    for (const k of this.svcStats.keys()) {
      const v = this.svcStats.lookup(k);
      if (v) out.set(decodeSvcStatsKey(k), sumPerCpuSvcStats(v));
    }
    return out;
  }

  /** The statistics of one id, from whichever map holds it (zeros when none does). */
  svcStatsOf(svcId: number): SvcStats {
    const key = encodeSvcStatsKey(svcId);
    const v = svcId < this.svcStatsDense.maxEntries ? this.svcStatsDense.lookup(key) : this.svcStats.lookup(key);
    return v ? sumPerCpuSvcStats(v) : { packets: 0n, bytes: 0n, newConns: 0n, drops: 0n };
  }

  // ---- running -------------------------------------------------------------------

  /** Packets and bytes per reason, summed over CPUs. */
  counterSnapshot(): Array<{ packets: bigint; bytes: bigint }> {
    const out: Array<{ packets: bigint; bytes: bigint }> = [];
    for (let r = 0; r < REASON_MAX; r++) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(r);
      const v = this.counters.lookup(key);
      out.push(v ? sumPerCpuCounter(v) : { packets: 0n, bytes: 0n });
    }
    return out;
  }

  /** Runs one packet. Asserts that exactly one counter moved, by one packet and the
   * frame's length in bytes, and returns that reason with the verdict and output. */
  run(frame: Buffer, ctx?: Buffer): RunResult {
    return this.runOn(this.prog, frame, ctx);
  }

  /** A program of the object by role (PROGRAM_NAMES). */
  program(role: ProgramRole): BpfProgram {
    return this.#obj.program(PROGRAM_NAMES[role]);
  }

  /** run() on another program of the object. */
  runOn(prog: BpfProgram | ProgramRole, frame: Buffer, ctx?: Buffer): RunResult {
    if (typeof prog === 'string') prog = this.program(prog);
    const before = this.counterSnapshot();
    const r = prog.testRun(ctx ? { data: frame, ctx } : { data: frame });
    const after = this.counterSnapshot();
    const moved: number[] = [];
    after.forEach((a, i) => {
      const b = before[i]!;
      if (a.packets !== b.packets || a.bytes !== b.bytes) moved.push(i);
    });
    if (moved.length !== 1) throw new Error(`expected exactly one counter to move, got reasons [${moved.join(', ')}]`);
    const id = moved[0]!;
    const dp = after[id]!.packets - before[id]!.packets;
    const db = after[id]!.bytes - before[id]!.bytes;
    if (dp !== 1n || db !== BigInt(frame.length)) {
      throw new Error(`counter ${REASONS[id]} moved by ${dp} packets / ${db} bytes, want 1 / ${frame.length}`);
    }
    const reason = REASONS[id];
    if (reason === undefined) throw new Error(`counter ${id} has no name in REASONS`);
    const verdict = verdictName(prog.type === BPF_PROG_TYPE_XDP, r.retval);
    return { verdict, reason, data: r.data };
  }

  #service(svcId: number): ServiceSeed {
    const s = this.#seeded.get(svcId);
    if (!s) throw new Error(`service ${svcId} was not seeded`);
    return s;
  }
}

function verdictName(xdp: boolean, retval: number): Verdict {
  if (xdp) {
    const name = (Object.keys(XDP_ACT) as Array<keyof typeof XDP_ACT>).find((k) => XDP_ACT[k] === retval);
    if (!name) throw new Error(`unexpected XDP verdict ${retval}`);
    return `XDP_${name}`;
  }
  const name = (Object.keys(TC_ACT) as Array<keyof typeof TC_ACT>).find((k) => TC_ACT[k] === retval);
  if (!name) throw new Error(`unexpected tc verdict ${retval}`);
  return name;
}

/** Runs fn on a freshly loaded datapath (its own pins), after `setup`; always closed. */
export function withDatapath(fn: (dp: Datapath) => void, setup?: (dp: Datapath) => void): void {
  const dp = Datapath.load();
  try {
    setup?.(dp);
    fn(dp);
  } finally {
    dp.close();
  }
}
