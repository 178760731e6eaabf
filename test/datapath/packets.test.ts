// kpx_from_pod, packet by packet: the real object (bpf/kpx.bpf.o) in the real kernel,
// run with BPF_PROG_TEST_RUN. Every test loads it afresh with its own pin root, so map
// state never leaks between tests. Rule letters refer to /work/shared/SEMANTICS.md.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND_STATE, CT_DIR, CT_FLAGS, PROTO, REASON_MAX, SVC_FLAGS, type Reason } from '../../src/datapath/abi.js';
import { BpfError } from '../../src/errors.js';
import { Datapath, gsoContext, withDatapath, type ServiceSeed, type Verdict } from './harness.js';
import { CLIENT, VIP, WEB, WEB3, toWeb } from './web-service.js';
import { ETH_P, TCP_FLAG, decodeFrame, ethernet, ipv4Frame, payloadForZeroUdpChecksum, type Ipv4Spec } from './packet.js';
import { verifyChecksums } from './checksum-verifier.js';

const OTHER_CLIENT = '10.244.0.3';
const DNS_VIP = '10.96.0.53';
const POD = '10.244.9.9'; // a pod that is no service's frontend

const DNS: ServiceSeed = {
  vip: DNS_VIP,
  port: 53,
  proto: PROTO.UDP,
  svcId: 2,
  flags: SVC_FLAGS.CLUSTER_IP,
  backends: [{ id: 21, addr: '10.244.4.8', port: 5353 }],
};

const toDns = (over: Partial<Ipv4Spec> = {}): Ipv4Spec => ({ proto: 'udp', src: CLIENT, dst: DNS_VIP, sport: 41000, dport: 53, ...over });

/** The same frame with IPv4 fields overwritten after building (for malformed headers). */
function mangle(frame: Buffer, edit: (ip: Buffer, frame: Buffer) => void): Buffer {
  const out = Buffer.from(frame);
  edit(out.subarray(14), out);
  return out;
}

function assertValidChecksums(frame: Buffer, udpAbsentOk = false): void {
  const c = verifyChecksums(frame);
  assert.equal(c.ip, true, 'IP header checksum');
  if (c.l4 === 'absent') assert.ok(udpAbsentOk, 'UDP checksum unexpectedly absent');
  else assert.equal(c.l4, true, 'L4 checksum');
}

// ---- the table --------------------------------------------------------------------

interface Row {
  name: string;
  seed?: (dp: Datapath) => void;
  input: Buffer;
  verdict: Verdict;
  reason: Reason;
  /** The exact output frame, 'unchanged' for the input itself; omitted for drops. */
  output?: Buffer | 'unchanged';
  /** struct __sk_buff fields for the run (GSO). */
  ctx?: Buffer;
  /** False when the input's checksums are deliberately wrong, so the output's are too. */
  checksumsValid?: false;
}

const seedWeb = (dp: Datapath) => dp.addService(WEB);
const seedDns = (dp: Datapath) => dp.addService(DNS);
const seedBoth = (dp: Datapath) => {
  dp.addService(WEB);
  dp.addService(DNS);
};

const zeroSumPayload = payloadForZeroUdpChecksum(CLIENT, 41000, '10.244.4.8', 5353);

const ROWS: Row[] = [
  {
    name: 'new TCP flow to a ClusterIP frontend is DNATed to its backend (P1, A2)',
    seed: seedWeb,
    input: ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })),
    verdict: 'OK',
    reason: 'FWD_NEW_FLOW',
    output: ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN, dst: '10.244.1.5', dport: 8080 })),
  },
  {
    name: 'new UDP flow is DNATed to its backend (P1)',
    seed: seedDns,
    input: ipv4Frame(toDns()),
    verdict: 'OK',
    reason: 'FWD_NEW_FLOW',
    output: ipv4Frame(toDns({ dst: '10.244.4.8', dport: 5353 })),
  },
  {
    name: 'UDP datagram without checksum (0) keeps a zero checksum through DNAT',
    seed: seedDns,
    input: ipv4Frame(toDns({ udpNoChecksum: true })),
    verdict: 'OK',
    reason: 'FWD_NEW_FLOW',
    output: ipv4Frame(toDns({ udpNoChecksum: true, dst: '10.244.4.8', dport: 5353 })),
  },
  {
    name: 'UDP checksum that computes to zero after DNAT is sent as 0xffff',
    seed: seedDns,
    input: ipv4Frame(toDns({ payload: zeroSumPayload })),
    verdict: 'OK',
    reason: 'FWD_NEW_FLOW',
    output: ipv4Frame(toDns({ payload: zeroSumPayload, dst: '10.244.4.8', dport: 5353 })),
  },
  {
    name: 'IPv4 options are skipped by ihl and the L4 header behind them is rewritten',
    seed: seedWeb,
    input: ipv4Frame(toWeb({ ipOptions: Buffer.from([1, 1, 1, 0, 0x94, 4, 0, 0]) })),
    verdict: 'OK',
    reason: 'FWD_NEW_FLOW',
    output: ipv4Frame(toWeb({ ipOptions: Buffer.from([1, 1, 1, 0, 0x94, 4, 0, 0]), dst: '10.244.1.5', dport: 8080 })),
  },
  {
    name: 'Ethernet padding after the datagram is left alone',
    seed: seedDns,
    input: ipv4Frame(toDns({ payload: Buffer.from('hi'), trailer: Buffer.alloc(8) })),
    verdict: 'OK',
    reason: 'FWD_NEW_FLOW',
    output: ipv4Frame(toDns({ payload: Buffer.from('hi'), trailer: Buffer.alloc(8), dst: '10.244.4.8', dport: 5353 })),
  },
  {
    name: 'pod-to-pod TCP that is no service is passed byte for byte',
    seed: seedBoth,
    input: ipv4Frame({ proto: 'tcp', src: CLIENT, dst: POD, sport: 40000, dport: 80 }),
    verdict: 'OK',
    reason: 'PASS_NO_FLOW',
    output: 'unchanged',
  },
  {
    name: 'pod-to-pod UDP that is no service is passed byte for byte',
    seed: seedBoth,
    input: ipv4Frame({ proto: 'udp', src: CLIENT, dst: POD, sport: 41000, dport: 53 }),
    verdict: 'OK',
    reason: 'PASS_NO_FLOW',
    output: 'unchanged',
  },
  {
    name: 'another port of the VIP is not the service (P1)',
    seed: seedWeb,
    input: ipv4Frame(toWeb({ dport: 81 })),
    verdict: 'OK',
    reason: 'PASS_NO_FLOW',
    output: 'unchanged',
  },
  {
    name: 'UDP to a TCP frontend\'s VIP and port is not the service (P1)',
    seed: seedWeb,
    input: ipv4Frame({ proto: 'udp', src: CLIENT, dst: VIP, sport: 41000, dport: 80 }),
    verdict: 'OK',
    reason: 'PASS_NO_FLOW',
    output: 'unchanged',
  },
  {
    name: 'IPv6 frames are passed (PASS_NOT_IPV4)',
    seed: seedWeb,
    input: ethernet(ETH_P.IPV6, Buffer.alloc(60, 0x60)),
    verdict: 'OK',
    reason: 'PASS_NOT_IPV4',
    output: 'unchanged',
  },
  {
    name: 'ARP frames are passed (PASS_NOT_IPV4)',
    input: ethernet(ETH_P.ARP, Buffer.alloc(28, 1)),
    verdict: 'OK',
    reason: 'PASS_NOT_IPV4',
    output: 'unchanged',
  },
  {
    name: 'ICMP to a VIP is passed (PASS_NOT_TCP_UDP)',
    seed: seedWeb,
    input: ipv4Frame({ proto: 'icmp', src: CLIENT, dst: VIP }),
    verdict: 'OK',
    reason: 'PASS_NOT_TCP_UDP',
    output: 'unchanged',
  },
  {
    name: 'a later fragment (offset != 0) whose first fragment was never seen is passed untouched (fragments.test.ts has the rest)',
    seed: seedDns,
    input: ipv4Frame(toDns({ fragmentOffset: 185 })),
    verdict: 'OK',
    reason: 'PASS_FRAGMENT',
    output: 'unchanged',
  },
  {
    name: 'an RST to a frontend with count 0 is dropped, not answered (N1)',
    seed: (dp) => dp.addService({ ...WEB, backends: [] }),
    input: ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.RST })),
    verdict: 'SHOT',
    reason: 'DROP_REJECT_NOT_SENT',
  },
  {
    name: 'only TERMINATING backends in the slots: no new flow (C3)',
    seed: (dp) => dp.addService({ ...WEB, backends: [{ id: 1, addr: '10.244.1.5', port: 8080, state: BACKEND_STATE.TERMINATING }] }),
    input: ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })),
    verdict: 'SHOT',
    reason: 'DROP_NO_BACKEND',
  },
  {
    name: 'a slot naming backend id 0 drops, counted, even if an id-0 backend exists (DROP_INVALID_BACKEND)',
    seed: (dp) => {
      // Id 0 is reserved as invalid: a (buggy) backend entry under it is never used.
      dp.addService({ ...WEB, backends: [{ id: 0, addr: '10.244.1.5', port: 8080 }], slots: [0] });
    },
    input: ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })),
    verdict: 'SHOT',
    reason: 'DROP_INVALID_BACKEND',
  },
  {
    name: 'a slot naming an unknown backend id drops (DROP_INVALID_BACKEND)',
    seed: (dp) => dp.addService({ ...WEB, slots: [77] }),
    input: ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })),
    verdict: 'SHOT',
    reason: 'DROP_INVALID_BACKEND',
  },
  {
    name: 'a count covering a missing slot drops (DROP_INVALID_BACKEND)',
    seed: (dp) => {
      dp.addService({ ...WEB, backends: [] });
      dp.setSlots(WEB.svcId, [], 1);
    },
    input: ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })),
    verdict: 'SHOT',
    reason: 'DROP_INVALID_BACKEND',
  },
  ...[0, 1, 4].map(
    (ihl): Row => ({
      name: `IPv4 header with ihl ${ihl} (< 5) is malformed`,
      seed: seedWeb,
      input: mangle(ipv4Frame(toWeb()), (ip) => (ip[0] = 0x40 | ihl)),
      verdict: 'SHOT',
      reason: 'DROP_MALFORMED',
    }),
  ),
  {
    name: 'IPv4 ethertype carrying a version-6 header is malformed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb()), (ip) => (ip[0] = 0x65)),
    verdict: 'SHOT',
    reason: 'DROP_MALFORMED',
  },
  {
    name: 'total length longer than the frame is malformed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb()), (ip) => ip.writeUInt16BE(1500, 2)),
    verdict: 'SHOT',
    reason: 'DROP_MALFORMED',
  },
  {
    name: 'total length shorter than the IP header is malformed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb()), (ip) => ip.writeUInt16BE(19, 2)),
    verdict: 'SHOT',
    reason: 'DROP_MALFORMED',
  },
  {
    name: 'total length covering the IP header but not the TCP header is malformed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb()), (ip) => ip.writeUInt16BE(30, 2)),
    verdict: 'SHOT',
    reason: 'DROP_MALFORMED',
  },
  {
    name: 'total length 0 outside GSO is malformed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb()), (ip) => ip.writeUInt16BE(0, 2)),
    verdict: 'SHOT',
    reason: 'DROP_MALFORMED',
  },
  {
    name: 'a BIG TCP GSO packet (total length 0) takes its length from the skb and is DNATed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb()), (ip) => ip.writeUInt16BE(0, 2)),
    ctx: gsoContext(1448, 2),
    verdict: 'OK',
    reason: 'FWD_NEW_FLOW',
    output: mangle(ipv4Frame(toWeb({ dst: '10.244.1.5', dport: 8080 })), (ip) => ip.writeUInt16BE(0, 2)),
    checksumsValid: false,
  },
  {
    name: 'ihl 15 (60-byte header) in a frame without the options is malformed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb({ payload: Buffer.alloc(0) })), (ip) => (ip[0] = 0x4f)),
    verdict: 'SHOT',
    reason: 'DROP_MALFORMED',
  },
  {
    name: 'TCP data offset below 5 is malformed',
    seed: seedWeb,
    input: mangle(ipv4Frame(toWeb()), (ip) => (ip[20 + 12] = 4 << 4)),
    verdict: 'SHOT',
    reason: 'DROP_MALFORMED',
  },
];

describe('kpx_from_pod: one packet, one decision', () => {
  for (const row of ROWS) {
    test(row.name, () =>
      withDatapath((dp) => {
        row.seed?.(dp);
        const r = dp.run(row.input, row.ctx);
        assert.equal(r.reason, row.reason);
        assert.equal(r.verdict, row.verdict);
        if (row.output === 'unchanged') assert.deepEqual(r.data, row.input);
        else if (row.output) {
          assert.deepEqual(decodeFrame(r.data), decodeFrame(row.output));
          assert.deepEqual(r.data, row.output);
          if (row.checksumsValid !== false) assertValidChecksums(r.data, true);
        }
      }),
    );
  }
});

// ---- truncation --------------------------------------------------------------------

/** Shortest IPv4 frame the kernel's tc test run accepts: Ethernet + a 20-byte IPv4 header. */
const KERNEL_MIN_IPV4_TEST_RUN = 14 + 20;

describe('truncated frames: no fault, the right counter at every length', () => {
  const cases: Array<[string, Buffer, (dp: Datapath) => void]> = [
    ['TCP', ipv4Frame(toWeb({ payload: Buffer.alloc(0) })), seedWeb],
    ['UDP', ipv4Frame(toDns({ payload: Buffer.alloc(0) })), seedDns],
    ['TCP behind IP options', ipv4Frame(toWeb({ payload: Buffer.alloc(0), ipOptions: Buffer.from([1, 1, 1, 0]) })), seedWeb],
  ];
  for (const [what, full, seed] of cases) {
    test(`${what}: lengths 0..${full.length}`, () =>
      withDatapath((dp) => {
        seed(dp);
        for (let len = 0; len <= full.length; len++) {
          const frame = full.subarray(0, len);
          if (len < KERNEL_MIN_IPV4_TEST_RUN) {
            // BPF_PROG_TEST_RUN refuses a frame shorter than an Ethernet header, and an
            // IPv4-typed one shorter than Ethernet + IPv4 header, before the program
            // runs. The program's own checks for those lengths are proven by the
            // verifier (it would not load without them), not exercised here.
            const before = dp.counterSnapshot();
            assert.throws(() => dp.prog.testRun({ data: frame }), (e: unknown) => e instanceof BpfError && e.errno === 22);
            assert.deepEqual(dp.counterSnapshot(), before, `length ${len}: no counter moves`);
            continue;
          }
          const r = dp.run(frame);
          if (len < full.length) {
            assert.equal(r.reason, 'DROP_MALFORMED', `length ${len}`);
            assert.equal(r.verdict, 'SHOT', `length ${len}`);
          } else {
            assert.equal(r.reason, 'FWD_NEW_FLOW', `full length ${len}`);
            assert.equal(r.verdict, 'OK');
          }
        }
      }),
    );
  }
});

// ---- flows over several packets ----------------------------------------------------

describe('flows', () => {
  test('a new flow records a FORWARD and a REPLY entry', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      const fwd = dp.ctEntry({ saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, proto: PROTO.TCP, dir: CT_DIR.FORWARD });
      const rep = dp.ctEntry({ saddr: '10.244.1.5', daddr: CLIENT, sport: 8080, dport: 40000, proto: PROTO.TCP, dir: CT_DIR.REPLY });
      assert.ok(fwd && rep);
      assert.equal(fwd.backendId, 1);
      assert.equal(fwd.svcId, 1);
      assert.equal(rep.backendId, 1);
      assert.equal(rep.natAddr, VIP);
      assert.equal(rep.natPort, 80);
      assert.ok(fwd.lastSeenNs > 0n && rep.lastSeenNs === fwd.lastSeenNs);
    }));

  test('an established flow keeps its backend for 50 packets while other backends come and go (C1)', () =>
    withDatapath((dp) => {
      dp.addService(WEB3);
      const first = dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      assert.equal(first.reason, 'FWD_NEW_FLOW');
      const chosen = decodeFrame(first.data).dst;
      const chosenId = WEB3.backends.find((b) => b.addr === chosen)!.id;
      const others = WEB3.backends.filter((b) => b.id !== chosenId);
      for (let i = 0; i < 50; i++) {
        if (i === 10) {
          // Two more backends appear.
          dp.putBackend(WEB3, { id: 4, addr: '10.244.5.1', port: 8080 });
          dp.putBackend(WEB3, { id: 5, addr: '10.244.5.2', port: 8080 });
          dp.setSlots(WEB3.svcId, [1, 2, 3, 4, 5]);
        }
        if (i === 25) {
          // Every other original backend goes away.
          dp.setSlots(WEB3.svcId, [chosenId, 4, 5]);
          for (const o of others) dp.deleteBackend(o.id);
        }
        const r = dp.run(ipv4Frame(toWeb({ payload: Buffer.from(`packet ${i}`) })));
        assert.equal(r.reason, 'FWD_ESTABLISHED', `packet ${i}`);
        assert.equal(decodeFrame(r.data).dst, chosen, `packet ${i}`);
        assertValidChecksums(r.data);
      }
    }));

  test('a reply from the backend gets the frontend as its source (reverse NAT)', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      const reply: Ipv4Spec = { proto: 'tcp', src: '10.244.1.5', dst: CLIENT, sport: 8080, dport: 40000, tcpFlags: TCP_FLAG.SYN | TCP_FLAG.ACK };
      const r = dp.run(ipv4Frame(reply));
      assert.equal(r.reason, 'FWD_REPLY');
      assert.equal(r.verdict, 'OK');
      assert.deepEqual(r.data, ipv4Frame({ ...reply, src: VIP, sport: 80 }));
      assertValidChecksums(r.data);
      const fwd = dp.ctEntry({ saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, proto: PROTO.TCP, dir: CT_DIR.FORWARD })!;
      const rep = dp.ctEntry({ saddr: '10.244.1.5', daddr: CLIENT, sport: 8080, dport: 40000, proto: PROTO.TCP, dir: CT_DIR.REPLY })!;
      assert.equal(rep.flags & CT_FLAGS.SEEN_REPLY, CT_FLAGS.SEEN_REPLY);
      assert.equal(fwd.flags & CT_FLAGS.SEEN_REPLY, CT_FLAGS.SEEN_REPLY, 'the forward entry learns of the reply too');
    }));

  test('UDP reply keeps a zero checksum zero through reverse NAT', () =>
    withDatapath((dp) => {
      dp.addService(DNS);
      dp.run(ipv4Frame(toDns()));
      const reply: Ipv4Spec = { proto: 'udp', src: '10.244.4.8', dst: CLIENT, sport: 5353, dport: 41000, udpNoChecksum: true };
      const r = dp.run(ipv4Frame(reply));
      assert.equal(r.reason, 'FWD_REPLY');
      assert.deepEqual(r.data, ipv4Frame({ ...reply, src: DNS_VIP, sport: 53 }));
    }));

  test('a backend sending from another port is not a reply of the flow', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      const stray = ipv4Frame({ proto: 'tcp', src: '10.244.1.5', dst: CLIENT, sport: 8081, dport: 40000 });
      const r = dp.run(stray);
      assert.equal(r.reason, 'PASS_NO_FLOW');
      assert.deepEqual(r.data, stray);
    }));

  test('a removed backend\'s flow moves to a live backend (C2), and stays there', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      assert.equal(dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN }))).reason, 'FWD_NEW_FLOW');
      // Endpoint 1 goes, endpoint 2 comes: the control plane's order.
      dp.putBackend(WEB, { id: 2, addr: '10.244.2.6', port: 9090 });
      dp.setSlots(WEB.svcId, [2]);
      dp.deleteBackend(1);
      const moved = dp.run(ipv4Frame(toWeb()));
      assert.equal(moved.reason, 'FWD_RESELECTED');
      assert.deepEqual(moved.data, ipv4Frame(toWeb({ dst: '10.244.2.6', dport: 9090 })));
      const again = dp.run(ipv4Frame(toWeb()));
      assert.equal(again.reason, 'FWD_ESTABLISHED');
      assert.equal(decodeFrame(again.data).dst, '10.244.2.6');
      const reply = dp.run(ipv4Frame({ proto: 'tcp', src: '10.244.2.6', dst: CLIENT, sport: 9090, dport: 40000 }));
      assert.equal(reply.reason, 'FWD_REPLY');
      assert.equal(decodeFrame(reply.data).src, VIP);
      assert.equal(decodeFrame(reply.data).sport, 80);
    }));

  test('a UDP flow whose service lost every endpoint is rejected, then forwards when one appears (C2, N1, no stale state)', () =>
    withDatapath((dp) => {
      dp.addService(DNS);
      assert.equal(dp.run(ipv4Frame(toDns())).reason, 'FWD_NEW_FLOW');
      dp.setSlots(DNS.svcId, []);
      dp.deleteBackend(21);
      const rejected = dp.run(ipv4Frame(toDns()));
      assert.equal(rejected.reason, 'REJECT_UDP');
      assert.equal(rejected.verdict, 'REDIRECT');
      dp.putBackend(DNS, { id: 22, addr: '10.244.4.9', port: 5353 });
      dp.setSlots(DNS.svcId, [22]);
      const back = dp.run(ipv4Frame(toDns()));
      assert.equal(back.reason, 'FWD_RESELECTED');
      assert.deepEqual(back.data, ipv4Frame(toDns({ dst: '10.244.4.9', dport: 5353 })));
    }));

  test('a TERMINATING backend keeps its flow but gets no new ones, even while still in a slot (C3)', () =>
    withDatapath((dp) => {
      dp.addService({ ...WEB3, slots: [1] });
      assert.equal(decodeFrame(dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN }))).data).dst, '10.244.1.5');
      dp.setSlots(WEB3.svcId, [1, 2, 3]);
      dp.putBackend(WEB3, { id: 1, addr: '10.244.1.5', port: 8080, state: BACKEND_STATE.TERMINATING });
      for (let i = 0; i < 20; i++) {
        const r = dp.run(ipv4Frame(toWeb()));
        assert.equal(r.reason, 'FWD_ESTABLISHED');
        assert.equal(decodeFrame(r.data).dst, '10.244.1.5');
      }
      const hits = new Set<string>();
      for (let i = 0; i < 100; i++) {
        const r = dp.run(ipv4Frame(toWeb({ sport: 50000 + i, tcpFlags: TCP_FLAG.SYN })));
        assert.equal(r.reason, 'FWD_NEW_FLOW');
        hits.add(decodeFrame(r.data).dst);
      }
      assert.deepEqual([...hits].sort(), ['10.244.2.6', '10.244.3.7']);
    }));

  test('a tracked flow of a deleted service is passed untouched (C4)', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.addService(DNS);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      dp.deleteService(WEB.svcId);
      const pkt = ipv4Frame(toWeb());
      const r = dp.run(pkt);
      assert.equal(r.reason, 'PASS_NO_SERVICE');
      assert.deepEqual(r.data, pkt);
      assert.equal(dp.run(ipv4Frame(toDns())).reason, 'FWD_NEW_FLOW', 'the other service is untouched');
    }));

  test('a flow whose backend id was reused by another frontend is reselected', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      dp.putBackend(WEB, { id: 2, addr: '10.244.2.6', port: 8080 });
      dp.setSlots(WEB.svcId, [2]);
      dp.putBackend({ proto: PROTO.TCP, svcId: 9 }, { id: 1, addr: '10.244.7.7', port: 7777 });
      const r = dp.run(ipv4Frame(toWeb()));
      assert.equal(r.reason, 'FWD_RESELECTED');
      assert.equal(decodeFrame(r.data).dst, '10.244.2.6');
    }));

  test('an idle-expired entry is not used: the 4-tuple picks afresh', () =>
    withDatapath((dp) => {
      dp.addService({ ...WEB3, slots: [2] });
      // A closing flow to backend 1 last seen at boot: far beyond the 10 s closing timeout.
      dp.putCtEntry(
        { saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, proto: PROTO.TCP, dir: CT_DIR.FORWARD },
        { lastSeenNs: 1n, natAddr: '0.0.0.0', natPort: 0, flags: CT_FLAGS.CLOSING, backendId: 1, svcId: 1, peerAddr: '0.0.0.0', peerPort: 0 },
      );
      const r = dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      assert.equal(r.reason, 'FWD_NEW_FLOW');
      assert.equal(decodeFrame(r.data).dst, '10.244.2.6');
      const fwd = dp.ctEntry({ saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, proto: PROTO.TCP, dir: CT_DIR.FORWARD })!;
      assert.equal(fwd.backendId, 2);
      assert.equal(fwd.flags, CT_FLAGS.BACKEND_CACHED, 'a fresh entry: no CLOSING left over');
    }));

  test('FIN marks both entries of the flow CLOSING', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      assert.equal(dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.FIN | TCP_FLAG.ACK }))).reason, 'FWD_ESTABLISHED');
      const fwd = dp.ctEntry({ saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, proto: PROTO.TCP, dir: CT_DIR.FORWARD })!;
      const rep = dp.ctEntry({ saddr: '10.244.1.5', daddr: CLIENT, sport: 8080, dport: 40000, proto: PROTO.TCP, dir: CT_DIR.REPLY })!;
      assert.equal(fwd.flags & CT_FLAGS.CLOSING, CT_FLAGS.CLOSING);
      assert.equal(rep.flags & CT_FLAGS.CLOSING, CT_FLAGS.CLOSING);
    }));
});

// ---- selection and affinity --------------------------------------------------------

describe('backend selection', () => {
  test('new flows spread uniformly at random over every backend (A2): 300 flows hit all 5', () =>
    withDatapath((dp) => {
      const backends = [1, 2, 3, 4, 5].map((id) => ({ id, addr: `10.244.${id}.10`, port: 8080 }));
      dp.addService({ ...WEB, backends });
      const hits = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        const r = dp.run(ipv4Frame(toWeb({ sport: 20000 + i, tcpFlags: TCP_FLAG.SYN })));
        assert.equal(r.reason, 'FWD_NEW_FLOW');
        const dst = decodeFrame(r.data).dst;
        hits.set(dst, (hits.get(dst) ?? 0) + 1);
      }
      assert.deepEqual([...hits.keys()].sort(), backends.map((b) => b.addr).sort());
    }));

  const AFF: ServiceSeed = { ...WEB3, flags: SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.AFFINITY, affinityTimeoutS: 10800 };

  test('ClientIP affinity sends every new connection of a client to the same backend (A1)', () =>
    withDatapath((dp) => {
      dp.addService(AFF);
      const first = dp.run(ipv4Frame(toWeb({ sport: 30000, tcpFlags: TCP_FLAG.SYN })));
      assert.equal(first.reason, 'FWD_NEW_FLOW');
      const pinned = decodeFrame(first.data).dst;
      for (let i = 1; i < 30; i++) {
        const r = dp.run(ipv4Frame(toWeb({ sport: 30000 + i, tcpFlags: TCP_FLAG.SYN })));
        assert.equal(r.reason, 'FWD_AFFINITY');
        assert.equal(decodeFrame(r.data).dst, pinned);
      }
      const entry = dp.affinityEntry(CLIENT, AFF.svcId)!;
      assert.equal(AFF.backends.find((b) => b.id === entry.backendId)!.addr, pinned);
      // Another client gets its own entry.
      dp.run(ipv4Frame(toWeb({ src: OTHER_CLIENT, tcpFlags: TCP_FLAG.SYN })));
      assert.ok(dp.affinityEntry(OTHER_CLIENT, AFF.svcId));
    }));

  test('an affinity entry older than the timeout is not used (A1)', () =>
    withDatapath((dp) => {
      dp.addService({ ...AFF, affinityTimeoutS: 1 });
      dp.putAffinityEntry(CLIENT, AFF.svcId, { lastUsedNs: 1n, backendId: 3 });
      const r = dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      assert.equal(r.reason, 'FWD_NEW_FLOW');
      const entry = dp.affinityEntry(CLIENT, AFF.svcId)!;
      assert.ok(entry.lastUsedNs > 1n, 'the entry is rewritten with the new choice');
      assert.equal(AFF.backends.find((b) => b.id === entry.backendId)!.addr, decodeFrame(r.data).dst);
    }));

  test('a remembered backend that is gone or TERMINATING is not used: pick again (A1, C3)', () =>
    withDatapath((dp) => {
      dp.addService(AFF);
      dp.putAffinityEntry(CLIENT, AFF.svcId, { lastUsedNs: 0n, backendId: 99 }); // gone
      const r1 = dp.run(ipv4Frame(toWeb({ sport: 1, tcpFlags: TCP_FLAG.SYN })));
      assert.equal(r1.reason, 'FWD_NEW_FLOW');
      const pinnedId = dp.affinityEntry(CLIENT, AFF.svcId)!.backendId;
      assert.notEqual(pinnedId, 99);
      const pinned = AFF.backends.find((b) => b.id === pinnedId)!;
      dp.putBackend(AFF, { ...pinned, state: BACKEND_STATE.TERMINATING });
      const r2 = dp.run(ipv4Frame(toWeb({ sport: 2, tcpFlags: TCP_FLAG.SYN })));
      assert.equal(r2.reason, 'FWD_NEW_FLOW');
      assert.notEqual(decodeFrame(r2.data).dst, pinned.addr);
    }));

  test('switching affinity off at runtime spreads new connections again (A1)', () =>
    withDatapath((dp) => {
      dp.addService(AFF);
      dp.run(ipv4Frame(toWeb({ sport: 1, tcpFlags: TCP_FLAG.SYN })));
      dp.setFlags(AFF.svcId, SVC_FLAGS.CLUSTER_IP);
      const hits = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const r = dp.run(ipv4Frame(toWeb({ sport: 2 + i, tcpFlags: TCP_FLAG.SYN })));
        assert.equal(r.reason, 'FWD_NEW_FLOW');
        hits.add(decodeFrame(r.data).dst);
      }
      assert.equal(hits.size, 3);
    }));
});

test('the packet rows are run on the committed object, not a stub', () => {
  const dp = Datapath.load();
  try {
    assert.equal(dp.prog.name, 'kpx_from_pod');
    assert.equal(dp.ct.maxEntries > 0, true);
    assert.equal(dp.counters.maxEntries, REASON_MAX);
    assert.ok(dp.counters.perCpu);
  } finally {
    dp.close();
  }
});
