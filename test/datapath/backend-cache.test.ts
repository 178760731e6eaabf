// The backend cache of conntrack FORWARD entries (bpf/conntrack.h): an established
// packet takes its backend's address from its own conntrack entry instead of the
// backends map, for as long as the backend generation (kpx_backend_gen_v1) it was filled
// under is current and the entry was seen within the last second. The control plane
// bumps the generation after every backend change, which is what keeps C2 (a removed
// backend's flows move at once) true with the cache.
//
// To tell the cache from the map, these tests rewrite a backend in the map *without*
// bumping the generation (something the reconciler never does): the packets then show
// which of the two they were translated from.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CT_DIR, CT_FLAGS, PROTO, encodeBackend, encodeBackendId, type CtKey } from '../../src/datapath/abi.js';
import { bumpGeneration, readGeneration } from '../../src/reconciler/backend-generation.js';
import { withDatapath, type Datapath } from './harness.js';
import { CLIENT, VIP, WEB, toWeb } from './web-service.js';
import { TCP_FLAG, decodeFrame, ipv4Frame } from './packet.js';
import { verifyChecksums } from './checksum-verifier.js';

const FWD_KEY: CtKey = { saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, proto: PROTO.TCP, dir: CT_DIR.FORWARD };

/** Moves backend 1 to addr:port in the map, leaving the generation alone. */
function rewriteBackendSilently(dp: Datapath, addr: string, port: number): void {
  dp.backends.update(encodeBackendId(1), encodeBackend({ addr, port, proto: PROTO.TCP, state: 1, svcId: 1 }));
}

/** Sends one ACK of the flow; returns where it went. */
function sendAck(dp: Datapath): string {
  const r = dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.ACK })));
  assert.equal(r.reason, 'FWD_ESTABLISHED');
  const c = verifyChecksums(r.data);
  assert.equal(c.ip, true);
  assert.equal(c.l4, true);
  const f = decodeFrame(r.data);
  return `${f.dst}:${f.dport}`;
}

describe('conntrack backend cache', () => {
  test('a new flow caches its backend, under the current generation', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      assert.equal(dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN }))).reason, 'FWD_NEW_FLOW');
      const fwd = dp.ctEntry(FWD_KEY)!;
      assert.equal(fwd.flags & CT_FLAGS.BACKEND_CACHED, CT_FLAGS.BACKEND_CACHED);
      assert.deepEqual([fwd.natAddr, fwd.natPort, fwd.backendGen], ['10.244.1.5', 8080, readGeneration(dp.backendGen) & 0xffff]);
    }));

  test('established packets are translated from the cache while the generation holds', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      rewriteBackendSilently(dp, '10.244.7.7', 9090);
      assert.equal(sendAck(dp), '10.244.1.5:8080', 'the backends map was not read');
      assert.equal(sendAck(dp), '10.244.1.5:8080');
    }));

  test('a new generation sends the next packet to the backends map, and refills the cache (C2)', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      rewriteBackendSilently(dp, '10.244.7.7', 9090);
      const gen = bumpGeneration(dp.backendGen);
      assert.equal(sendAck(dp), '10.244.7.7:9090');
      const fwd = dp.ctEntry(FWD_KEY)!;
      assert.deepEqual([fwd.natAddr, fwd.natPort, fwd.backendGen], ['10.244.7.7', 9090, gen & 0xffff]);
      assert.equal(fwd.backendId, 1);
    }));

  test('a new generation that changed nothing for the flow confirms its cache under that generation', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      const gen = bumpGeneration(dp.backendGen);
      assert.equal(sendAck(dp), '10.244.1.5:8080');
      const fwd = dp.ctEntry(FWD_KEY)!;
      assert.deepEqual([fwd.natAddr, fwd.natPort, fwd.backendGen, fwd.flags & CT_FLAGS.BACKEND_CACHED], ['10.244.1.5', 8080, gen & 0xffff, CT_FLAGS.BACKEND_CACHED]);
    }));

  test('a deleted backend moves its flow at the next packet once the generation is bumped (C2)', () =>
    withDatapath((dp) => {
      dp.addService({ ...WEB, backends: [...WEB.backends, { id: 2, addr: '10.244.2.6', port: 8080 }], slots: [1] });
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      dp.setSlots(1, [2]);
      dp.deleteBackend(1); // the harness bumps the generation, as the reconciler does
      const r = dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.ACK })));
      assert.equal(r.reason, 'FWD_RESELECTED');
      assert.equal(decodeFrame(r.data).dst, '10.244.2.6');
      assert.equal(dp.ctEntry(FWD_KEY)!.natAddr, '10.244.2.6');
    }));

  test('a cache not refreshed for over a second is checked against the map, even in the same generation', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      rewriteBackendSilently(dp, '10.244.7.7', 9090);
      const fwd = dp.ctEntry(FWD_KEY)!;
      // Two seconds older: the 16-bit generation could have wrapped meanwhile.
      dp.putCtEntry(FWD_KEY, { ...fwd, lastSeenNs: fwd.lastSeenNs - 2_000_000_000n });
      assert.equal(sendAck(dp), '10.244.7.7:9090');
      const after = dp.ctEntry(FWD_KEY)!;
      assert.ok(after.lastSeenNs >= fwd.lastSeenNs, 'refreshed');
      assert.equal(after.natAddr, '10.244.7.7');
    }));

  test('an entry without the cache (written by an older kpx) is served from the map and gains it', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      const fwd = dp.ctEntry(FWD_KEY)!;
      dp.putCtEntry(FWD_KEY, { ...fwd, natAddr: '0.0.0.0', natPort: 0, backendGen: 0, flags: fwd.flags & ~CT_FLAGS.BACKEND_CACHED });
      assert.equal(sendAck(dp), '10.244.1.5:8080');
      const after = dp.ctEntry(FWD_KEY)!;
      assert.equal(after.flags & CT_FLAGS.BACKEND_CACHED, CT_FLAGS.BACKEND_CACHED);
      assert.deepEqual([after.natAddr, after.natPort], ['10.244.1.5', 8080]);
    }));

  test('reply entries never carry the cache flag', () =>
    withDatapath((dp) => {
      dp.addService(WEB);
      dp.run(ipv4Frame(toWeb({ tcpFlags: TCP_FLAG.SYN })));
      const rep = dp.ctEntry({ saddr: '10.244.1.5', daddr: CLIENT, sport: 8080, dport: 40000, proto: PROTO.TCP, dir: CT_DIR.REPLY })!;
      assert.equal(rep.flags & CT_FLAGS.BACKEND_CACHED, 0);
      assert.deepEqual([rep.natAddr, rep.natPort], [VIP, 80]);
    }));
});
