// How a TCP flow closes, packet by packet (bpf/conntrack.h kpx_ct_close_flags()), and
// what that means for its SNAT tuple (bpf/snat.h): a tuple closed by the client first
// (the backend's passive close leaves it nothing) is free after a short
// grace, and taken at once rather than dropping a new flow; one whose backend closed
// first (its TIME_WAIT) is held 60 s, and taken under pressure only after 10 s; one
// ended by an RST is held 3 s, for the SYN a client resends after a refused handshake.
// The real object through BPF_PROG_TEST_RUN on kpx_xdp_ext (traffic from outside, T4).
// Time passes by ageing entries' last_seen_ns, as a slower test would by sleeping.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CT_DIR, CT_FLAGS, PROTO, SVC_FLAGS, type CtKey } from '../../src/datapath/abi.js';
import { withDatapath as withFreshDatapath, type Datapath, type RunResult } from './harness.js';
import { TCP_FLAG, decodeFrame, ipv4Frame, type Ipv4Spec } from './packet.js';

const NODE = '10.0.0.10';
const CLIENT = '203.0.113.7';
const BACKEND = '10.244.2.6'; // on another node: external flows to it are SNATed (T4)
const NODE_PORT = 30080;
const SEC = 1_000_000_000n;
const { SYN, ACK, FIN, RST, PSH } = TCP_FLAG;
const F = CT_FLAGS;

/** A fresh datapath with SNAT ports `ports` and the NodePort Service, its backend remote. */
function withDatapath(ports: [number, number], fn: (dp: Datapath) => void): void {
  withFreshDatapath(fn, (dp) => {
    dp.setConfig({ nodeAddr: NODE, snatPortMin: ports[0], snatPortMax: ports[1] });
    dp.addService({ vip: NODE, port: NODE_PORT, proto: PROTO.TCP, svcId: 10, flags: SVC_FLAGS.NODE_PORT, backends: [{ id: 1, addr: BACKEND, port: 8080 }] });
  });
}

/** One client connection through the NodePort, and the packets of both of its sides. */
class Flow {
  readonly port: number;
  constructor(
    readonly dp: Datapath,
    readonly client: string,
    readonly sport = 45000,
  ) {
    const r = this.fromClient(SYN);
    assert.equal(r.reason, 'FWD_SNAT', 'the SYN opens a SNATed flow');
    this.port = decodeFrame(r.data).sport;
    assert.equal(this.fromBackend(SYN | ACK).reason, 'FWD_REPLY');
    assert.equal(this.fromClient(ACK).reason, 'FWD_ESTABLISHED');
  }
  fromClient(tcpFlags: number): RunResult {
    const spec: Ipv4Spec = { proto: 'tcp', src: this.client, dst: NODE, sport: this.sport, dport: NODE_PORT, tcpFlags };
    return this.dp.runOn('xdpExt', ipv4Frame(spec));
  }
  fromBackend(tcpFlags: number): RunResult {
    const spec: Ipv4Spec = { proto: 'tcp', src: BACKEND, dst: NODE, sport: 8080, dport: this.port, tcpFlags };
    return this.dp.runOn('xdpExt', ipv4Frame(spec));
  }
  get fkey(): CtKey {
    return { saddr: this.client, daddr: NODE, sport: this.sport, dport: NODE_PORT, proto: PROTO.TCP, dir: CT_DIR.FORWARD };
  }
  get rkey(): CtKey {
    return { saddr: BACKEND, daddr: NODE, sport: 8080, dport: this.port, proto: PROTO.TCP, dir: CT_DIR.REPLY };
  }
  /** The flags of both entries, which must agree (BACKEND_CACHED aside: FORWARD only,
   *  see test/datapath/backend-cache.test.ts). */
  flags(): number {
    const fwd = this.dp.ctEntry(this.fkey);
    const rep = this.dp.ctEntry(this.rkey);
    assert.ok(fwd && rep, 'both entries exist');
    const fwdFlags = fwd.flags & ~CT_FLAGS.BACKEND_CACHED;
    assert.equal(fwdFlags, rep.flags, 'FORWARD and REPLY carry the same flags');
    return fwdFlags;
  }
  /** Both entries as if their last packet was `seconds` earlier. */
  age(seconds: number): void {
    for (const k of [this.fkey, this.rkey]) {
      const v = this.dp.ctEntry(k);
      assert.ok(v);
      this.dp.putCtEntry(k, { ...v, lastSeenNs: v.lastSeenNs - BigInt(seconds * 1000) * (SEC / 1000n) });
    }
  }
  /** Client first: FIN, the backend's FIN|ACK, the client's final ACK. */
  closeByClient(): void {
    assert.equal(this.fromClient(FIN | ACK).reason, 'FWD_ESTABLISHED');
    assert.equal(this.fromBackend(FIN | ACK).reason, 'FWD_REPLY');
    assert.equal(this.fromClient(ACK).reason, 'FWD_ESTABLISHED');
  }
  /** Backend first: FIN, the client's FIN|ACK, the backend's final ACK. */
  closeByBackend(): void {
    assert.equal(this.fromBackend(FIN | ACK).reason, 'FWD_REPLY');
    assert.equal(this.fromClient(FIN | ACK).reason, 'FWD_ESTABLISHED');
    assert.equal(this.fromBackend(ACK).reason, 'FWD_REPLY');
  }
}

const OPEN = F.SEEN_REPLY | F.SNAT;

describe('close tracking: which side closed, and how', () => {
  test('an open flow carries no close flag, whatever it sends', () =>
    withDatapath([61000, 61999], (dp) => {
      const f = new Flow(dp, CLIENT);
      f.fromClient(PSH | ACK);
      f.fromBackend(PSH | ACK);
      assert.equal(f.flags(), OPEN);
    }));

  test('client first: FIN_CLIENT, then FIN_BACKEND, then CLOSED on the client\'s final ACK', () =>
    withDatapath([61000, 61999], (dp) => {
      const f = new Flow(dp, CLIENT);
      f.fromClient(FIN | ACK);
      assert.equal(f.flags(), OPEN | F.CLOSING | F.FIN_CLIENT);
      f.fromBackend(ACK); // the backend ACKs the FIN and may keep sending (half close)
      f.fromBackend(PSH | ACK);
      assert.equal(f.flags(), OPEN | F.CLOSING | F.FIN_CLIENT);
      f.fromBackend(FIN | ACK);
      assert.equal(f.flags(), OPEN | F.CLOSING | F.FIN_CLIENT | F.FIN_BACKEND);
      f.fromClient(ACK);
      assert.equal(f.flags(), OPEN | F.CLOSING | F.FIN_CLIENT | F.FIN_BACKEND | F.CLOSED);
    }));

  test('backend first: BACKEND_FIRST, and the client\'s FIN and the last ACK never make it CLOSED', () =>
    withDatapath([61000, 61999], (dp) => {
      const f = new Flow(dp, CLIENT);
      f.fromBackend(FIN | ACK);
      assert.equal(f.flags(), OPEN | F.CLOSING | F.FIN_BACKEND | F.BACKEND_FIRST);
      f.fromClient(FIN | ACK);
      f.fromBackend(ACK);
      f.fromClient(ACK); // a resent ACK from the client after both FINs
      assert.equal(f.flags(), OPEN | F.CLOSING | F.FIN_BACKEND | F.BACKEND_FIRST | F.FIN_CLIENT);
    }));

  test('an RST from either side: RST', () =>
    withDatapath([61000, 61999], (dp) => {
      const a = new Flow(dp, CLIENT, 45000);
      a.fromClient(RST);
      assert.equal(a.flags(), OPEN | F.CLOSING | F.RST);
      const b = new Flow(dp, CLIENT, 45001);
      b.fromBackend(RST | ACK);
      assert.equal(b.flags(), OPEN | F.CLOSING | F.RST);
    }));
});

describe('close tracking: how long a closed flow is still translated', () => {
  test('client first: the backend\'s resent FIN is translated during the 1 s grace, not after', () =>
    withDatapath([61000, 61999], (dp) => {
      const f = new Flow(dp, CLIENT);
      f.closeByClient();
      f.age(0.5);
      const late = f.fromBackend(FIN | ACK);
      assert.equal(late.reason, 'FWD_REPLY');
      assert.equal(decodeFrame(late.data).dst, CLIENT);
      f.age(2);
      assert.equal(f.fromBackend(FIN | ACK).reason, 'PASS_NO_FLOW', 'after the grace the tuple is no longer this flow\'s');
    }));

  test('backend first: translated for the backend\'s 60 s TIME_WAIT, not after', () =>
    withDatapath([61000, 61999], (dp) => {
      const f = new Flow(dp, CLIENT);
      f.closeByBackend();
      f.age(30);
      assert.equal(f.fromBackend(ACK).reason, 'FWD_REPLY');
      f.age(61);
      assert.equal(f.fromBackend(ACK).reason, 'PASS_NO_FLOW');
    }));

  test('half closed by the client: the backend may still send; the flow lives 10 s idle', () =>
    withDatapath([61000, 61999], (dp) => {
      const f = new Flow(dp, CLIENT);
      f.fromClient(FIN | ACK);
      f.age(5);
      assert.equal(f.fromBackend(PSH | ACK).reason, 'FWD_REPLY');
      f.age(11);
      assert.equal(f.fromBackend(PSH | ACK).reason, 'PASS_NO_FLOW');
    }));

  test('a SYN refused by a TIME_WAIT (ACK back, client RST) is resent on the same tuple and continues the flow', () =>
    withDatapath([61000, 61999], (dp) => {
      const spec: Ipv4Spec = { proto: 'tcp', src: CLIENT, dst: NODE, sport: 45000, dport: NODE_PORT, tcpFlags: SYN };
      const first = dp.runOn('xdpExt', ipv4Frame(spec));
      assert.equal(first.reason, 'FWD_SNAT');
      const port = decodeFrame(first.data).sport;
      const ack: Ipv4Spec = { proto: 'tcp', src: BACKEND, dst: NODE, sport: 8080, dport: port, tcpFlags: ACK };
      assert.equal(dp.runOn('xdpExt', ipv4Frame(ack)).reason, 'FWD_REPLY', 'the TIME_WAIT socket\'s ACK reaches the client');
      assert.equal(dp.runOn('xdpExt', ipv4Frame({ ...spec, tcpFlags: RST })).reason, 'FWD_ESTABLISHED', 'its RST ends the TIME_WAIT');
      const fkey: CtKey = { saddr: CLIENT, daddr: NODE, sport: 45000, dport: NODE_PORT, proto: PROTO.TCP, dir: CT_DIR.FORWARD };
      const v = dp.ctEntry(fkey)!;
      dp.putCtEntry(fkey, { ...v, lastSeenNs: v.lastSeenNs - 2n * SEC }); // the SYN is resent 1 s later (a little more here)
      const again = dp.runOn('xdpExt', ipv4Frame(spec));
      assert.equal(again.reason, 'FWD_ESTABLISHED');
      assert.equal(decodeFrame(again.data).sport, port, 'the same SNAT tuple, which the RST cleared');
    }));

  test('a SYN on a closed flow\'s tuple opens a new flow with fresh entries (tcp_tw_reuse)', () =>
    withDatapath([61000, 61999], (dp) => {
      const old = new Flow(dp, CLIENT);
      old.closeByClient();
      const again = new Flow(dp, CLIENT); // same client address and port
      assert.notEqual(again.port, old.port, 'a new SNAT port: the old one is in its grace');
      assert.equal(again.flags(), OPEN);
    }));
});

describe('close tracking: when a SNAT tuple may be taken by a new flow', () => {
  test('one port: after a client-first close, the next flow from another client takes it at once', () =>
    withDatapath([62000, 62000], (dp) => {
      const first = new Flow(dp, CLIENT);
      first.closeByClient();
      const next = new Flow(dp, '198.18.0.1');
      assert.equal(next.port, 62000);
      assert.equal(dp.ctEntry(next.rkey)?.peerAddr, '198.18.0.1', 'the REPLY entry now names the new client');
      assert.equal(next.flags(), OPEN);
    }));

  test('one port: after an RST it is held 3 s for a resent SYN (the next flow dropped), then taken', () =>
    withDatapath([62000, 62000], (dp) => {
      const first = new Flow(dp, CLIENT);
      first.fromBackend(RST);
      const syn: Ipv4Spec = { proto: 'tcp', src: '198.18.0.1', dst: NODE, sport: 45000, dport: NODE_PORT, tcpFlags: SYN };
      assert.equal(dp.runOn('xdpExt', ipv4Frame(syn)).reason, 'DROP_SNAT_PORTS_EXHAUSTED');
      first.age(4);
      assert.equal(new Flow(dp, '198.18.0.1').port, 62000);
    }));

  test('one port: after a backend-first close, no new flow gets it for 10 s (dropped, counted); after that one does', () =>
    withDatapath([62000, 62000], (dp) => {
      const first = new Flow(dp, CLIENT);
      first.closeByBackend();
      const syn: Ipv4Spec = { proto: 'tcp', src: '198.18.0.1', dst: NODE, sport: 45000, dport: NODE_PORT, tcpFlags: SYN };
      assert.equal(dp.runOn('xdpExt', ipv4Frame(syn)).reason, 'DROP_SNAT_PORTS_EXHAUSTED');
      first.age(5);
      assert.equal(dp.runOn('xdpExt', ipv4Frame(syn)).reason, 'DROP_SNAT_PORTS_EXHAUSTED');
      first.age(6);
      assert.equal(new Flow(dp, '198.18.0.1').port, 62000);
    }));

  test('one port: an open or half-closed flow keeps its port; the new flow is dropped', () =>
    withDatapath([62000, 62000], (dp) => {
      const first = new Flow(dp, CLIENT);
      const syn: Ipv4Spec = { proto: 'tcp', src: '198.18.0.1', dst: NODE, sport: 45000, dport: NODE_PORT, tcpFlags: SYN };
      assert.equal(dp.runOn('xdpExt', ipv4Frame(syn)).reason, 'DROP_SNAT_PORTS_EXHAUSTED');
      first.fromClient(FIN | ACK);
      assert.equal(dp.runOn('xdpExt', ipv4Frame(syn)).reason, 'DROP_SNAT_PORTS_EXHAUSTED');
      assert.equal(first.fromBackend(PSH | ACK).reason, 'FWD_REPLY', 'the old flow still works');
    }));

  test('two ports: a tuple past its hold is taken before a closed flow\'s tuple in its grace', () =>
    withDatapath([62000, 62001], (dp) => {
      const inGrace = new Flow(dp, CLIENT, 45000);
      const expired = new Flow(dp, CLIENT, 45001);
      inGrace.closeByClient();
      expired.closeByBackend();
      expired.age(61);
      for (let i = 0; i < 2; i++) {
        // Whichever port the search starts at, the expired tuple is preferred.
        const next = new Flow(dp, `198.18.0.${i + 1}`);
        assert.equal(next.port, expired.port);
        next.closeByBackend();
        next.age(61);
      }
    }));

  test('ports are handed out in turn: each new flow gets the port after the last one taken', () =>
    withDatapath([62000, 62009], (dp) => {
      const ports = Array.from({ length: 25 }, (_, i) => {
        const f = new Flow(dp, `198.18.1.${i + 1}`);
        f.closeByClient();
        f.age(2);
        return f.port;
      });
      for (let i = 1; i < ports.length; i++) assert.equal(ports[i], ((ports[i - 1]! - 62000 + 1) % 10) + 62000);
    }));

  test('the port cursor is pinned: the datapath of a restarted agent goes on where the last one stopped', () =>
    withDatapath([62000, 62009], (dp) => {
      // Five flows come and go (their ports free again), a sixth stays open.
      for (let i = 0; i < 5; i++) {
        const f = new Flow(dp, `198.18.2.${i + 1}`);
        f.closeByClient();
        f.age(2);
      }
      const open = new Flow(dp, '198.18.2.6');
      const again = dp.reopen(); // a new object over the same pins; its programs start afresh
      try {
        const next = new Flow(again, '198.18.2.9');
        assert.equal(next.port, open.port + 1, 'the search goes on after the last port taken, not from the start of the range');
      } finally {
        again.close();
      }
    }));
});
