// What `kpx inspect` shows, read straight from the pinned maps: plain objects (the -o json
// form) built with the ABI decoders. Nothing here writes to a map.

import {
  CT_DIR,
  CT_FLAGS,
  decodeAffinityKey,
  decodeAffinityValue,
  decodeBackend,
  decodeBackendId,
  decodeCtKey,
  decodeCtValue,
  REASONS,
  sumPerCpuCounter,
  type Backend,
} from '../datapath/abi.js';
import { readProgrammed } from '../reconciler/read-programmed.js';
import { addrPort, backendStateName, ctDirName, ctFlagNames, protoName, scopeName, svcFlagNames } from './names.js';
import type { PinnedMaps } from './pinned-maps.js';

export interface BackendView {
  id: number;
  addr: string;
  port: number;
  proto: string;
  state: string;
  svcId: number;
  /** Owning Service port from owners.json, null when unknown. */
  owner: string | null;
}

export interface ServiceView {
  frontend: string;
  addr: string;
  port: number;
  proto: string;
  scope: string;
  svcId: number;
  flags: string[];
  affinityTimeoutS: number;
  owner: string | null;
  /** Backend id of slot 1, 2, …; 0 where a slot is missing. */
  slots: number[];
  /** Every backend with this frontend's id: in a slot, or kept for existing flows (C3). */
  backends: Array<BackendView & { inSlots: boolean }>;
}

export interface ServicesView {
  services: ServiceView[];
  /** Entries no frontend owns (an interrupted write); the agent's next full sync removes them. */
  orphanBackends: number[];
  orphanSlots: string[];
}

export interface FlowView {
  dir: string;
  proto: string;
  src: string;
  dst: string;
  svcId: number;
  owner: string | null;
  backendId: number;
  /** The backend's address now, null when the backend is gone (the flow will move, C2). */
  backend: string | null;
  /** REPLY entries: the frontend restored as source. */
  nat: string | null;
  /** SNAT entries: FORWARD: the source written; REPLY: the client restored as destination. */
  peer: string | null;
  flags: string[];
  ageS: number;
}

export interface AffinityView {
  client: string;
  svcId: number;
  owner: string | null;
  backendId: number;
  backend: string | null;
  ageS: number;
}

export interface CounterView {
  reason: string;
  packets: string;
  bytes: string;
}

/** Monotonic now, the clock bpf_ktime_get_(coarse_)ns reads (libuv uses CLOCK_MONOTONIC). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

function ageSeconds(now: bigint, then: bigint): number {
  const d = now - then;
  return d <= 0n ? 0 : Number(d / 1_000_000n) / 1000;
}

function backendTable(maps: PinnedMaps): Map<number, Backend> {
  const out = new Map<number, Backend>();
  for (const [k, v] of maps.get('backends').entries()) out.set(decodeBackendId(k), decodeBackend(v));
  return out;
}

const ownerOf = (owners: ReadonlyMap<number, string>, svcId: number): string | null => owners.get(svcId) ?? null;

export function servicesView(maps: PinnedMaps, owners: ReadonlyMap<number, string>): ServicesView {
  const st = readProgrammed(maps.get('services'), maps.get('backends'), maps.get('srcRanges'));
  const services = [...st.frontends.values()]
    .map((fe): ServiceView => {
      const inSlots = new Set(fe.slots);
      return {
        frontend: `${addrPort(fe.key.addr, fe.key.port)}/${protoName(fe.key.proto)}`,
        addr: fe.key.addr,
        port: fe.key.port,
        proto: protoName(fe.key.proto),
        scope: scopeName(fe.key.scope),
        svcId: fe.svcId,
        flags: svcFlagNames(fe.value.flags),
        affinityTimeoutS: fe.value.affinityTimeoutS,
        owner: ownerOf(owners, fe.svcId),
        slots: [...fe.slots],
        backends: [...fe.backends]
          .sort(([a], [b]) => a - b)
          .map(([id, be]) => ({ ...backendView(id, be, owners), inSlots: inSlots.has(id) })),
      };
    })
    .sort((a, b) => compareFrontends(a, b));
  return {
    services,
    orphanBackends: [...st.orphanBackends].sort((a, b) => a - b),
    orphanSlots: st.orphanSlots.map((k) => `${addrPort(k.addr, k.port)}/${protoName(k.proto)} ${scopeName(k.scope)} slot=${k.slot}`),
  };
}

function ipOrder(addr: string): number {
  return addr.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function compareFrontends(a: ServiceView, b: ServiceView): number {
  return ipOrder(a.addr) - ipOrder(b.addr) || a.port - b.port || a.proto.localeCompare(b.proto) || a.scope.localeCompare(b.scope);
}

function backendView(id: number, be: Backend, owners: ReadonlyMap<number, string>): BackendView {
  return { id, addr: be.addr, port: be.port, proto: protoName(be.proto), state: backendStateName(be.state), svcId: be.svcId, owner: ownerOf(owners, be.svcId) };
}

export function backendsView(maps: PinnedMaps, owners: ReadonlyMap<number, string>): BackendView[] {
  return [...backendTable(maps)].sort(([a], [b]) => a - b).map(([id, be]) => backendView(id, be, owners));
}

/** Conntrack entries (all, or those `keep` selects), oldest activity last. */
export function flowsView(maps: PinnedMaps, owners: ReadonlyMap<number, string>, keep: (flags: number) => boolean = () => true): FlowView[] {
  const backends = backendTable(maps);
  const now = monotonicNs();
  const out: FlowView[] = [];
  for (const [kb, vb] of maps.get('conntrack').entries()) {
    const k = decodeCtKey(kb);
    const v = decodeCtValue(vb);
    if (!keep(v.flags)) continue;
    const be = backends.get(v.backendId);
    const snat = (v.flags & CT_FLAGS.SNAT) !== 0;
    out.push({
      dir: ctDirName(k.dir),
      proto: protoName(k.proto),
      src: addrPort(k.saddr, k.sport),
      dst: addrPort(k.daddr, k.dport),
      svcId: v.svcId,
      owner: ownerOf(owners, v.svcId),
      backendId: v.backendId,
      backend: be ? addrPort(be.addr, be.port) : null,
      nat: k.dir === CT_DIR.REPLY ? addrPort(v.natAddr, v.natPort) : null,
      peer: snat ? addrPort(v.peerAddr, v.peerPort) : null,
      flags: ctFlagNames(v.flags),
      ageS: ageSeconds(now, v.lastSeenNs),
    });
  }
  return out.sort((a, b) => a.ageS - b.ageS || a.src.localeCompare(b.src) || a.dir.localeCompare(b.dir));
}

/** Flows whose source was translated too (CT entries with the SNAT flag). */
export function natView(maps: PinnedMaps, owners: ReadonlyMap<number, string>): FlowView[] {
  return flowsView(maps, owners, (flags) => (flags & CT_FLAGS.SNAT) !== 0);
}

export function affinityView(maps: PinnedMaps, owners: ReadonlyMap<number, string>): AffinityView[] {
  const backends = backendTable(maps);
  const now = monotonicNs();
  const out: AffinityView[] = [];
  for (const [kb, vb] of maps.get('affinity').entries()) {
    const k = decodeAffinityKey(kb);
    const v = decodeAffinityValue(vb);
    const be = backends.get(v.backendId);
    out.push({
      client: k.client,
      svcId: k.svcId,
      owner: ownerOf(owners, k.svcId),
      backendId: v.backendId,
      backend: be ? addrPort(be.addr, be.port) : null,
      ageS: ageSeconds(now, v.lastUsedNs),
    });
  }
  return out.sort((a, b) => a.svcId - b.svcId || ipOrder(a.client) - ipOrder(b.client));
}

/** Decision counters summed over CPUs, every reason the ABI names (zeros included). */
export function countersView(maps: PinnedMaps): CounterView[] {
  const m = maps.get('counters');
  return REASONS.map((reason, id) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    const v = m.lookup(key);
    const c = v ? sumPerCpuCounter(v) : { packets: 0n, bytes: 0n };
    return { reason, packets: c.packets.toString(), bytes: c.bytes.toString() };
  }).filter((c) => c.reason !== 'INVALID' || c.packets !== '0');
}
