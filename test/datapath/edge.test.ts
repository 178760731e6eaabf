// The node's edge, packet by packet: kpx_xdp_ext / kpx_tc_ext (traffic from outside),
// kpx_from_pod's new policies (T2, T3, hairpin, reject) and kpx_to_pod (reverse NAT on
// the way into a pod). The real object in the real kernel through BPF_PROG_TEST_RUN.
// Rule letters refer to /work/shared/SEMANTICS.md.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CT_DIR, CT_FLAGS, PROGRAM_NAMES, PROTO, SCOPE, SVC_FLAGS, type ProgramRole } from '../../src/datapath/abi.js';
import { Datapath, withDatapath as withFreshDatapath, type RunResult, type ServiceSeed } from './harness.js';
import { TCP_FLAG, decodeFrame, ipv4Datagram, ipv4Frame, type Ipv4Spec } from './packet.js';
import { verifyChecksums } from './checksum-verifier.js';

const NODE = '10.0.0.10'; // this node's address: NodePort frontends, SNAT source
const CLIENT = '203.0.113.7'; // a client outside the cluster
const POD = '10.244.1.9'; // a client pod on this node
const LOCAL_BE = '10.244.1.5'; // a backend pod on this node
const REMOTE_BE = '10.244.2.6'; // a backend pod on another node
const HAIRPIN = '169.254.7.1';
const VIP = '10.96.0.10';
const LB_IP = '198.51.100.20';
const NODE_PORT = 30080;
const SNAT_MIN = 61000;
const SNAT_MAX = 61999;

const CLIENT_MAC = '02:00:00:00:aa:01'; // packet.ts: the source MAC of every built frame
const HOST_MAC = '02:00:00:00:bb:02'; // packet.ts: the destination MAC

/** A fresh datapath with this node's SNAT and hairpin settings. */
function withDatapath(fn: (dp: Datapath) => void): void {
  withFreshDatapath(fn, (dp) => dp.setConfig({ nodeAddr: NODE, hairpinAddr: HAIRPIN, snatPortMin: SNAT_MIN, snatPortMax: SNAT_MAX }));
}

function nodePort(over: Partial<ServiceSeed> = {}): ServiceSeed {
  return { vip: NODE, port: NODE_PORT, proto: PROTO.TCP, svcId: 10, flags: SVC_FLAGS.NODE_PORT, backends: [], ...over };
}
const remote = (id: number, addr = REMOTE_BE) => ({ id, addr, port: 8080 });
const local = (id: number, addr = LOCAL_BE) => ({ id, addr, port: 8080, local: true });

const fromClient = (over: Partial<Ipv4Spec> = {}): Ipv4Spec => ({
  proto: 'tcp',
  src: CLIENT,
  dst: NODE,
  sport: 45000,
  dport: NODE_PORT,
  tcpFlags: TCP_FLAG.SYN,
  ...over,
});

function assertChecksums(frame: Buffer): void {
  const c = verifyChecksums(frame);
  assert.equal(c.ip, true, 'IP header checksum');
  assert.equal(c.l4, true, 'L4 checksum');
}

function mac(frame: Buffer, at: number): string {
  return [...frame.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function expect(r: RunResult, reason: string, verdict: string): void {
  assert.equal(r.reason, reason);
  assert.equal(r.verdict, verdict);
}

/** The SNAT port of the client's flow, from its FORWARD entry. */
function snatPort(dp: Datapath, spec: Ipv4Spec): number {
  const fwd = dp.ctEntry({ saddr: spec.src, daddr: spec.dst, sport: spec.sport!, dport: spec.dport!, proto: PROTO.TCP, dir: CT_DIR.FORWARD });
  assert.ok(fwd, 'FORWARD entry');
  assert.equal(fwd.flags & CT_FLAGS.SNAT, CT_FLAGS.SNAT);
  assert.equal(fwd.peerAddr, NODE);
  return fwd.peerPort;
}

test('every program of PROGRAM_NAMES is in the committed object, with the type its attach point needs', () => {
  const dp = Datapath.load();
  try {
    const SCHED_CLS = 3;
    const XDP = 6;
    const want: Partial<Record<ProgramRole, number>> = { fromPod: SCHED_CLS, toPod: SCHED_CLS, tcExt: SCHED_CLS, xdpExt: XDP, xdpPeerPass: XDP };
    for (const role of Object.keys(PROGRAM_NAMES) as ProgramRole[]) {
      const prog = dp.program(role);
      assert.equal(prog.name, PROGRAM_NAMES[role]);
      if (want[role] !== undefined) assert.equal(prog.type, want[role], role);
    }
  } finally {
    dp.close();
  }
});

// ---- XDP and tc on the external device: the same logic ---------------------------

for (const role of ['xdpExt', 'tcExt'] as ProgramRole[]) {
  const xdp = role === 'xdpExt';
  const PASS = xdp ? 'XDP_PASS' : 'OK';
  const DROP = xdp ? 'XDP_DROP' : 'SHOT';
  const TX = xdp ? 'XDP_TX' : 'REDIRECT';

  describe(`${role}: traffic from outside the node`, () => {
    test('NodePort to a local backend: DNAT only, the client address is kept (P4, T4)', () =>
      withDatapath((dp) => {
        dp.addService(nodePort({ backends: [local(1)] }));
        const r = dp.runOn(role, ipv4Frame(fromClient()));
        expect(r, 'FWD_NEW_FLOW', PASS);
        assert.deepEqual(r.data, ipv4Frame(fromClient({ dst: LOCAL_BE, dport: 8080 })));
        assertChecksums(r.data);
        // The backend's reply leaves through its veth: kpx_from_pod restores the frontend.
        const reply: Ipv4Spec = { proto: 'tcp', src: LOCAL_BE, dst: CLIENT, sport: 8080, dport: 45000, tcpFlags: TCP_FLAG.SYN | TCP_FLAG.ACK };
        const back = dp.run(ipv4Frame(reply));
        expect(back, 'FWD_REPLY', 'OK');
        assert.deepEqual(back.data, ipv4Frame({ ...reply, src: NODE, sport: NODE_PORT }));
      }));

    test('NodePort to a remote backend: DNAT + SNAT to the node, exact bytes, and the reply reversed (T4)', () =>
      withDatapath((dp) => {
        dp.addService(nodePort({ backends: [remote(1)] }));
        const syn = fromClient({ payload: Buffer.from('hello') });
        const r = dp.runOn(role, ipv4Frame(syn));
        expect(r, 'FWD_SNAT', PASS);
        const port = snatPort(dp, syn);
        assert.ok(port >= SNAT_MIN && port <= SNAT_MAX, `SNAT port ${port} in range`);
        assert.deepEqual(r.data, ipv4Frame({ ...syn, src: NODE, sport: port, dst: REMOTE_BE, dport: 8080 }));
        assertChecksums(r.data);

        const rep = dp.ctEntry({ saddr: REMOTE_BE, daddr: NODE, sport: 8080, dport: port, proto: PROTO.TCP, dir: CT_DIR.REPLY });
        assert.ok(rep, 'REPLY entry under the SNAT port');
        assert.deepEqual([rep.natAddr, rep.natPort, rep.peerAddr, rep.peerPort], [NODE, NODE_PORT, CLIENT, 45000]);

        const reply: Ipv4Spec = { proto: 'tcp', src: REMOTE_BE, dst: NODE, sport: 8080, dport: port, tcpFlags: TCP_FLAG.SYN | TCP_FLAG.ACK, payload: Buffer.from('world!') };
        const back = dp.runOn(role, ipv4Frame(reply));
        expect(back, 'FWD_REPLY', PASS);
        assert.deepEqual(back.data, ipv4Frame({ ...reply, src: NODE, sport: NODE_PORT, dst: CLIENT, dport: 45000 }));
        assertChecksums(back.data);

        const again = dp.runOn(role, ipv4Frame({ ...syn, tcpFlags: TCP_FLAG.ACK }));
        expect(again, 'FWD_ESTABLISHED', PASS);
        assert.deepEqual(decodeFrame(again.data).sport, port, 'the flow keeps its SNAT port');
        assertChecksums(again.data);
      }));

    test('UDP without checksum stays without checksum through DNAT + SNAT', () =>
      withDatapath((dp) => {
        dp.addService(nodePort({ proto: PROTO.UDP, backends: [remote(1)] }));
        const dgram: Ipv4Spec = { proto: 'udp', src: CLIENT, dst: NODE, sport: 45000, dport: NODE_PORT, udpNoChecksum: true };
        const r = dp.runOn(role, ipv4Frame(dgram));
        expect(r, 'FWD_SNAT', PASS);
        const out = decodeFrame(r.data);
        assert.equal(out.l4Checksum, 0);
        assert.deepEqual(r.data, ipv4Frame({ ...dgram, src: NODE, sport: out.sport, dst: REMOTE_BE, dport: 8080 }));
      }));

    test('every new flow to a remote backend gets its own SNAT port; one port only: the second is dropped, counted', () =>
      withDatapath((dp) => {
        dp.addService(nodePort({ backends: [remote(1)] }));
        const ports = new Set<number>();
        for (let i = 0; i < 20; i++) {
          const spec = fromClient({ src: `203.0.113.${i + 1}` });
          expect(dp.runOn(role, ipv4Frame(spec)), 'FWD_SNAT', PASS);
          ports.add(snatPort(dp, spec));
        }
        assert.equal(ports.size, 20);
        dp.setConfig({ nodeAddr: NODE, snatPortMin: 62000, snatPortMax: 62000 });
        expect(dp.runOn(role, ipv4Frame(fromClient({ src: '198.18.0.1' }))), 'FWD_SNAT', PASS);
        expect(dp.runOn(role, ipv4Frame(fromClient({ src: '198.18.0.2' }))), 'DROP_SNAT_PORTS_EXHAUSTED', DROP);
      }));

    test('no node address configured: a flow needing SNAT is dropped, counted; local ones still work', () =>
      withDatapath((dp) => {
        dp.setConfig({});
        dp.addService(nodePort({ backends: [remote(1)] }));
        dp.addService(nodePort({ port: 30081, svcId: 11, backends: [local(2)] }));
        expect(dp.runOn(role, ipv4Frame(fromClient())), 'DROP_NO_CONFIG', DROP);
        expect(dp.runOn(role, ipv4Frame(fromClient({ dport: 30081 }))), 'FWD_NEW_FLOW', PASS);
      }));

    test('eTP Local: traffic from outside uses only the local endpoints, client kept (T1)', () =>
      withDatapath((dp) => {
        const flags = SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL;
        dp.addService(nodePort({ flags, backends: [remote(1), local(2)] }));
        dp.addService(nodePort({ flags, svcId: 20, scope: SCOPE.INTERNAL, backends: [{ id: 21, addr: LOCAL_BE, port: 8080 }] }));
        for (let i = 0; i < 20; i++) {
          const r = dp.runOn(role, ipv4Frame(fromClient({ sport: 30000 + i })));
          expect(r, 'FWD_NEW_FLOW', PASS);
          assert.equal(decodeFrame(r.data).dst, LOCAL_BE);
          assert.equal(decodeFrame(r.data).src, CLIENT, 'no SNAT even without the LOCAL bit: INTERNAL backends are local');
        }
        const fwd = dp.ctEntry({ saddr: CLIENT, daddr: NODE, sport: 30000, dport: NODE_PORT, proto: PROTO.TCP, dir: CT_DIR.FORWARD })!;
        assert.deepEqual([fwd.svcId, fwd.backendId], [20, 21], 'tracked under the INTERNAL entry');
      }));

    test('eTP Local without a local endpoint: DROP, not reject (T1, N2)', () =>
      withDatapath((dp) => {
        const flags = SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL;
        dp.addService(nodePort({ flags, backends: [remote(1)] }));
        dp.addService(nodePort({ flags, svcId: 20, scope: SCOPE.INTERNAL, backends: [] }));
        expect(dp.runOn(role, ipv4Frame(fromClient())), 'DROP_NO_LOCAL_BACKEND', DROP);
      }));

    test('eTP Local with no endpoint anywhere rejects (N1)', () =>
      withDatapath((dp) => {
        const flags = SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL;
        dp.addService(nodePort({ flags, backends: [] }));
        dp.addService(nodePort({ flags, svcId: 20, scope: SCOPE.INTERNAL, backends: [] }));
        expect(dp.runOn(role, ipv4Frame(fromClient())), 'REJECT_TCP', TX);
      }));

    describe('loadBalancerSourceRanges (T5)', () => {
      const lb = (ranges: string[]) => (dp: Datapath) => {
        dp.addService({ vip: LB_IP, port: 443, proto: PROTO.TCP, svcId: 30, flags: SVC_FLAGS.LOAD_BALANCER | SVC_FLAGS.SOURCE_RANGES, backends: [local(1)] });
        // The same service's NodePort carries no source ranges.
        dp.addService(nodePort({ svcId: 31, backends: [local(2)] }));
        for (const r of ranges) dp.addSourceRange(30, r);
        // Another LB frontend's range must not leak into this one.
        dp.addSourceRange(99, '0.0.0.0/0');
      };
      const toLb = (src: string) => ipv4Frame(fromClient({ src, dst: LB_IP, dport: 443 }));

      test('a source inside a range is admitted, one outside dropped; the NodePort is not filtered', () =>
        withDatapath((dp) => {
          lb(['203.0.113.0/24', '192.0.2.7/32'])(dp);
          expect(dp.runOn(role, toLb('203.0.113.200')), 'FWD_NEW_FLOW', PASS);
          expect(dp.runOn(role, toLb('192.0.2.7')), 'FWD_NEW_FLOW', PASS);
          expect(dp.runOn(role, toLb('192.0.2.8')), 'DROP_SOURCE_RANGE', DROP);
          expect(dp.runOn(role, toLb('203.0.114.1')), 'DROP_SOURCE_RANGE', DROP);
          expect(dp.runOn(role, ipv4Frame(fromClient({ src: '192.0.2.8' }))), 'FWD_NEW_FLOW', PASS);
        }));

      test('0.0.0.0/0 admits every source', () =>
        withDatapath((dp) => {
          lb(['0.0.0.0/0'])(dp);
          for (const src of ['1.2.3.4', '203.0.113.7', '255.255.255.254']) expect(dp.runOn(role, toLb(src)), 'FWD_NEW_FLOW', PASS);
        }));

      test('the flag with no range admits no one', () =>
        withDatapath((dp) => {
          lb([])(dp);
          expect(dp.runOn(role, toLb(CLIENT)), 'DROP_SOURCE_RANGE', DROP);
        }));
    });

    test('ClientIP affinity on a NodePort: every connection of a client to one backend (A1)', () =>
      withDatapath((dp) => {
        const backends = [1, 2, 3, 4].map((id) => local(id, `10.244.1.${id + 10}`));
        dp.addService(nodePort({ flags: SVC_FLAGS.NODE_PORT | SVC_FLAGS.AFFINITY, affinityTimeoutS: 10800, backends }));
        const first = dp.runOn(role, ipv4Frame(fromClient({ sport: 1000 })));
        expect(first, 'FWD_NEW_FLOW', PASS);
        const pinned = decodeFrame(first.data).dst;
        for (let i = 1; i < 20; i++) {
          const r = dp.runOn(role, ipv4Frame(fromClient({ sport: 1000 + i })));
          expect(r, 'FWD_AFFINITY', PASS);
          assert.equal(decodeFrame(r.data).dst, pinned);
        }
      }));

    test('a hostPort answers on the node address and goes to its pod, client kept', () =>
      withDatapath((dp) => {
        dp.addService({ vip: NODE, port: 8443, proto: PROTO.TCP, svcId: 40, flags: SVC_FLAGS.HOST_PORT, backends: [{ id: 1, addr: LOCAL_BE, port: 443, local: true }] });
        const r = dp.runOn(role, ipv4Frame(fromClient({ dport: 8443 })));
        expect(r, 'FWD_NEW_FLOW', PASS);
        assert.deepEqual(r.data, ipv4Frame(fromClient({ dst: LOCAL_BE, dport: 443 })));
      }));

    test('a reply of a pod flow to a remote backend is reversed here (cross-node ClusterIP)', () =>
      withDatapath((dp) => {
        dp.addService({ vip: VIP, port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [remote(1)] });
        const out: Ipv4Spec = { proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN };
        expect(dp.run(ipv4Frame(out)), 'FWD_NEW_FLOW', 'OK');
        const reply: Ipv4Spec = { proto: 'tcp', src: REMOTE_BE, dst: POD, sport: 8080, dport: 40000, tcpFlags: TCP_FLAG.SYN | TCP_FLAG.ACK };
        const r = dp.runOn(role, ipv4Frame(reply));
        expect(r, 'FWD_REPLY', PASS);
        assert.deepEqual(r.data, ipv4Frame({ ...reply, src: VIP, sport: 80 }));
      }));

    test('traffic that is no frontend and no flow passes byte for byte', () =>
      withDatapath((dp) => {
        dp.addService(nodePort({ backends: [local(1)] }));
        for (const f of [ipv4Frame(fromClient({ dport: 22 })), ipv4Frame({ proto: 'udp', src: CLIENT, dst: NODE, sport: 5000, dport: 53 }), ipv4Frame({ proto: 'icmp', src: CLIENT, dst: NODE })]) {
          const r = dp.runOn(role, f);
          assert.equal(r.verdict, PASS);
          assert.deepEqual(r.data, f);
        }
      }));

    describe('reject (N1): generated in the datapath and sent back', () => {
      test('TCP SYN to a frontend with no endpoint: RST|ACK, ack = seq + 1, every field and checksum', () =>
        withDatapath((dp) => {
          dp.addService(nodePort({ backends: [] }));
          const syn = fromClient({ payload: Buffer.alloc(0), ipOptions: Buffer.from([1, 1, 1, 0]) });
          const r = dp.runOn(role, ipv4Frame(syn));
          expect(r, 'REJECT_TCP', TX);
          assertRst(r.data, { seq: 0, ack: 0x01020304 + 1, flags: TCP_FLAG.RST | TCP_FLAG.ACK });
        }));

      test('TCP segment with ACK and payload: RST with seq = its ack (RFC 793)', () =>
        withDatapath((dp) => {
          dp.addService(nodePort({ backends: [] }));
          const r = dp.runOn(role, ipv4Frame(fromClient({ tcpFlags: TCP_FLAG.ACK | TCP_FLAG.PSH, payload: Buffer.alloc(100, 7) })));
          expect(r, 'REJECT_TCP', TX);
          assertRst(r.data, { seq: 0x0a0b0c0d, ack: 0, flags: TCP_FLAG.RST });
        }));

      test('TCP FIN without ACK and with payload: ack = seq + payload + 1', () =>
        withDatapath((dp) => {
          dp.addService(nodePort({ backends: [] }));
          const r = dp.runOn(role, ipv4Frame(fromClient({ tcpFlags: TCP_FLAG.FIN, payload: Buffer.alloc(10, 1) })));
          expect(r, 'REJECT_TCP', TX);
          assertRst(r.data, { seq: 0, ack: 0x01020304 + 10 + 1, flags: TCP_FLAG.RST | TCP_FLAG.ACK });
        }));

      test('an RST is not answered: dropped, counted', () =>
        withDatapath((dp) => {
          dp.addService(nodePort({ backends: [] }));
          expect(dp.runOn(role, ipv4Frame(fromClient({ tcpFlags: TCP_FLAG.RST }))), 'DROP_REJECT_NOT_SENT', DROP);
        }));

      for (const [what, options, payload] of [
        ['a small datagram', Buffer.alloc(0), Buffer.from('q')],
        ['a full-size datagram behind IP options', Buffer.from([1, 1, 1, 0, 1, 1, 1, 0]), Buffer.alloc(1400, 0x33)],
      ] as const) {
        test(`UDP: ICMP port unreachable quoting the IP header and 8 bytes (${what})`, () =>
          withDatapath((dp) => {
            dp.addService(nodePort({ proto: PROTO.UDP, backends: [] }));
            const dgram: Ipv4Spec = { proto: 'udp', src: CLIENT, dst: NODE, sport: 45000, dport: NODE_PORT, ipOptions: options, payload };
            const r = dp.runOn(role, ipv4Frame(dgram));
            expect(r, 'REJECT_UDP', TX);
            assertIcmpUnreachable(r.data, ipv4Datagram(dgram));
          }));
      }
    });

    describe('malformed and truncated input: no fault, counted', () => {
      const full = ipv4Frame(fromClient({ payload: Buffer.alloc(0), ipOptions: Buffer.from([1, 1, 1, 0]) }));
      test(`every length from 14 to ${full.length}`, () =>
        withDatapath((dp) => {
          dp.addService(nodePort({ backends: [local(1)] }));
          // The kernel refuses shorter test frames, and tc ones shorter than an IPv4 header.
          for (let len = xdp ? 14 : 34; len <= full.length; len++) {
            const r = dp.runOn(role, full.subarray(0, len));
            if (len === full.length) expect(r, 'FWD_NEW_FLOW', PASS);
            else expect(r, 'DROP_MALFORMED', DROP);
          }
        }));

      test('bad version, ihl, total length and TCP data offset', () =>
        withDatapath((dp) => {
          dp.addService(nodePort({ backends: [local(1)] }));
          const edits: Array<(ip: Buffer) => void> = [
            (ip) => (ip[0] = 0x44),
            (ip) => (ip[0] = 0x65),
            (ip) => ip.writeUInt16BE(0, 2),
            (ip) => ip.writeUInt16BE(2000, 2),
            (ip) => ip.writeUInt16BE(30, 2),
            (ip) => (ip[20 + 12] = 2 << 4),
          ];
          for (const edit of edits) {
            const f = Buffer.from(ipv4Frame(fromClient()));
            edit(f.subarray(14));
            expect(dp.runOn(role, f), 'DROP_MALFORMED', DROP);
          }
        }));
    });
  });
}

function assertRst(frame: Buffer, want: { seq: number; ack: number; flags: number }): void {
  assert.equal(frame.length, 14 + 20 + 20, 'Ethernet + IPv4 + TCP, nothing else');
  assert.equal(mac(frame, 0), CLIENT_MAC, 'sent to the client MAC');
  assert.equal(mac(frame, 6), HOST_MAC, 'from the MAC the client sent to');
  assert.equal(frame.readUInt16BE(12), 0x0800);
  const ip = frame.subarray(14, 34);
  assert.equal(ip[0], 0x45);
  assert.equal(ip.readUInt16BE(2), 40, 'tot_len');
  assert.equal(ip.readUInt16BE(6), 0, 'not a fragment');
  assert.equal(ip[8], 64, 'ttl');
  assert.equal(ip[9], 6, 'TCP');
  const v = decodeFrame(frame);
  assert.deepEqual([v.src, v.dst, v.sport, v.dport], [NODE, CLIENT, NODE_PORT, 45000]);
  const tcp = frame.subarray(34);
  assert.equal(tcp.readUInt32BE(4), want.seq >>> 0, 'seq');
  assert.equal(tcp.readUInt32BE(8), want.ack >>> 0, 'ack');
  assert.equal(tcp[12], 5 << 4, 'data offset 5');
  assert.equal(tcp[13], want.flags, 'flags');
  assert.equal(tcp.readUInt16BE(14), 0, 'window');
  assert.equal(tcp.readUInt16BE(18), 0, 'urgent pointer');
  assertChecksums(frame);
}

function assertIcmpUnreachable(frame: Buffer, original: Buffer): void {
  const ihl = (original[0]! & 0x0f) * 4;
  const quote = original.subarray(0, ihl + 8);
  assert.equal(frame.length, 14 + 20 + 8 + quote.length);
  assert.equal(mac(frame, 0), CLIENT_MAC);
  assert.equal(mac(frame, 6), HOST_MAC);
  assert.equal(frame.readUInt16BE(12), 0x0800);
  const ip = frame.subarray(14, 34);
  assert.equal(ip[0], 0x45);
  assert.equal(ip[1], 0xc0, 'tos: internetwork control');
  assert.equal(ip.readUInt16BE(2), 20 + 8 + quote.length, 'tot_len');
  assert.equal(ip.readUInt16BE(6), 0);
  assert.equal(ip[8], 64);
  assert.equal(ip[9], 1, 'ICMP');
  assert.equal(decodeFrame(frame).src, NODE);
  assert.equal(decodeFrame(frame).dst, CLIENT);
  const icmp = frame.subarray(34);
  assert.deepEqual([icmp[0], icmp[1]], [3, 3], 'destination unreachable, port unreachable');
  assert.equal(icmp.readUInt32BE(4), 0, 'unused');
  assert.deepEqual(icmp.subarray(8), quote, 'the IP header and the first 8 bytes, verbatim');
  assertChecksums(frame);
}

// ---- pods: T2, T3, hairpin, reject ----------------------------------------------

describe('kpx_from_pod at the edge', () => {
  test('pods reach an eTP-Local NodePort through every endpoint, not just local ones (T2)', () =>
    withDatapath((dp) => {
      const flags = SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL;
      dp.addService(nodePort({ flags, backends: [remote(1)] }));
      dp.addService(nodePort({ flags, svcId: 20, scope: SCOPE.INTERNAL, backends: [] }));
      const spec = fromClient({ src: POD });
      const r = dp.run(ipv4Frame(spec));
      expect(r, 'FWD_NEW_FLOW', 'OK');
      assert.deepEqual(r.data, ipv4Frame({ ...spec, dst: REMOTE_BE, dport: 8080 }), 'no SNAT for pods');
    }));

  test('pods reach an externalIP and an LB address too', () =>
    withDatapath((dp) => {
      dp.addService({ vip: LB_IP, port: 80, proto: PROTO.TCP, svcId: 50, flags: SVC_FLAGS.LOAD_BALANCER, backends: [local(1)] });
      dp.addService({ vip: '192.0.2.80', port: 80, proto: PROTO.TCP, svcId: 51, flags: SVC_FLAGS.EXTERNAL_IP, backends: [remote(2)] });
      expect(dp.run(ipv4Frame(fromClient({ src: POD, dst: LB_IP, dport: 80 }))), 'FWD_NEW_FLOW', 'OK');
      expect(dp.run(ipv4Frame(fromClient({ src: POD, dst: '192.0.2.80', dport: 80 }))), 'FWD_NEW_FLOW', 'OK');
    }));

  test('iTP Local: the ClusterIP uses only local endpoints (T3); none local: DROP (N2)', () =>
    withDatapath((dp) => {
      const flags = SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.ITP_LOCAL;
      const web = { vip: VIP, port: 80, proto: PROTO.TCP, flags } as const;
      dp.addService({ ...web, svcId: 1, backends: [remote(1), local(2)] });
      dp.addService({ ...web, svcId: 2, scope: SCOPE.INTERNAL, backends: [{ id: 3, addr: LOCAL_BE, port: 8080 }] });
      for (let i = 0; i < 10; i++) {
        const r = dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000 + i, dport: 80, tcpFlags: TCP_FLAG.SYN }));
        expect(r, 'FWD_NEW_FLOW', 'OK');
        assert.equal(decodeFrame(r.data).dst, LOCAL_BE);
      }
      dp.setSlots(2, []);
      expect(dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 41000, dport: 80, tcpFlags: TCP_FLAG.SYN })), 'DROP_NO_LOCAL_BACKEND', 'SHOT');
      // No endpoint anywhere: reject (N1), not drop.
      dp.setSlots(1, []);
      expect(dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 41001, dport: 80, tcpFlags: TCP_FLAG.SYN })), 'REJECT_TCP', 'REDIRECT');
    }));

  test('ClusterIP with no endpoint: the pod gets an RST back through its veth (N1)', () =>
    withDatapath((dp) => {
      dp.addService({ vip: VIP, port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [] });
      const r = dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN }));
      expect(r, 'REJECT_TCP', 'REDIRECT');
      const v = decodeFrame(r.data);
      assert.deepEqual([v.src, v.dst, v.sport, v.dport], [VIP, POD, 80, 40000]);
      assert.equal(r.data.readUInt8(34 + 13), TCP_FLAG.RST | TCP_FLAG.ACK);
      assertChecksums(r.data);
    }));

  test('ClusterIP UDP with no endpoint: ICMP port unreachable to the pod (N1)', () =>
    withDatapath((dp) => {
      dp.addService({ vip: VIP, port: 53, proto: PROTO.UDP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [] });
      const dgram: Ipv4Spec = { proto: 'udp', src: POD, dst: VIP, sport: 40000, dport: 53 };
      const r = dp.run(ipv4Frame(dgram));
      expect(r, 'REJECT_UDP', 'REDIRECT');
      const icmp = r.data.subarray(34);
      assert.deepEqual([icmp[0], icmp[1]], [3, 3]);
      assert.deepEqual(icmp.subarray(8), ipv4Datagram(dgram).subarray(0, 28));
      assert.deepEqual([decodeFrame(r.data).src, decodeFrame(r.data).dst], [VIP, POD]);
      assertChecksums(r.data);
    }));

  test('hairpin: a pod reaching itself is SNATed to the hairpin address and sent straight back; so is the reply (T4)', () =>
    withDatapath((dp) => {
      dp.addService({ vip: VIP, port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [local(1, POD)] });
      const syn: Ipv4Spec = { proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN };
      const r = dp.run(ipv4Frame(syn));
      expect(r, 'FWD_HAIRPIN', 'REDIRECT');
      assert.deepEqual(r.data.subarray(14), ipv4Frame({ ...syn, src: HAIRPIN, dst: POD, dport: 8080 }).subarray(14));
      assert.equal(mac(r.data, 0), CLIENT_MAC, 'back to the pod: MACs swapped');
      assert.equal(mac(r.data, 6), HOST_MAC);
      assertChecksums(r.data);

      const reply: Ipv4Spec = { proto: 'tcp', src: POD, dst: HAIRPIN, sport: 8080, dport: 40000, tcpFlags: TCP_FLAG.SYN | TCP_FLAG.ACK };
      const back = dp.run(ipv4Frame(reply));
      expect(back, 'FWD_REPLY', 'REDIRECT');
      assert.deepEqual(back.data.subarray(14), ipv4Frame({ ...reply, src: VIP, sport: 80, dst: POD, dport: 40000 }).subarray(14));
      assertChecksums(back.data);

      const ack = dp.run(ipv4Frame({ ...syn, tcpFlags: TCP_FLAG.ACK }));
      expect(ack, 'FWD_ESTABLISHED', 'REDIRECT');
      assert.equal(decodeFrame(ack.data).src, HAIRPIN);
    }));

  test('hairpin without a configured hairpin address is dropped, counted', () =>
    withDatapath((dp) => {
      dp.setConfig({ nodeAddr: NODE });
      dp.addService({ vip: VIP, port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [local(1, POD)] });
      expect(dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80 })), 'DROP_NO_CONFIG', 'SHOT');
    }));

  test('a pod reaching another local pod is not SNATed', () =>
    withDatapath((dp) => {
      dp.addService({ vip: VIP, port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [local(1)] });
      const r = dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80 }));
      expect(r, 'FWD_NEW_FLOW', 'OK');
      assert.equal(decodeFrame(r.data).src, POD);
    }));
});

// ---- tc egress of pod veths ------------------------------------------------------

describe('kpx_to_pod: replies that reach a pod untranslated', () => {
  test('a reply from a remote backend is reversed on its way into the pod', () =>
    withDatapath((dp) => {
      dp.addService({ vip: VIP, port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [remote(1)] });
      expect(dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN })), 'FWD_NEW_FLOW', 'OK');
      const reply: Ipv4Spec = { proto: 'tcp', src: REMOTE_BE, dst: POD, sport: 8080, dport: 40000, tcpFlags: TCP_FLAG.SYN | TCP_FLAG.ACK };
      const r = dp.runOn('toPod', ipv4Frame(reply));
      expect(r, 'FWD_REPLY', 'OK');
      assert.deepEqual(r.data, ipv4Frame({ ...reply, src: VIP, sport: 80 }));
      assertChecksums(r.data);
      const fwd = dp.ctEntry({ saddr: POD, daddr: VIP, sport: 40000, dport: 80, proto: PROTO.TCP, dir: CT_DIR.FORWARD })!;
      assert.equal(fwd.flags & CT_FLAGS.SEEN_REPLY, CT_FLAGS.SEEN_REPLY);
    }));

  test('an already reversed reply and untracked traffic pass untouched; forward packets are not its business', () =>
    withDatapath((dp) => {
      dp.addService({ vip: VIP, port: 80, proto: PROTO.TCP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [remote(1)] });
      dp.run(ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN }));
      for (const f of [
        ipv4Frame({ proto: 'tcp', src: VIP, dst: POD, sport: 80, dport: 40000 }),
        ipv4Frame({ proto: 'tcp', src: '10.244.7.7', dst: POD, sport: 1234, dport: 80 }),
        ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80 }),
      ]) {
        const r = dp.runOn('toPod', f);
        expect(r, 'PASS_NO_FLOW', 'OK');
        assert.deepEqual(r.data, f);
      }
    }));
});
