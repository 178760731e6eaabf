// kpx trace over live state programmed by the real Reconciler: the explanation names the
// frontend (with its owner) and a backend, decodes the rewritten packet, and the live
// maps are byte-for-byte the same afterwards — conntrack included, even for a packet of
// an established flow, which the datapath would otherwise refresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CT_DIR, CT_FLAGS, PROTO, encodeCtKey, encodeCtValue } from '../../src/datapath/abi.js';
import { runTrace, type TraceResult } from '../../src/trace/trace.js';
import { HDLS, dumpPinnedMaps, newPinDir, programLive, removePins, runKpx, tracePinRoots } from '../inspect/fixture.js';

const ACTIVE_BACKENDS = ['10.244.1.11:8000', '10.244.1.12:8000', '10.244.1.13:8000'];

test('trace pod -> ClusterIP: names frontend, owner and a backend; the live maps do not change', (t) => {
  const pin = newPinDir('trace');
  t.after(() => removePins(pin));
  programLive(pin, [HDLS]).close();
  const before = dumpPinnedMaps(pin);
  const pinsBefore = tracePinRoots();

  const r = runTrace({ src: '10.244.1.20', sport: 40000, dst: '10.96.0.10', dport: 8080, proto: 'TCP', from: 'pod', pinDir: pin });
  assert.equal(r.reason, 'FWD_NEW_FLOW');
  assert.deepEqual(r.reasons, ['FWD_NEW_FLOW'], 'exactly one counter moved');
  assert.equal(r.tracked, 'new');
  assert.deepEqual(r.input.tcpFlags, ['SYN']);
  assert.equal(r.verdict.name, 'TC_ACT_OK');
  assert.deepEqual(r.frontend && [r.frontend.addr, r.frontend.port, r.frontend.proto, r.frontend.svcId, r.frontend.owner], ['10.96.0.10', 8080, 'TCP', 7, 'default/hdls:http']);
  assert.ok(r.backend, 'a backend was chosen');
  assert.ok(ACTIVE_BACKENDS.includes(`${r.backend.addr}:${r.backend.port}`), `an ACTIVE backend, not the terminating one (C3): ${r.backend.addr}`);
  // The output packet is the input with its destination translated to that backend.
  assert.equal(r.rewritten, true);
  assert.deepEqual(r.output && [r.output.src, r.output.sport, r.output.dst, r.output.dport, r.output.proto], ['10.244.1.20', 40000, r.backend.addr, r.backend.port, 'TCP']);

  assert.deepEqual(dumpPinnedMaps(pin), before, 'live maps unchanged (conntrack holds no new flow, counters did not move)');
  assert.deepEqual(tracePinRoots(), pinsBefore, 'the private copy left no pins');
});

test('trace of an established flow (C1) reports its backend and leaves the live conntrack entry untouched', (t) => {
  const pin = newPinDir('trace-est');
  t.after(() => removePins(pin));
  const dp = programLive(pin, [HDLS]);
  const seen = process.hrtime.bigint() - 30_000_000_000n; // 30 s ago: a real packet would refresh it
  try {
    dp.maps.conntrack.update(
      encodeCtKey({ saddr: '10.244.1.20', daddr: '10.96.0.10', sport: 41000, dport: 8080, proto: PROTO.TCP, dir: CT_DIR.FORWARD }),
      encodeCtValue({ lastSeenNs: seen, natAddr: '0.0.0.0', natPort: 0, flags: CT_FLAGS.SEEN_REPLY, backendId: 3, svcId: 7, peerAddr: '0.0.0.0', peerPort: 0 }),
    );
  } finally {
    dp.close();
  }
  const before = dumpPinnedMaps(pin);
  const r = runTrace({ src: '10.244.1.20', sport: 41000, dst: '10.96.0.10', dport: 8080, proto: 'TCP', from: 'pod', pinDir: pin });
  assert.equal(r.tracked, 'forward');
  assert.deepEqual(r.input.tcpFlags, ['ACK']);
  assert.equal(r.reason, 'FWD_ESTABLISHED');
  assert.deepEqual(r.backend && [r.backend.id, r.backend.addr], [3, '10.244.1.13']);
  assert.equal(r.output?.dst, '10.244.1.13');
  assert.deepEqual(dumpPinnedMaps(pin), before, 'last_seen of the live entry not refreshed');
});

test('trace to an address that is no frontend: passed untouched, no frontend named', (t) => {
  const pin = newPinDir('trace-miss');
  t.after(() => removePins(pin));
  programLive(pin, [HDLS]).close();
  const r = runTrace({ src: '10.244.1.20', sport: 40000, dst: '10.96.0.10', dport: 8080, proto: 'UDP', from: 'pod', pinDir: pin });
  assert.equal(r.frontend, null, 'P1: TCP frontend does not take UDP');
  assert.equal(r.reason, 'PASS_NO_FLOW');
  assert.equal(r.verdict.name, 'TC_ACT_OK');
  assert.equal(r.rewritten, false);
});

test('kpx trace (the command): text explanation and -o json, external traffic through the XDP program', (t) => {
  const pin = newPinDir('trace-cli');
  t.after(() => removePins(pin));
  programLive(pin, [HDLS]).close();
  const before = dumpPinnedMaps(pin);

  const text = runKpx(['trace', '10.244.1.20:40000', '10.96.0.10:8080/tcp', '--bpffs-dir', pin]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^trace 10\.244\.1\.20:40000 -> 10\.96\.0\.10:8080\/TCP, as a pod sends it \(program kpx_from_pod\)$/m);
  assert.match(text.stdout, /^ {2}frontend {2}10\.96\.0\.10:8080\/TCP EXTERNAL id=7 flags=CLUSTER_IP {2}default\/hdls:http$/m);
  assert.match(text.stdout, /^ {2}decision {2}FWD_NEW_FLOW: /m);
  assert.match(text.stdout, /^ {2}backend {3}id [123] 10\.244\.1\.1[123]:8000\/TCP ACTIVE/m);
  assert.match(text.stdout, /^ {2}output {4}10\.244\.1\.20:40000 -> 10\.244\.1\.1[123]:8000\/TCP SYN$/m);

  const ext = runKpx(['trace', '198.51.100.7:5000', '192.0.2.1:22/TCP', '--from', 'external', '--bpffs-dir', pin, '-o', 'json']);
  assert.equal(ext.status, 0, ext.stderr);
  const r = JSON.parse(ext.stdout) as TraceResult;
  assert.equal(r.input.program, 'kpx_xdp_ext');
  assert.equal(r.frontend, null);
  assert.match(r.reason, /^PASS_/);
  assert.equal(r.verdict.name, 'XDP_PASS');

  const bad = runKpx(['trace', '10.244.1.20', 'nonsense', '--bpffs-dir', pin]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /DST: want ADDRESS:PORT\/TCP or \/UDP/);
  assert.deepEqual(dumpPinnedMaps(pin), before);
});
