// Fragmented datagrams through a Service (bpf/parse.h, fragments): the first fragment
// decides and is translated as any packet; the later ones, which carry no L4 header, take
// their ports from kpx_frags_v1 and follow it, IP header only. What the receiver
// reassembles must be the whole datagram, translated, its L4 checksum right. A large DNS
// answer (EDNS0) from a backend is the everyday case. The real object through
// BPF_PROG_TEST_RUN.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTO, SVC_FLAGS } from '../../src/datapath/abi.js';
import { verifyChecksums } from './checksum-verifier.js';
import { withDatapath, type Datapath } from './harness.js';
import { decodeFrame, fragmentFrames, ipv4Datagram, reassembleFrames, type Ipv4Spec } from './packet.js';
import { CLIENT, VIP } from './web-service.js';

const DNS_BACKEND = '10.244.1.5';
const NODE = '10.0.0.10';
const EXT_CLIENT = '203.0.113.7';
const REMOTE_BACKEND = '10.244.2.6';
const NODE_PORT = 30053;
const BIG = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));

function seedDns(dp: Datapath): void {
  dp.addService({ vip: VIP, port: 53, proto: PROTO.UDP, svcId: 1, flags: SVC_FLAGS.CLUSTER_IP, backends: [{ id: 1, addr: DNS_BACKEND, port: 5353 }] });
}

/** The datagram of spec in fragments of 1480 payload bytes (a 1500-byte MTU). */
function fragments(spec: Ipv4Spec): Buffer[] {
  return fragmentFrames(ipv4Datagram({ payload: BIG, ...spec }), 1480);
}

describe('fragmented UDP through a ClusterIP', () => {
  test('a client\'s large datagram: every fragment goes to the backend, and it reassembles with a valid checksum', () =>
    withDatapath((dp) => {
      seedDns(dp);
      const frags = fragments({ proto: 'udp', src: CLIENT, dst: VIP, sport: 41000, dport: 53, id: 0x5151 });
      assert.equal(frags.length, 3);
      const out = frags.map((f) => dp.run(f));
      assert.deepEqual(out.map((r) => r.reason), ['FWD_NEW_FLOW', 'FWD_ESTABLISHED', 'FWD_ESTABLISHED']);
      for (const r of out) {
        assert.equal(decodeFrame(r.data).dst, DNS_BACKEND);
        assert.equal(verifyChecksums(r.data).ip, true, 'each fragment\'s IP header');
      }
      const whole = reassembleFrames(out.map((r) => r.data));
      const v = decodeFrame(whole);
      assert.deepEqual([v.src, v.sport, v.dst, v.dport], [CLIENT, 41000, DNS_BACKEND, 5353]);
      assert.deepEqual(verifyChecksums(whole), { ip: true, l4: true }, 'the reassembled datagram\'s UDP checksum');
      assert.deepEqual(whole.subarray(14 + 28), BIG, 'the payload is intact');
    }));

  test('a backend\'s large answer: every fragment comes back from the frontend (kpx_from_pod and kpx_to_pod)', () =>
    withDatapath((dp) => {
      seedDns(dp);
      assert.equal(dp.run(ipv4Datagram2Frame({ proto: 'udp', src: CLIENT, dst: VIP, sport: 41000, dport: 53 })).reason, 'FWD_NEW_FLOW');
      for (const [prog, id] of [['fromPod', 0x6001], ['toPod', 0x6002]] as const) {
        const frags = fragments({ proto: 'udp', src: DNS_BACKEND, dst: CLIENT, sport: 5353, dport: 41000, id });
        const out = frags.map((f) => dp.runOn(prog, f));
        assert.deepEqual(out.map((r) => r.reason), ['FWD_REPLY', 'FWD_REPLY', 'FWD_REPLY'], prog);
        const whole = reassembleFrames(out.map((r) => r.data));
        const v = decodeFrame(whole);
        assert.deepEqual([v.src, v.sport, v.dst, v.dport], [VIP, 53, CLIENT, 41000], prog);
        assert.deepEqual(verifyChecksums(whole), { ip: true, l4: true }, prog);
      }
    }));

  test('a later fragment whose first never came, or whose entry is gone, is passed untouched; it never starts a flow', () =>
    withDatapath((dp) => {
      seedDns(dp);
      const frags = fragments({ proto: 'udp', src: CLIENT, dst: VIP, sport: 41000, dport: 53, id: 0x7001 });
      const r = dp.run(frags[1]!);
      assert.equal(r.reason, 'PASS_FRAGMENT');
      assert.deepEqual(r.data, frags[1]);
      assert.equal(dp.ct.count(), 0, 'no flow');
    }));

  test('a later fragment of a flow whose backend was removed is passed, not sent to another backend', () =>
    withDatapath((dp) => {
      seedDns(dp);
      const frags = fragments({ proto: 'udp', src: CLIENT, dst: VIP, sport: 41000, dport: 53, id: 0x7002 });
      assert.equal(dp.run(frags[0]!).reason, 'FWD_NEW_FLOW');
      dp.putBackend({ proto: PROTO.UDP, svcId: 1 }, { id: 2, addr: '10.244.3.7', port: 5353 });
      dp.setSlots(1, [2]);
      dp.deleteBackend(1);
      assert.equal(dp.run(frags[1]!).reason, 'PASS_FRAGMENT');
    }));

  test('the ports are remembered under the datagram\'s key as it arrived', () =>
    withDatapath((dp) => {
      seedDns(dp);
      const frags = fragments({ proto: 'udp', src: CLIENT, dst: VIP, sport: 41000, dport: 53, id: 0x7003 });
      dp.run(frags[0]!);
      assert.equal(dp.frags.count(), 1);
      const [key] = [...dp.frags.keys()];
      assert.equal(key!.subarray(0, 4).join('.'), CLIENT, 'the source as it arrived');
      assert.equal(key!.subarray(4, 8).join('.'), VIP, 'the frontend, not the backend');
    }));
});

describe('fragmented UDP through a NodePort to a remote backend (DNAT + SNAT)', () => {
  test('every fragment is translated on both addresses; the datagram reassembles at the backend with a valid checksum', () =>
    withDatapath(
      (dp) => {
        const frags = fragments({ proto: 'udp', src: EXT_CLIENT, dst: NODE, sport: 45000, dport: NODE_PORT, id: 0x4242 });
        const out = frags.map((f) => dp.runOn('xdpExt', f));
        assert.deepEqual(out.map((r) => r.reason), ['FWD_SNAT', 'FWD_ESTABLISHED', 'FWD_ESTABLISHED']);
        const whole = reassembleFrames(out.map((r) => r.data));
        const v = decodeFrame(whole);
        assert.deepEqual([v.src, v.dst, v.dport], [NODE, REMOTE_BACKEND, 8053]);
        assert.notEqual(v.sport, 45000, 'the SNAT port');
        assert.deepEqual(verifyChecksums(whole), { ip: true, l4: true });
      },
      (dp) => {
        dp.setConfig({ nodeAddr: NODE, snatPortMin: 40000, snatPortMax: 40009 });
        dp.addService({ vip: NODE, port: NODE_PORT, proto: PROTO.UDP, svcId: 10, flags: SVC_FLAGS.NODE_PORT, backends: [{ id: 1, addr: REMOTE_BACKEND, port: 8053 }] });
      },
    ));
});

function ipv4Datagram2Frame(spec: Ipv4Spec): Buffer {
  return fragmentFrames(ipv4Datagram(spec), 1480)[0]!;
}
