// A small packet builder for the datapath tests: Ethernet + IPv4 + TCP/UDP/ICMP frames
// with correct checksums (or deliberately wrong fields), and a decoder for assertions.
// Checksums are verified by checksum-verifier.ts, which shares no code with this file.
import { ipv4ToBuffer } from '../../src/datapath/abi.js';

export const ETH_P = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd } as const;
export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17 } as const;
export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

const ETH_HLEN = 14;
const CLIENT_MAC = Buffer.from('02000000aa01', 'hex');
const HOST_MAC = Buffer.from('02000000bb02', 'hex');

export interface Ipv4Spec {
  proto: 'tcp' | 'udp' | 'icmp';
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** TCP flags; default ACK. */
  tcpFlags?: number;
  payload?: Buffer;
  /** IP options, a multiple of 4 bytes (ihl grows accordingly). */
  ipOptions?: Buffer;
  /** More-fragments bit. */
  moreFragments?: boolean;
  /** Fragment offset in 8-byte units. */
  fragmentOffset?: number;
  /** Send the UDP datagram without a checksum (field 0, RFC 768). */
  udpNoChecksum?: boolean;
  /** Trailing bytes after the IP datagram (Ethernet padding); not counted in tot_len. */
  trailer?: Buffer;
  ttl?: number;
  id?: number;
}

/** An Ethernet frame with the given type around `payload`. */
export function ethernet(ethType: number, payload: Buffer): Buffer {
  const eth = Buffer.alloc(ETH_HLEN);
  HOST_MAC.copy(eth, 0);
  CLIENT_MAC.copy(eth, 6);
  eth.writeUInt16BE(ethType, 12);
  return Buffer.concat([eth, payload]);
}

/** RFC 1071 Internet checksum of `parts` (16-bit big-endian words, odd tail padded). */
function internetChecksum(...parts: Buffer[]): number {
  const all = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) {
    sum += (all[i]! << 8) | (i + 1 < all.length ? all[i + 1]! : 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function l4Header(spec: Ipv4Spec, payload: Buffer): Buffer {
  if (spec.proto === 'tcp') {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 80, 2);
    h.writeUInt32BE(0x01020304, 4); // seq
    h.writeUInt32BE(spec.tcpFlags !== undefined && !(spec.tcpFlags & TCP_FLAG.ACK) ? 0 : 0x0a0b0c0d, 8);
    h[12] = 5 << 4; // data offset
    h[13] = spec.tcpFlags ?? TCP_FLAG.ACK;
    h.writeUInt16BE(64240, 14); // window
    return h;
  }
  if (spec.proto === 'udp') {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 53, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    return h;
  }
  const h = Buffer.alloc(8); // ICMP echo request
  h[0] = 8;
  h.writeUInt16BE(0x1234, 4);
  h.writeUInt16BE(1, 6);
  return h;
}

/** The IPv4 datagram (no Ethernet header) described by spec, checksums filled in. */
export function ipv4Datagram(spec: Ipv4Spec): Buffer {
  const payload = spec.payload ?? Buffer.from('kpx datapath test payload');
  const options = spec.ipOptions ?? Buffer.alloc(0);
  if (options.length % 4 !== 0 || options.length > 40) throw new RangeError('IP options must be 0..40 bytes, a multiple of 4');
  const l4 = l4Header(spec, payload);
  const segment = Buffer.concat([l4, payload]);
  const ip = Buffer.alloc(20 + options.length);
  const proto = IPPROTO[spec.proto.toUpperCase() as 'TCP' | 'UDP' | 'ICMP'];
  ip[0] = 0x40 | (ip.length / 4);
  ip.writeUInt16BE(ip.length + segment.length, 2);
  ip.writeUInt16BE(spec.id ?? 0x4242, 4);
  ip.writeUInt16BE((spec.moreFragments ? 0x2000 : 0) | (spec.fragmentOffset ?? 0), 6);
  ip[8] = spec.ttl ?? 64;
  ip[9] = proto;
  ipv4ToBuffer(spec.src).copy(ip, 12);
  ipv4ToBuffer(spec.dst).copy(ip, 16);
  options.copy(ip, 20);
  ip.writeUInt16BE(internetChecksum(ip), 10);

  if (spec.proto === 'icmp') {
    segment.writeUInt16BE(internetChecksum(segment), 2);
  } else {
    const pseudo = Buffer.alloc(12);
    ip.copy(pseudo, 0, 12, 20);
    pseudo[9] = proto;
    pseudo.writeUInt16BE(segment.length, 10);
    const at = spec.proto === 'tcp' ? 16 : 6;
    if (!(spec.proto === 'udp' && spec.udpNoChecksum)) {
      const sum = internetChecksum(pseudo, segment);
      // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
      segment.writeUInt16BE(spec.proto === 'udp' && sum === 0 ? 0xffff : sum, at);
    }
  }
  return Buffer.concat([ip, segment]);
}

/** An Ethernet frame carrying the IPv4 datagram described by spec. */
export function ipv4Frame(spec: Ipv4Spec): Buffer {
  return Buffer.concat([ethernet(ETH_P.IPV4, ipv4Datagram(spec)), spec.trailer ?? Buffer.alloc(0)]);
}

/** What the tests look at in a frame. Offsets follow ihl. */
export interface FrameView {
  ethType: number;
  src: string;
  dst: string;
  proto: number;
  ttl: number;
  ihl: number;
  totLen: number;
  sport: number;
  dport: number;
  ipChecksum: number;
  l4Checksum: number;
}

export function decodeFrame(frame: Buffer): FrameView {
  const ethType = frame.readUInt16BE(12);
  const ip = frame.subarray(ETH_HLEN);
  const ihl = ip[0]! & 0x0f;
  const l4 = ip.subarray(ihl * 4);
  const proto = ip[9]!;
  const addr = (o: number) => `${ip[o]}.${ip[o + 1]}.${ip[o + 2]}.${ip[o + 3]}`;
  return {
    ethType,
    src: addr(12),
    dst: addr(16),
    proto,
    ttl: ip[8]!,
    ihl,
    totLen: ip.readUInt16BE(2),
    sport: l4.readUInt16BE(0),
    dport: l4.readUInt16BE(2),
    ipChecksum: ip.readUInt16BE(10),
    l4Checksum: proto === IPPROTO.TCP ? l4.readUInt16BE(16) : l4.readUInt16BE(6),
  };
}

/** A UDP payload of `len` bytes (len >= 2) chosen so that the checksum of the datagram
 * src:sport -> dst:dport with that payload computes to zero (sent as 0xffff). */
export function payloadForZeroUdpChecksum(src: string, sport: number, dst: string, dport: number, len = 8): Buffer {
  const payload = Buffer.alloc(len, 0x5a);
  payload.writeUInt16BE(0, 0);
  const probe = ipv4Datagram({ proto: 'udp', src, dst, sport, dport, payload });
  const ihl = (probe[0]! & 0x0f) * 4;
  // With the first payload word 0 the field is ~sum. Adding a word w = ~sum makes the
  // sum all ones, i.e. a computed checksum of zero. (A field of 0xffff already means a
  // computed zero, so w = 0 then.)
  const current = probe.readUInt16BE(ihl + 6);
  payload.writeUInt16BE(current === 0xffff ? 0 : current, 0);
  return payload;
}

export const ICMP_TYPE = { DEST_UNREACH: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;
export const ICMP_CODE = { PORT_UNREACH: 3, FRAG_NEEDED: 4 } as const;

export interface IcmpErrorSpec {
  src: string;
  dst: string;
  type: number;
  code: number;
  /** The IPv4 datagram the error is about; quoted whole unless quoteLen says less. */
  quoted: Buffer;
  quoteLen?: number;
  /** Next-hop MTU (fragmentation needed, RFC 1191). */
  mtu?: number;
}

/** An ICMP error frame (RFC 792) from src to dst quoting `quoted`, checksums filled in. */
export function icmpErrorFrame(spec: IcmpErrorSpec): Buffer {
  const quote = spec.quoted.subarray(0, spec.quoteLen ?? spec.quoted.length);
  const icmp = Buffer.concat([Buffer.alloc(8), quote]);
  icmp[0] = spec.type;
  icmp[1] = spec.code;
  if (spec.mtu !== undefined) icmp.writeUInt16BE(spec.mtu, 6);
  icmp.writeUInt16BE(internetChecksum(icmp), 2);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip.writeUInt16BE(0x1717, 4);
  ip[8] = 64;
  ip[9] = IPPROTO.ICMP;
  ipv4ToBuffer(spec.src).copy(ip, 12);
  ipv4ToBuffer(spec.dst).copy(ip, 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  return ethernet(ETH_P.IPV4, Buffer.concat([ip, icmp]));
}

/** The datagram an ICMP error frame quotes (as far as it is quoted). */
export function quotedDatagram(frame: Buffer): Buffer {
  const ihl = (frame[ETH_HLEN]! & 0x0f) * 4;
  const totLen = frame.readUInt16BE(ETH_HLEN + 2);
  return frame.subarray(ETH_HLEN + ihl + 8, ETH_HLEN + totLen);
}

/** Splits an IPv4 datagram (no options) into fragment frames carrying at most `chunk`
 *  bytes of its payload each (a multiple of 8), as a sender's kernel would. */
export function fragmentFrames(datagram: Buffer, chunk: number): Buffer[] {
  if (chunk % 8 !== 0) throw new RangeError('fragment payloads are multiples of 8 bytes');
  const ihl = (datagram[0]! & 0x0f) * 4;
  const payload = datagram.subarray(ihl);
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const part = payload.subarray(off, off + chunk);
    const ip = Buffer.from(datagram.subarray(0, ihl));
    ip.writeUInt16BE(ihl + part.length, 2);
    ip.writeUInt16BE((off + chunk < payload.length ? 0x2000 : 0) | (off / 8), 6);
    ip.writeUInt16BE(0, 10);
    ip.writeUInt16BE(internetChecksum(ip), 10);
    out.push(ethernet(ETH_P.IPV4, Buffer.concat([ip, part])));
  }
  return out;
}

/** The datagram fragment frames make up, as the receiver's kernel reassembles it: the
 *  first fragment's header (tot_len and fragment fields made whole) and every payload
 *  in offset order. Throws when they do not belong to one datagram. */
export function reassembleFrames(frames: Buffer[]): Buffer {
  const parts = frames.map((f) => {
    const ip = f.subarray(ETH_HLEN);
    const ihl = (ip[0]! & 0x0f) * 4;
    return { ip, ihl, off: (ip.readUInt16BE(6) & 0x1fff) * 8, key: ip.subarray(12, 20).toString('hex') + ip.readUInt16BE(4) + ip[9] };
  });
  if (new Set(parts.map((p) => p.key)).size !== 1) throw new Error('fragments of different datagrams (addresses, id or protocol differ)');
  parts.sort((a, b) => a.off - b.off);
  const first = parts[0]!;
  const header = Buffer.from(first.ip.subarray(0, first.ihl));
  const payload = Buffer.concat(parts.map((p) => p.ip.subarray(p.ihl, p.ip.readUInt16BE(2))));
  header.writeUInt16BE(first.ihl + payload.length, 2);
  header.writeUInt16BE(0, 6);
  header.writeUInt16BE(0, 10);
  header.writeUInt16BE(internetChecksum(header), 10);
  return ethernet(ETH_P.IPV4, Buffer.concat([header, payload]));
}
