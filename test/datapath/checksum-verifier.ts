// An independent check of IPv4 and TCP/UDP/ICMP checksums in an Ethernet frame. It shares no
// code with packet.ts: it parses the frame itself and verifies by summing every 32-bit
// word *including* the checksum field (RFC 1071: a correct header sums to all ones), not
// by recomputing the field the way the builder does.

export interface ChecksumReport {
  ip: boolean;
  /** 'absent' for a UDP datagram sent without checksum (field 0). */
  l4: boolean | 'absent';
}

function onesSum32(bytes: Uint8Array, initial = 0n): bigint {
  let acc = initial;
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  for (let i = 0; i < padded.length; i += 4) acc += BigInt(view.getUint32(i, false));
  return acc;
}

function foldTo16(acc: bigint): number {
  let v = acc;
  while (v > 0xffffn) v = (v & 0xffffn) + (v >> 16n);
  return Number(v);
}

/** True when the words of `bytes` plus `extra` (a 32-bit-word sum) fold to 0xffff. */
function sumsToAllOnes(bytes: Uint8Array, extra = 0n): boolean {
  // Each 32-bit word is two 16-bit words (hi * 2^16 + lo, and 2^16 = 1 in ones'
  // complement), so folding the 32-bit-word sum by 16-bit chunks gives the RFC 1071 sum.
  return foldTo16(onesSum32(bytes, extra)) === 0xffff;
}

export function verifyChecksums(frame: Uint8Array): ChecksumReport {
  const ipStart = 14;
  const ihlBytes = (frame[ipStart]! & 0x0f) * 4;
  const ipHeader = frame.subarray(ipStart, ipStart + ihlBytes);
  const totLen = (frame[ipStart + 2]! << 8) | frame[ipStart + 3]!;
  const proto = frame[ipStart + 9]!;
  const ip = sumsToAllOnes(ipHeader);

  const segment = frame.subarray(ipStart + ihlBytes, ipStart + totLen);
  // ICMP: the message alone, no pseudo-header (RFC 792).
  if (proto === 1) return { ip, l4: sumsToAllOnes(segment) };
  if (proto === 17 && segment[6] === 0 && segment[7] === 0) return { ip, l4: 'absent' };
  // Pseudo-header: saddr, daddr (8 bytes), then zero, protocol, L4 length.
  const pseudo = new Uint8Array(12);
  pseudo.set(frame.subarray(ipStart + 12, ipStart + 20), 0);
  pseudo[9] = proto;
  pseudo[10] = segment.length >> 8;
  pseudo[11] = segment.length & 0xff;
  const l4 = sumsToAllOnes(segment, onesSum32(pseudo));
  return { ip, l4 };
}
