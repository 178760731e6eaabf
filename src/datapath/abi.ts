// The userspace mirror of bpf/abi.h and the ABI parts of bpf/constants.h.
// test/datapath/abi.test.ts checks every size and offset here against the BTF of the
// committed object, so drift fails a test instead of corrupting packets.
// Addresses are dotted-quad strings; ports are host-order numbers. Encoding puts them
// in network byte order, as the datapath reads them.

export const MAP_NAMES = {
  services: 'kpx_services_v1',
  backends: 'kpx_backends_v1',
  /** One __u32: bumped after backends are deleted or rewritten, so conntrack's cached
   *  backend addresses are looked up again (bpf/conntrack.h, the backend cache). */
  backendGen: 'kpx_backend_gen_v1',
  /** One __u32, written by the datapath: where the next SNAT port search starts
   *  (bpf/snat.h); pinned so a restarted agent does not start over. */
  snatCursor: 'kpx_snat_cursor_v1',
  conntrack: 'kpx_ct_v1',
  /** Ports of fragmented datagrams, from their first fragments (bpf/parse.h). */
  frags: 'kpx_frags_v1',
  affinity: 'kpx_affinity_v1',
  counters: 'kpx_counters_v1',
  config: 'kpx_config_v1',
  srcRanges: 'kpx_srcrange_v1',
  /** Translations of the node's own UDP sockets (bpf/sock.h). */
  sockRev: 'kpx_sock_rev_v1',
  /** Per-frontend statistics, per CPU (bpf/svc_stats.h): an array indexed by svc_id for
   *  ids below its capacity, an LRU hash keyed by svc_id for the others. */
  svcStatsDense: 'kpx_svc_stats_dense_v1',
  svcStats: 'kpx_svc_stats_v1',
} as const;
export type MapRole = keyof typeof MAP_NAMES;

export const PROGRAM_NAMES = {
  /** tc ingress of pod veths (host side): everything pods send. */
  fromPod: 'kpx_from_pod',
  /** tc egress of pod veths: reverse NAT of replies that came by another path. */
  toPod: 'kpx_to_pod',
  /** XDP on the external device: traffic from outside the node. */
  xdpExt: 'kpx_xdp_ext',
  /** tc ingress on the external device, where XDP cannot attach. */
  tcExt: 'kpx_tc_ext',
  /** XDP_PASS for the far end of a veth carrying xdpExt (lab): XDP_TX on a veth reaches
   *  only a peer that runs an XDP program. */
  xdpPeerPass: 'kpx_xdp_peer_pass',
  /** cgroup socket hooks for node-originated traffic (bpf/sock.h, native/cgroup.ts). */
  sockConnect4: 'kpx_sock_connect4',
  sockSendmsg4: 'kpx_sock_sendmsg4',
  sockRecvmsg4: 'kpx_sock_recvmsg4',
  sockGetpeername4: 'kpx_sock_getpeername4',
  /** Never attached: test-run at scrape time to count map elements (bpf/map_counts.h). */
  mapCounts: 'kpx_map_counts',
} as const;
export type ProgramRole = keyof typeof PROGRAM_NAMES;

export const PROTO = { TCP: 6, UDP: 17 } as const;
export type Proto = (typeof PROTO)[keyof typeof PROTO];

export const SCOPE = { EXTERNAL: 0, INTERNAL: 1 } as const;

export const SVC_FLAGS = {
  CLUSTER_IP: 1 << 0,
  NODE_PORT: 1 << 1,
  EXTERNAL_IP: 1 << 2,
  LOAD_BALANCER: 1 << 3,
  AFFINITY: 1 << 4,
  ETP_LOCAL: 1 << 5,
  ITP_LOCAL: 1 << 6,
  HOST_PORT: 1 << 7,
  SOURCE_RANGES: 1 << 8,
} as const;

/** kpx_backend.state: the state in the low 7 bits (STATE_MASK), LOCAL_FLAG in bit 7 when
 *  the backend runs on this node (external flows to it keep the client address; to a
 *  remote backend they are SNATed to the node). */
export const BACKEND_STATE = { ACTIVE: 1, TERMINATING: 2, STATE_MASK: 0x7f, LOCAL_FLAG: 0x80 } as const;
export const CT_DIR = { FORWARD: 1, REPLY: 2 } as const;
/** kpx_ct_value.flags (bpf/constants.h KPX_CT_F_*). FIN_CLIENT … RST say how a TCP flow
 *  closed, which sets how long its entries (and a SNAT tuple) outlive it (bpf/conntrack.h). */
export const CT_FLAGS = {
  SEEN_REPLY: 1 << 0,
  CLOSING: 1 << 1,
  SNAT: 1 << 2,
  FIN_CLIENT: 1 << 3,
  FIN_BACKEND: 1 << 4,
  BACKEND_FIRST: 1 << 5,
  CLOSED: 1 << 6,
  RST: 1 << 7,
  /** FORWARD only: nat_addr/nat_port cache the backend (bpf/conntrack.h). */
  BACKEND_CACHED: 1 << 15,
} as const;
/** kpx_sock_rev_key.dir */
export const SOCK_DIR = { FORWARD: 1, REPLY: 2 } as const;

/** enum kpx_reason, by value. Index 0 is reserved as invalid. */
export const REASONS = [
  'INVALID',
  'PASS_NOT_IPV4',
  'PASS_NOT_TCP_UDP',
  'PASS_FRAGMENT',
  'PASS_NO_SERVICE',
  'PASS_NO_FLOW',
  'FWD_NEW_FLOW',
  'FWD_ESTABLISHED',
  'FWD_RESELECTED',
  'FWD_AFFINITY',
  'FWD_REPLY',
  'DROP_MALFORMED',
  'DROP_NO_BACKEND',
  'DROP_INVALID_BACKEND',
  'DROP_CT_FULL',
  'DROP_NAT_FAILED',
  'REJECT_TCP',
  'REJECT_UDP',
  'DROP_NO_LOCAL_BACKEND',
  'DROP_SOURCE_RANGE',
  'DROP_SNAT_PORTS_EXHAUSTED',
  'FWD_SNAT',
  'FWD_HAIRPIN',
  'DROP_REJECT_FAILED',
  'DROP_REJECT_NOT_SENT',
  'DROP_NO_CONFIG',
  'SOCK_TRANSLATED',
  'SOCK_AFFINITY',
  'SOCK_ESTABLISHED',
  'SOCK_REFUSED',
  'SOCK_UNREACHABLE',
  'SOCK_REV_RESTORED',
  'FWD_ICMP_ERROR',
] as const;
export type Reason = (typeof REASONS)[number];
export const REASON_MAX = 64;
export function reasonId(name: Reason): number {
  return REASONS.indexOf(name);
}

/** A C struct's layout: total size and each field's byte offset and size. */
export interface StructLayout {
  readonly cName: string;
  readonly size: number;
  readonly fields: Readonly<Record<string, { offset: number; size: number }>>;
}

export const LAYOUTS = {
  svcKey: {
    cName: 'kpx_svc_key',
    size: 12,
    fields: {
      addr: { offset: 0, size: 4 },
      port: { offset: 4, size: 2 },
      slot: { offset: 6, size: 2 },
      proto: { offset: 8, size: 1 },
      scope: { offset: 9, size: 1 },
      pad: { offset: 10, size: 2 },
    },
  },
  svcValue: {
    cName: 'kpx_svc_value',
    size: 16,
    fields: {
      backend_id: { offset: 0, size: 4 },
      svc_id: { offset: 4, size: 4 },
      count: { offset: 8, size: 2 },
      flags: { offset: 10, size: 2 },
      affinity_timeout_s: { offset: 12, size: 4 },
    },
  },
  backend: {
    cName: 'kpx_backend',
    size: 12,
    fields: {
      addr: { offset: 0, size: 4 },
      port: { offset: 4, size: 2 },
      proto: { offset: 6, size: 1 },
      state: { offset: 7, size: 1 },
      svc_id: { offset: 8, size: 4 },
    },
  },
  ctKey: {
    cName: 'kpx_ct_key',
    size: 16,
    fields: {
      saddr: { offset: 0, size: 4 },
      daddr: { offset: 4, size: 4 },
      sport: { offset: 8, size: 2 },
      dport: { offset: 10, size: 2 },
      proto: { offset: 12, size: 1 },
      dir: { offset: 13, size: 1 },
      pad: { offset: 14, size: 2 },
    },
  },
  ctValue: {
    cName: 'kpx_ct_value',
    size: 32,
    fields: {
      last_seen_ns: { offset: 0, size: 8 },
      nat_addr: { offset: 8, size: 4 },
      nat_port: { offset: 12, size: 2 },
      flags: { offset: 14, size: 2 },
      backend_id: { offset: 16, size: 4 },
      svc_id: { offset: 20, size: 4 },
      peer_addr: { offset: 24, size: 4 },
      peer_port: { offset: 28, size: 2 },
      backend_gen: { offset: 30, size: 2 },
    },
  },
  config: {
    cName: 'kpx_config',
    size: 24,
    fields: {
      node_addr: { offset: 0, size: 4 },
      hairpin_addr: { offset: 4, size: 4 },
      snat_port_min: { offset: 8, size: 2 },
      snat_port_max: { offset: 10, size: 2 },
      ext_ifindex: { offset: 12, size: 4 },
      netns_cookie: { offset: 16, size: 8 },
    },
  },
  srcRangeKey: {
    cName: 'kpx_srcrange_key',
    size: 12,
    fields: {
      prefixlen: { offset: 0, size: 4 },
      svc_id: { offset: 4, size: 4 },
      addr: { offset: 8, size: 4 },
    },
  },
  fragKey: {
    cName: 'kpx_frag_key',
    size: 12,
    fields: {
      saddr: { offset: 0, size: 4 },
      daddr: { offset: 4, size: 4 },
      id: { offset: 8, size: 2 },
      proto: { offset: 10, size: 1 },
      pad: { offset: 11, size: 1 },
    },
  },
  fragValue: {
    cName: 'kpx_frag_value',
    size: 4,
    fields: {
      sport: { offset: 0, size: 2 },
      dport: { offset: 2, size: 2 },
    },
  },
  affinityKey: {
    cName: 'kpx_affinity_key',
    size: 8,
    fields: {
      client: { offset: 0, size: 4 },
      svc_id: { offset: 4, size: 4 },
    },
  },
  affinityValue: {
    cName: 'kpx_affinity_value',
    size: 16,
    fields: {
      last_used_ns: { offset: 0, size: 8 },
      backend_id: { offset: 8, size: 4 },
      pad: { offset: 12, size: 4 },
    },
  },
  counter: {
    cName: 'kpx_counter',
    size: 16,
    fields: {
      packets: { offset: 0, size: 8 },
      bytes: { offset: 8, size: 8 },
    },
  },
  mapCounts: {
    cName: 'kpx_map_counts',
    size: 56,
    fields: {
      services: { offset: 0, size: 8 },
      backends: { offset: 8, size: 8 },
      ct: { offset: 16, size: 8 },
      affinity: { offset: 24, size: 8 },
      sock_rev: { offset: 32, size: 8 },
      svc_stats: { offset: 40, size: 8 },
      frags: { offset: 48, size: 8 },
    },
  },
  svcStats: {
    cName: 'kpx_svc_stats',
    size: 32,
    fields: {
      packets: { offset: 0, size: 8 },
      bytes: { offset: 8, size: 8 },
      new_conns: { offset: 16, size: 8 },
      drops: { offset: 24, size: 8 },
    },
  },
  sockRevKey: {
    cName: 'kpx_sock_rev_key',
    size: 16,
    fields: {
      cookie: { offset: 0, size: 8 },
      addr: { offset: 8, size: 4 },
      port: { offset: 12, size: 2 },
      dir: { offset: 14, size: 1 },
      pad: { offset: 15, size: 1 },
    },
  },
  sockRevValue: {
    cName: 'kpx_sock_rev_value',
    size: 16,
    fields: {
      addr: { offset: 0, size: 4 },
      port: { offset: 4, size: 2 },
      pad: { offset: 6, size: 2 },
      backend_id: { offset: 8, size: 4 },
      svc_id: { offset: 12, size: 4 },
    },
  },
} as const satisfies Record<string, StructLayout>;

// ---- address helpers -------------------------------------------------------------

export function ipv4ToBuffer(addr: string): Buffer {
  const parts = addr.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${addr}`);
  const out = Buffer.alloc(4);
  parts.forEach((p, i) => {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new RangeError(`not an IPv4 address: ${addr}`);
    out[i] = n;
  });
  return out;
}

/**
 * Writes a dotted-quad address at `offset` in network byte order. A hand-rolled parser:
 * the reconciler encodes hundreds of thousands of keys in a full sync, and a split/regex
 * parse plus a temporary Buffer per address dominated that.
 */
export function writeIpv4(b: Buffer, offset: number, addr: string): void {
  let part = 0;
  let digits = 0;
  let idx = 0;
  for (let i = 0; i < addr.length; i++) {
    const c = addr.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part > 255 || idx > 2) throw new RangeError(`not an IPv4 address: ${addr}`);
      b[offset + idx++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else {
      throw new RangeError(`not an IPv4 address: ${addr}`);
    }
  }
  if (idx !== 3 || digits === 0 || part > 255) throw new RangeError(`not an IPv4 address: ${addr}`);
  b[offset + 3] = part;
}

export function bufferToIpv4(buf: Buffer, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

// ---- typed views -------------------------------------------------------------------

export interface SvcKey {
  addr: string;
  port: number;
  slot: number;
  proto: Proto;
  scope: number;
}
export interface SvcValue {
  backendId: number;
  svcId: number;
  count: number;
  flags: number;
  affinityTimeoutS: number;
}
export interface Backend {
  addr: string;
  port: number;
  proto: Proto;
  state: number;
  svcId: number;
}
export interface CtKey {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  proto: Proto;
  dir: number;
}
export interface CtValue {
  lastSeenNs: bigint;
  natAddr: string;
  natPort: number;
  flags: number;
  backendId: number;
  svcId: number;
  peerAddr: string;
  peerPort: number;
  /** FORWARD with BACKEND_CACHED: low 16 bits of the backend generation of the cache. */
  backendGen?: number;
}
export interface Config {
  nodeAddr: string;
  hairpinAddr: string;
  snatPortMin: number;
  snatPortMax: number;
  extIfindex: number;
  netnsCookie: bigint;
}
export interface SrcRangeKey {
  svcId: number;
  /** CIDR base address and prefix length (0..32). */
  addr: string;
  bits: number;
}

export interface AffinityKey {
  client: string;
  svcId: number;
}
export interface AffinityValue {
  lastUsedNs: bigint;
  backendId: number;
}
export interface Counter {
  packets: bigint;
  bytes: bigint;
}
/** kpx_svc_stats_v1 value, summed over CPUs (what each field counts: bpf/svc_stats.h). */
export interface SvcStats {
  /** Client -> frontend packets forwarded to a backend (replies are not counted). */
  packets: bigint;
  bytes: bigint;
  /** New flows; translated connect()/sendmsg() of node-originated traffic. */
  newConns: bigint;
  /** Packets to the frontend dropped or rejected; refused socket calls. */
  drops: bigint;
}

const L = LAYOUTS;

/** Writes a kpx_svc_key at `o` (the bytes there must be zero: padding is not written). */
export function writeSvcKey(b: Buffer, o: number, k: SvcKey): void {
  writeIpv4(b, o + L.svcKey.fields.addr.offset, k.addr);
  b.writeUInt16BE(k.port, o + L.svcKey.fields.port.offset);
  b.writeUInt16LE(k.slot, o + L.svcKey.fields.slot.offset);
  b.writeUInt8(k.proto, o + L.svcKey.fields.proto.offset);
  b.writeUInt8(k.scope, o + L.svcKey.fields.scope.offset);
}
export function encodeSvcKey(k: SvcKey): Buffer {
  const b = Buffer.alloc(L.svcKey.size);
  writeSvcKey(b, 0, k);
  return b;
}
export function decodeSvcKey(b: Buffer): SvcKey {
  return {
    addr: bufferToIpv4(b, L.svcKey.fields.addr.offset),
    port: b.readUInt16BE(L.svcKey.fields.port.offset),
    slot: b.readUInt16LE(L.svcKey.fields.slot.offset),
    proto: b.readUInt8(L.svcKey.fields.proto.offset) as Proto,
    scope: b.readUInt8(L.svcKey.fields.scope.offset),
  };
}

export function writeSvcValue(b: Buffer, o: number, v: SvcValue): void {
  b.writeUInt32LE(v.backendId, o + L.svcValue.fields.backend_id.offset);
  b.writeUInt32LE(v.svcId, o + L.svcValue.fields.svc_id.offset);
  b.writeUInt16LE(v.count, o + L.svcValue.fields.count.offset);
  b.writeUInt16LE(v.flags, o + L.svcValue.fields.flags.offset);
  b.writeUInt32LE(v.affinityTimeoutS, o + L.svcValue.fields.affinity_timeout_s.offset);
}
export function encodeSvcValue(v: SvcValue): Buffer {
  const b = Buffer.alloc(L.svcValue.size);
  writeSvcValue(b, 0, v);
  return b;
}
export function decodeSvcValue(b: Buffer): SvcValue {
  return {
    backendId: b.readUInt32LE(L.svcValue.fields.backend_id.offset),
    svcId: b.readUInt32LE(L.svcValue.fields.svc_id.offset),
    count: b.readUInt16LE(L.svcValue.fields.count.offset),
    flags: b.readUInt16LE(L.svcValue.fields.flags.offset),
    affinityTimeoutS: b.readUInt32LE(L.svcValue.fields.affinity_timeout_s.offset),
  };
}

export function encodeBackendId(id: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(id, 0);
  return b;
}
export function decodeBackendId(b: Buffer): number {
  return b.readUInt32LE(0);
}

export function writeBackend(b: Buffer, o: number, v: Backend): void {
  writeIpv4(b, o + L.backend.fields.addr.offset, v.addr);
  b.writeUInt16BE(v.port, o + L.backend.fields.port.offset);
  b.writeUInt8(v.proto, o + L.backend.fields.proto.offset);
  b.writeUInt8(v.state, o + L.backend.fields.state.offset);
  b.writeUInt32LE(v.svcId, o + L.backend.fields.svc_id.offset);
}
export function encodeBackend(v: Backend): Buffer {
  const b = Buffer.alloc(L.backend.size);
  writeBackend(b, 0, v);
  return b;
}

/** Encodes `items` back to back into one zeroed buffer of `size`-byte records. */
export function packRecords<T>(items: readonly T[], size: number, write: (b: Buffer, offset: number, item: T) => void): Buffer {
  const b = Buffer.alloc(items.length * size);
  for (let i = 0; i < items.length; i++) write(b, i * size, items[i]!);
  return b;
}
export function decodeBackend(b: Buffer): Backend {
  return {
    addr: bufferToIpv4(b, L.backend.fields.addr.offset),
    port: b.readUInt16BE(L.backend.fields.port.offset),
    proto: b.readUInt8(L.backend.fields.proto.offset) as Proto,
    state: b.readUInt8(L.backend.fields.state.offset),
    svcId: b.readUInt32LE(L.backend.fields.svc_id.offset),
  };
}

export function encodeCtKey(k: CtKey): Buffer {
  const b = Buffer.alloc(L.ctKey.size);
  writeIpv4(b, L.ctKey.fields.saddr.offset, k.saddr);
  writeIpv4(b, L.ctKey.fields.daddr.offset, k.daddr);
  b.writeUInt16BE(k.sport, L.ctKey.fields.sport.offset);
  b.writeUInt16BE(k.dport, L.ctKey.fields.dport.offset);
  b.writeUInt8(k.proto, L.ctKey.fields.proto.offset);
  b.writeUInt8(k.dir, L.ctKey.fields.dir.offset);
  return b;
}
export function decodeCtKey(b: Buffer): CtKey {
  return {
    saddr: bufferToIpv4(b, L.ctKey.fields.saddr.offset),
    daddr: bufferToIpv4(b, L.ctKey.fields.daddr.offset),
    sport: b.readUInt16BE(L.ctKey.fields.sport.offset),
    dport: b.readUInt16BE(L.ctKey.fields.dport.offset),
    proto: b.readUInt8(L.ctKey.fields.proto.offset) as Proto,
    dir: b.readUInt8(L.ctKey.fields.dir.offset),
  };
}

export function encodeCtValue(v: CtValue): Buffer {
  const b = Buffer.alloc(L.ctValue.size);
  b.writeBigUInt64LE(v.lastSeenNs, L.ctValue.fields.last_seen_ns.offset);
  writeIpv4(b, L.ctValue.fields.nat_addr.offset, v.natAddr);
  b.writeUInt16BE(v.natPort, L.ctValue.fields.nat_port.offset);
  b.writeUInt16LE(v.flags, L.ctValue.fields.flags.offset);
  b.writeUInt32LE(v.backendId, L.ctValue.fields.backend_id.offset);
  b.writeUInt32LE(v.svcId, L.ctValue.fields.svc_id.offset);
  writeIpv4(b, L.ctValue.fields.peer_addr.offset, v.peerAddr);
  b.writeUInt16BE(v.peerPort, L.ctValue.fields.peer_port.offset);
  b.writeUInt16LE(v.backendGen ?? 0, L.ctValue.fields.backend_gen.offset);
  return b;
}
export function decodeCtValue(b: Buffer): CtValue {
  return {
    lastSeenNs: b.readBigUInt64LE(L.ctValue.fields.last_seen_ns.offset),
    natAddr: bufferToIpv4(b, L.ctValue.fields.nat_addr.offset),
    natPort: b.readUInt16BE(L.ctValue.fields.nat_port.offset),
    flags: b.readUInt16LE(L.ctValue.fields.flags.offset),
    backendId: b.readUInt32LE(L.ctValue.fields.backend_id.offset),
    svcId: b.readUInt32LE(L.ctValue.fields.svc_id.offset),
    peerAddr: bufferToIpv4(b, L.ctValue.fields.peer_addr.offset),
    peerPort: b.readUInt16BE(L.ctValue.fields.peer_port.offset),
    backendGen: b.readUInt16LE(L.ctValue.fields.backend_gen.offset),
  };
}

export function encodeConfig(c: Config): Buffer {
  const b = Buffer.alloc(L.config.size);
  writeIpv4(b, L.config.fields.node_addr.offset, c.nodeAddr);
  writeIpv4(b, L.config.fields.hairpin_addr.offset, c.hairpinAddr);
  b.writeUInt16LE(c.snatPortMin, L.config.fields.snat_port_min.offset);
  b.writeUInt16LE(c.snatPortMax, L.config.fields.snat_port_max.offset);
  b.writeUInt32LE(c.extIfindex, L.config.fields.ext_ifindex.offset);
  b.writeBigUInt64LE(c.netnsCookie, L.config.fields.netns_cookie.offset);
  return b;
}
export function decodeConfig(b: Buffer): Config {
  return {
    nodeAddr: bufferToIpv4(b, L.config.fields.node_addr.offset),
    hairpinAddr: bufferToIpv4(b, L.config.fields.hairpin_addr.offset),
    snatPortMin: b.readUInt16LE(L.config.fields.snat_port_min.offset),
    snatPortMax: b.readUInt16LE(L.config.fields.snat_port_max.offset),
    extIfindex: b.readUInt32LE(L.config.fields.ext_ifindex.offset),
    netnsCookie: b.readBigUInt64LE(L.config.fields.netns_cookie.offset),
  };
}

export function encodeSrcRangeKey(k: SrcRangeKey): Buffer {
  const b = Buffer.alloc(L.srcRangeKey.size);
  b.writeUInt32LE(32 + k.bits, L.srcRangeKey.fields.prefixlen.offset);
  // The trie compares bytes in order: svc_id is matched whole (32 bits) before the address.
  b.writeUInt32BE(k.svcId, L.srcRangeKey.fields.svc_id.offset);
  writeIpv4(b, L.srcRangeKey.fields.addr.offset, k.addr);
  return b;
}
export function decodeSrcRangeKey(b: Buffer): SrcRangeKey {
  return {
    svcId: b.readUInt32BE(L.srcRangeKey.fields.svc_id.offset),
    addr: bufferToIpv4(b, L.srcRangeKey.fields.addr.offset),
    bits: b.readUInt32LE(L.srcRangeKey.fields.prefixlen.offset) - 32,
  };
}

export function encodeAffinityKey(k: AffinityKey): Buffer {
  const b = Buffer.alloc(L.affinityKey.size);
  writeIpv4(b, L.affinityKey.fields.client.offset, k.client);
  b.writeUInt32LE(k.svcId, L.affinityKey.fields.svc_id.offset);
  return b;
}
export function decodeAffinityKey(b: Buffer): AffinityKey {
  return {
    client: bufferToIpv4(b, L.affinityKey.fields.client.offset),
    svcId: b.readUInt32LE(L.affinityKey.fields.svc_id.offset),
  };
}
export function decodeAffinityValue(b: Buffer): AffinityValue {
  return {
    lastUsedNs: b.readBigUInt64LE(L.affinityValue.fields.last_used_ns.offset),
    backendId: b.readUInt32LE(L.affinityValue.fields.backend_id.offset),
  };
}

/** Sums a per-CPU kpx_counter value (one 16-byte slot per possible CPU). */
export function sumPerCpuCounter(b: Buffer): Counter {
  let packets = 0n;
  let bytes = 0n;
  for (let off = 0; off + L.counter.size <= b.length; off += L.counter.size) {
    packets += b.readBigUInt64LE(off + L.counter.fields.packets.offset);
    bytes += b.readBigUInt64LE(off + L.counter.fields.bytes.offset);
  }
  return { packets, bytes };
}

// ---- per-frontend statistics (bpf/svc_stats.h) -------------------------------------

/** kpx_svc_stats_v1 key: the frontend entry's svc_id. */
export function encodeSvcStatsKey(svcId: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(svcId, 0);
  return b;
}
export function decodeSvcStatsKey(b: Buffer): number {
  return b.readUInt32LE(0);
}

/** One CPU's kpx_svc_stats (LAYOUTS.svcStats.size bytes at `offset`). */
export function decodeSvcStats(b: Buffer, offset = 0): SvcStats {
  const f = L.svcStats.fields;
  return {
    packets: b.readBigUInt64LE(offset + f.packets.offset),
    bytes: b.readBigUInt64LE(offset + f.bytes.offset),
    newConns: b.readBigUInt64LE(offset + f.new_conns.offset),
    drops: b.readBigUInt64LE(offset + f.drops.offset),
  };
}

/** Sums a per-CPU kpx_svc_stats value as a lookup returns it (one slot per possible CPU;
 *  the struct is a multiple of 8 bytes, so the slots need no rounding). */
export function sumPerCpuSvcStats(b: Buffer): SvcStats {
  const out: SvcStats = { packets: 0n, bytes: 0n, newConns: 0n, drops: 0n };
  for (let off = 0; off + L.svcStats.size <= b.length; off += L.svcStats.size) {
    const s = decodeSvcStats(b, off);
    out.packets += s.packets;
    out.bytes += s.bytes;
    out.newConns += s.newConns;
    out.drops += s.drops;
  }
  return out;
}

// ---- map element counts (bpf/map_counts.h) -----------------------------------------

/** The maps kpx_map_counts counts, by role, in the order of struct kpx_map_counts. */
export const COUNTED_MAPS = {
  services: 'services',
  backends: 'backends',
  conntrack: 'ct',
  affinity: 'affinity',
  sockRev: 'sock_rev',
  svcStats: 'svc_stats',
  frags: 'frags',
} as const satisfies Partial<Record<MapRole, keyof typeof LAYOUTS.mapCounts.fields>>;
export type CountedMap = keyof typeof COUNTED_MAPS;

/** kpx_map_counts' output (BPF_PROG_TEST_RUN data_out): elements per map role, or
 *  undefined where the kernel cannot count (-1: no bpf_map_sum_elem_count, Linux < 6.6). */
export function decodeMapCounts(b: Buffer): Partial<Record<CountedMap, number>> {
  const out: Partial<Record<CountedMap, number>> = {};
  for (const [role, field] of Object.entries(COUNTED_MAPS) as Array<[CountedMap, keyof typeof LAYOUTS.mapCounts.fields]>) {
    const n = b.readBigInt64LE(L.mapCounts.fields[field].offset);
    if (n >= 0n) out[role] = Number(n);
  }
  return out;
}

// ---- socket hooks (bpf/sock.h) ----------------------------------------------------

export interface SockRevKey {
  /** bpf_get_socket_cookie() of the node's UDP socket. */
  cookie: bigint;
  addr: string;
  port: number;
  /** SOCK_DIR.REPLY: addr/port are the backend; FORWARD: the frontend. */
  dir: number;
}
export interface SockRevValue {
  addr: string;
  port: number;
  backendId: number;
  svcId: number;
}

export function encodeSockRevKey(k: SockRevKey): Buffer {
  const b = Buffer.alloc(L.sockRevKey.size);
  b.writeBigUInt64LE(k.cookie, L.sockRevKey.fields.cookie.offset);
  writeIpv4(b, L.sockRevKey.fields.addr.offset, k.addr);
  b.writeUInt16BE(k.port, L.sockRevKey.fields.port.offset);
  b.writeUInt8(k.dir, L.sockRevKey.fields.dir.offset);
  return b;
}
export function decodeSockRevKey(b: Buffer): SockRevKey {
  return {
    cookie: b.readBigUInt64LE(L.sockRevKey.fields.cookie.offset),
    addr: bufferToIpv4(b, L.sockRevKey.fields.addr.offset),
    port: b.readUInt16BE(L.sockRevKey.fields.port.offset),
    dir: b.readUInt8(L.sockRevKey.fields.dir.offset),
  };
}

export function encodeSockRevValue(v: SockRevValue): Buffer {
  const b = Buffer.alloc(L.sockRevValue.size);
  writeIpv4(b, L.sockRevValue.fields.addr.offset, v.addr);
  b.writeUInt16BE(v.port, L.sockRevValue.fields.port.offset);
  b.writeUInt32LE(v.backendId, L.sockRevValue.fields.backend_id.offset);
  b.writeUInt32LE(v.svcId, L.sockRevValue.fields.svc_id.offset);
  return b;
}
export function decodeSockRevValue(b: Buffer): SockRevValue {
  return {
    addr: bufferToIpv4(b, L.sockRevValue.fields.addr.offset),
    port: b.readUInt16BE(L.sockRevValue.fields.port.offset),
    backendId: b.readUInt32LE(L.sockRevValue.fields.backend_id.offset),
    svcId: b.readUInt32LE(L.sockRevValue.fields.svc_id.offset),
  };
}
