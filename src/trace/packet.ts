// The synthetic packet `kpx trace` runs through the datapath, and the decoder for what
// comes out: Ethernet + IPv4 + TCP or UDP with valid checksums (the datapath rewrites
// addresses with incremental checksum updates, so the input must be right), and back.

import { bufferToIpv4, ipv4ToBuffer } from '../datapath/abi.js';

export const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17 } as const;
export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface PacketSpec {
  proto: 'TCP' | 'UDP';
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** TCP only; default SYN (the first packet of a connection). */
  tcpFlags?: number;
}

function checksum(...parts: Buffer[]): number {
  const all = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += (all[i]! << 8) | (i + 1 < all.length ? all[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoHeader(src: string, dst: string, proto: number, len: number): Buffer {
  const p = Buffer.alloc(12);
  ipv4ToBuffer(src).copy(p, 0);
  ipv4ToBuffer(dst).copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return p;
}

/** An Ethernet frame (locally administered MACs) carrying the packet. */
export function buildPacket(spec: PacketSpec): Buffer {
  const payload = Buffer.from('kpx trace\n');
  let l4: Buffer;
  let proto: number;
  if (spec.proto === 'TCP') {
    proto = IPPROTO.TCP;
    const flags = spec.tcpFlags ?? TCP_FLAGS.SYN;
    l4 = Buffer.alloc(20);
    l4.writeUInt16BE(spec.sport, 0);
    l4.writeUInt16BE(spec.dport, 2);
    l4.writeUInt32BE(0x6b707801, 4); // seq
    l4.writeUInt32BE(flags & TCP_FLAGS.ACK ? 0x6b707802 : 0, 8);
    l4[12] = 5 << 4;
    l4[13] = flags;
    l4.writeUInt16BE(64240, 14);
    l4 = flags & TCP_FLAGS.SYN ? l4 : Buffer.concat([l4, payload]);
  } else {
    proto = IPPROTO.UDP;
    l4 = Buffer.concat([Buffer.alloc(8), payload]);
    l4.writeUInt16BE(spec.sport, 0);
    l4.writeUInt16BE(spec.dport, 2);
    l4.writeUInt16BE(l4.length, 4);
  }
  const csumAt = proto === IPPROTO.TCP ? 16 : 6;
  let c = checksum(pseudoHeader(spec.src, spec.dst, proto, l4.length), l4);
  if (proto === IPPROTO.UDP && c === 0) c = 0xffff;
  l4.writeUInt16BE(c, csumAt);

  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + l4.length, 2);
  ip.writeUInt16BE(0x6b70, 4); // id
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = proto;
  ipv4ToBuffer(spec.src).copy(ip, 12);
  ipv4ToBuffer(spec.dst).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);

  const eth = Buffer.alloc(ETH_HLEN);
  Buffer.from('02006b700002', 'hex').copy(eth, 0);
  Buffer.from('02006b700001', 'hex').copy(eth, 6);
  eth.writeUInt16BE(ETH_P_IP, 12);
  return Buffer.concat([eth, ip, l4]);
}

export interface DecodedPacket {
  proto: 'TCP' | 'UDP' | 'ICMP' | string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  tcpFlags?: string[];
  /** ICMP type/code, and the tuple of the packet it quotes (an unreachable). */
  icmp?: { type: number; code: number; quoted?: { src: string; dst: string; sport: number; dport: number; proto: number } };
}

function flagNames(f: number): string[] {
  return Object.entries(TCP_FLAGS)
    .filter(([, b]) => (f & b) !== 0)
    .map(([n]) => n);
}

/** The IPv4 packet in an Ethernet frame, or undefined when it is not one. */
export function decodePacket(frame: Buffer): DecodedPacket | undefined {
  if (frame.length < ETH_HLEN + 20 || frame.readUInt16BE(12) !== ETH_P_IP) return undefined;
  const ip = frame.subarray(ETH_HLEN);
  const ihl = (ip[0]! & 0x0f) * 4;
  const proto = ip[9]!;
  const src = bufferToIpv4(ip, 12);
  const dst = bufferToIpv4(ip, 16);
  const l4 = ip.subarray(ihl);
  if (proto === IPPROTO.TCP && l4.length >= 20) {
    return { proto: 'TCP', src, dst, sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2), tcpFlags: flagNames(l4[13]!) };
  }
  if (proto === IPPROTO.UDP && l4.length >= 8) return { proto: 'UDP', src, dst, sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2) };
  if (proto === IPPROTO.ICMP && l4.length >= 8) {
    const icmp: DecodedPacket['icmp'] = { type: l4[0]!, code: l4[1]! };
    const inner = l4.subarray(8);
    if (inner.length >= 28) {
      const ihl2 = (inner[0]! & 0x0f) * 4;
      if (inner.length >= ihl2 + 4) {
        icmp.quoted = { src: bufferToIpv4(inner, 12), dst: bufferToIpv4(inner, 16), proto: inner[9]!, sport: inner.readUInt16BE(ihl2), dport: inner.readUInt16BE(ihl2 + 2) };
      }
    }
    return { proto: 'ICMP', src, dst, icmp };
  }
  return { proto: `proto${proto}`, src, dst };
}
