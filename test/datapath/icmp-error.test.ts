// ICMP errors about translated flows (bpf/icmp_error.h): the error quotes the packet kpx
// translated, and the client's kernel matches errors to sockets by that quote, so it must
// come back translated as a reply of the flow would (what netfilter conntrack does for
// kube-proxy: the error is RELATED to the flow). The real object through
// BPF_PROG_TEST_RUN on every program an error can pass: kpx_from_pod (a backend on this
// node answers), kpx_to_pod (on its way to the client pod), kpx_xdp_ext / kpx_tc_ext
// (from another node or a router).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CT_DIR, PROTO, SVC_FLAGS, type CtKey } from '../../src/datapath/abi.js';
import { verifyChecksums } from './checksum-verifier.js';
import { withDatapath, type Datapath, type RunResult } from './harness.js';
import { ETH_P, ICMP_CODE, ICMP_TYPE, TCP_FLAG, decodeFrame, ethernet, icmpErrorFrame, ipv4Frame, quotedDatagram, type Ipv4Spec } from './packet.js';
import { CLIENT, VIP } from './web-service.js';

const DNS_BACKEND = '10.244.1.5';
const NODE = '10.0.0.10';
const EXT_CLIENT = '203.0.113.7';
const REMOTE_BACKEND = '10.244.2.6';
const ROUTER = '10.0.0.1';
const NODE_PORT = 30080;

/** A ClusterIP UDP Service 10.96.0.10:53 -> DNS_BACKEND:5353, and one datagram of a client
 *  pod through it: returns the translated datagram (what the backend received). */
function udpFlow(dp: Datapath, over: Partial<Ipv4Spec> = {}): Buffer {
  dp.addService({ vip: VIP, port: 53, proto: PROTO.UDP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [{ id: 1, addr: DNS_BACKEND, port: 5353 }] });
  const r = dp.run(ipv4Frame({ proto: 'udp', src: CLIENT, dst: VIP, sport: 41000, dport: 53, ...over }));
  assert.equal(r.reason, 'FWD_NEW_FLOW');
  return r.data.subarray(14);
}

/** What an error's quote says after translation, and whether every checksum holds. */
function quoteOf(frame: Buffer): { src: string; dst: string; sport: number; dport: number; ip: boolean; l4: boolean | 'absent' } {
  const q = quotedDatagram(frame);
  const v = decodeFrame(ethernet(ETH_P.IPV4, q));
  // The quote is a whole datagram here, so its own checksums can be verified too.
  const sums = verifyChecksums(ethernet(ETH_P.IPV4, q));
  return { src: v.src, dst: v.dst, sport: v.sport, dport: v.dport, ip: sums.ip, l4: sums.l4 };
}

function assertTranslatedUdpError(r: RunResult, outerSrc: string): void {
  assert.equal(r.reason, 'FWD_ICMP_ERROR');
  const outer = decodeFrame(r.data);
  assert.equal(outer.src, outerSrc);
  assert.equal(outer.dst, CLIENT);
  assert.deepEqual(verifyChecksums(r.data), { ip: true, l4: true }, 'outer IP and ICMP checksums');
  assert.deepEqual(quoteOf(r.data), { src: CLIENT, dst: VIP, sport: 41000, dport: 53, ip: true, l4: true }, 'the quote is the datagram the client sent');
}

describe('ICMP errors about ClusterIP flows', () => {
  test('port unreachable from a local backend: the client sees it come from the frontend about its own datagram (kpx_from_pod)', () =>
    withDatapath((dp) => {
      const sent = udpFlow(dp);
      const err = icmpErrorFrame({ src: DNS_BACKEND, dst: CLIENT, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: sent });
      assertTranslatedUdpError(dp.run(err), VIP);
    }));

  test('the same error on its way into the client pod (kpx_to_pod) and from another node (kpx_xdp_ext, kpx_tc_ext)', () =>
    withDatapath((dp) => {
      const sent = udpFlow(dp);
      const err = icmpErrorFrame({ src: DNS_BACKEND, dst: CLIENT, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: sent });
      for (const prog of ['toPod', 'xdpExt', 'tcExt'] as const) assertTranslatedUdpError(dp.runOn(prog, err), VIP);
    }));

  test('a router\'s error keeps the router as its source; time exceeded is translated too', () =>
    withDatapath((dp) => {
      const sent = udpFlow(dp);
      const err = icmpErrorFrame({ src: ROUTER, dst: CLIENT, type: ICMP_TYPE.TIME_EXCEEDED, code: 0, quoted: sent });
      assertTranslatedUdpError(dp.runOn('xdpExt', err), ROUTER);
    }));

  test('a datagram sent without UDP checksum is quoted without one', () =>
    withDatapath((dp) => {
      const sent = udpFlow(dp, { udpNoChecksum: true });
      const r = dp.run(icmpErrorFrame({ src: DNS_BACKEND, dst: CLIENT, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: sent }));
      assert.equal(r.reason, 'FWD_ICMP_ERROR');
      assert.equal(quoteOf(r.data).l4, 'absent');
      assert.equal(quoteOf(r.data).dst, VIP);
      assert.deepEqual(verifyChecksums(r.data), { ip: true, l4: true });
    }));

  test('the error does not keep the flow alive: its entries are not touched', () =>
    withDatapath((dp) => {
      const sent = udpFlow(dp);
      const rkey: CtKey = { saddr: DNS_BACKEND, daddr: CLIENT, sport: 5353, dport: 41000, proto: PROTO.UDP, dir: CT_DIR.REPLY };
      const fkey: CtKey = { saddr: CLIENT, daddr: VIP, sport: 41000, dport: 53, proto: PROTO.UDP, dir: CT_DIR.FORWARD };
      const before = [dp.ctEntry(rkey), dp.ctEntry(fkey)];
      assert.ok(before[0] && before[1]);
      dp.run(icmpErrorFrame({ src: DNS_BACKEND, dst: CLIENT, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: sent }));
      assert.deepEqual([dp.ctEntry(rkey), dp.ctEntry(fkey)], before);
    }));
});

describe('ICMP errors about NodePort flows to a remote backend (SNAT)', () => {
  /** An external client's TCP connection through the NodePort, SNATed to the node: returns
   *  the SYN as it left for the backend. */
  function snatFlow(dp: Datapath): Buffer {
    dp.setConfig({ nodeAddr: NODE, snatPortMin: 40000, snatPortMax: 40009 });
    dp.addService({ vip: NODE, port: NODE_PORT, proto: PROTO.TCP, svcId: 10, flags: SVC_FLAGS.NODE_PORT, backends: [{ id: 1, addr: REMOTE_BACKEND, port: 8080 }] });
    const r = dp.runOn('xdpExt', ipv4Frame({ proto: 'tcp', src: EXT_CLIENT, dst: NODE, sport: 45000, dport: NODE_PORT, tcpFlags: TCP_FLAG.SYN }));
    assert.equal(r.reason, 'FWD_SNAT');
    return r.data.subarray(14);
  }

  test('fragmentation needed from a router: back to the client, quoting the segment it sent, TCP checksum included', () =>
    withDatapath((dp) => {
      const sent = snatFlow(dp);
      const snatPort = decodeFrame(ethernet(ETH_P.IPV4, sent)).sport;
      const err = icmpErrorFrame({ src: ROUTER, dst: NODE, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.FRAG_NEEDED, mtu: 1400, quoted: sent });
      for (const prog of ['xdpExt', 'tcExt'] as const) {
        const r = dp.runOn(prog, err);
        assert.equal(r.reason, 'FWD_ICMP_ERROR');
        const outer = decodeFrame(r.data);
        assert.equal(outer.src, ROUTER);
        assert.equal(outer.dst, EXT_CLIENT, 'to the client, not the node');
        assert.deepEqual(verifyChecksums(r.data), { ip: true, l4: true });
        assert.deepEqual(quoteOf(r.data), { src: EXT_CLIENT, dst: NODE, sport: 45000, dport: NODE_PORT, ip: true, l4: true });
        assert.equal(r.data.readUInt16BE(14 + 20 + 6), 1400, 'the next-hop MTU is left alone');
        assert.notEqual(snatPort, 45000);
      }
    }));

  test('a quote of 8 bytes of TCP (no checksum in it) is translated; the ICMP checksum still holds', () =>
    withDatapath((dp) => {
      const sent = snatFlow(dp);
      const err = icmpErrorFrame({ src: REMOTE_BACKEND, dst: NODE, type: ICMP_TYPE.DEST_UNREACH, code: 1, quoted: sent, quoteLen: 28 });
      const r = dp.runOn('xdpExt', err);
      assert.equal(r.reason, 'FWD_ICMP_ERROR');
      assert.equal(decodeFrame(r.data).src, NODE, 'the backend itself sent it: it comes from the frontend');
      assert.deepEqual(verifyChecksums(r.data), { ip: true, l4: true });
      const q = quotedDatagram(r.data);
      assert.equal(q.length, 28);
      assert.deepEqual(verifyChecksums(ethernet(ETH_P.IPV4, Buffer.concat([q, Buffer.alloc(12)]))).ip, true, 'the quoted IP header');
      assert.deepEqual([q.readUInt16BE(20), q.readUInt16BE(22)], [45000, NODE_PORT]);
    }));
});

describe('what is not translated passes untouched', () => {
  test('errors about no tracked flow, non-errors, quotes with IP options or too short, fragments', () =>
    withDatapath((dp) => {
      const sent = udpFlow(dp);
      const other = ipv4Frame({ proto: 'udp', src: CLIENT, dst: '10.244.9.9', sport: 41000, dport: 53 }).subarray(14);
      const withOptions = ipv4Frame({ proto: 'udp', src: CLIENT, dst: DNS_BACKEND, sport: 41000, dport: 5353, ipOptions: Buffer.alloc(4, 1) }).subarray(14);
      const frames = [
        icmpErrorFrame({ src: '10.244.9.9', dst: CLIENT, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: other }),
        icmpErrorFrame({ src: DNS_BACKEND, dst: CLIENT, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: withOptions }),
        icmpErrorFrame({ src: DNS_BACKEND, dst: CLIENT, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: sent, quoteLen: 24 }),
        icmpErrorFrame({ src: DNS_BACKEND, dst: CLIENT, type: 12, code: 0, quoted: sent }),
        ipv4Frame({ proto: 'icmp', src: DNS_BACKEND, dst: CLIENT }),
        ipv4Frame({ proto: 'icmp', src: DNS_BACKEND, dst: CLIENT, moreFragments: true }),
      ];
      for (const [i, f] of frames.entries()) {
        for (const prog of ['fromPod', 'toPod', 'xdpExt'] as const) {
          const r = dp.runOn(prog, f);
          assert.equal(r.reason, 'PASS_NOT_TCP_UDP', `frame ${i} on ${prog}`);
          assert.deepEqual(r.data, f, `frame ${i} on ${prog} is untouched`);
        }
      }
    }));
});

describe('ICMP errors about replies: back to the backend that sent them', () => {
  test('fragmentation needed for a NodePort reply (remote backend, SNAT): to the backend, quoting the reply it sent', () =>
    withDatapath((dp) => {
      dp.setConfig({ nodeAddr: NODE, snatPortMin: 40000, snatPortMax: 40009 });
      dp.addService({ vip: NODE, port: NODE_PORT, proto: PROTO.TCP, svcId: 10, flags: SVC_FLAGS.NODE_PORT, backends: [{ id: 1, addr: REMOTE_BACKEND, port: 8080 }] });
      const syn = dp.runOn('xdpExt', ipv4Frame({ proto: 'tcp', src: EXT_CLIENT, dst: NODE, sport: 45000, dport: NODE_PORT, tcpFlags: TCP_FLAG.SYN }));
      const snatPort = decodeFrame(syn.data).sport;
      // The backend's answer, reversed by the node on its way to the client.
      const reply = dp.runOn('xdpExt', ipv4Frame({ proto: 'tcp', src: REMOTE_BACKEND, dst: NODE, sport: 8080, dport: snatPort, tcpFlags: TCP_FLAG.ACK, payload: Buffer.alloc(1200, 1) }));
      assert.equal(reply.reason, 'FWD_REPLY');
      const sent = reply.data.subarray(14);
      // A router between the node and the client cannot pass it.
      const err = icmpErrorFrame({ src: ROUTER, dst: NODE, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.FRAG_NEEDED, mtu: 1000, quoted: sent, quoteLen: 20 + 40 });
      const r = dp.runOn('xdpExt', err);
      assert.equal(r.reason, 'FWD_ICMP_ERROR');
      const outer = decodeFrame(r.data);
      assert.deepEqual([outer.src, outer.dst], [ROUTER, REMOTE_BACKEND]);
      assert.deepEqual(verifyChecksums(r.data), { ip: true, l4: true });
      const q = quotedDatagram(r.data);
      const v = decodeFrame(ethernet(ETH_P.IPV4, Buffer.concat([q, Buffer.alloc(40)])));
      assert.deepEqual([v.src, v.sport, v.dst, v.dport], [REMOTE_BACKEND, 8080, NODE, snatPort], 'the reply as the backend sent it');
      assert.equal(verifyChecksums(ethernet(ETH_P.IPV4, Buffer.concat([q.subarray(0, 20), Buffer.alloc(8)]))).ip, true, 'the quoted IP header');
    }));

  test('a client pod\'s port unreachable about a reply goes to the backend, quoting what the backend sent', () =>
    withDatapath((dp) => {
      udpFlow(dp);
      const reply = dp.run(ipv4Frame({ proto: 'udp', src: DNS_BACKEND, dst: CLIENT, sport: 5353, dport: 41000 }));
      assert.equal(reply.reason, 'FWD_REPLY');
      // The client closed its socket meanwhile: its kernel answers the reply (from the VIP).
      const err = icmpErrorFrame({ src: CLIENT, dst: VIP, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: reply.data.subarray(14) });
      const r = dp.run(err);
      assert.equal(r.reason, 'FWD_ICMP_ERROR');
      assert.deepEqual([decodeFrame(r.data).src, decodeFrame(r.data).dst], [CLIENT, DNS_BACKEND]);
      assert.deepEqual(verifyChecksums(r.data), { ip: true, l4: true });
      assert.deepEqual(quoteOf(r.data), { src: DNS_BACKEND, dst: CLIENT, sport: 5353, dport: 41000, ip: true, l4: true });
    }));

  test('an error about a reply whose backend is gone is passed untouched', () =>
    withDatapath((dp) => {
      udpFlow(dp);
      const reply = dp.run(ipv4Frame({ proto: 'udp', src: DNS_BACKEND, dst: CLIENT, sport: 5353, dport: 41000 }));
      dp.deleteBackend(1);
      const err = icmpErrorFrame({ src: CLIENT, dst: VIP, type: ICMP_TYPE.DEST_UNREACH, code: ICMP_CODE.PORT_UNREACH, quoted: reply.data.subarray(14) });
      const r = dp.run(err);
      assert.equal(r.reason, 'PASS_NOT_TCP_UDP');
      assert.deepEqual(r.data, err);
    }));
});
