// Scrape-time datapath metrics against the real object in the real kernel: Services
// programmed by the sync engine and reconciler into maps pinned under
// /sys/fs/bpf/kpxmet-<pid>-*, packets run through kpx_from_pod with BPF_PROG_TEST_RUN,
// then the registry's text must show exactly what was sent — per frontend, per reason —
// and how full each map is. Rule letters: /work/shared/SEMANTICS.md.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAP_NAMES, REASONS, SCOPE, decodeSvcStatsKey, encodeSvcStatsKey, type MapRole } from '../../src/datapath/abi.js';
import { readSvcStats, resetSvcStats, svcStatsMaps } from '../../src/agent/metrics-datapath.js';
import { TCP_FLAG, ipv4Frame, type Ipv4Spec } from '../datapath/packet.js';
import { MetricsFixture, endpointSlice, service } from './fixture.js';
import type { Scrape } from './scrape.js';

const POD = '10.244.0.2';
const WEB_VIP = '10.96.0.10';
const DNS_VIP = '10.96.0.53';
const LOCAL_VIP = '10.96.0.20';
const IDLE_VIP = '10.96.0.30';
const HTTP = [{ name: 'http', port: 80, targetPort: 8080 }];
const DNS = [{ name: 'dns', port: 53, protocol: 'UDP' as const }];

const web = { namespace: 'default', service: 'web', port: 'http', frontend: `${WEB_VIP}:80/TCP` };
const dns = { namespace: 'default', service: 'dns', port: 'dns', frontend: `${DNS_VIP}:53/UDP` };
const local = { namespace: 'default', service: 'local', port: 'http', frontend: `${LOCAL_VIP}:80/TCP` };
const idle = { namespace: 'default', service: 'idle', port: 'http', frontend: `${IDLE_VIP}:80/TCP` };

const toWeb = (over: Partial<Ipv4Spec> = {}): Buffer =>
  ipv4Frame({ proto: 'tcp', src: POD, dst: WEB_VIP, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN, ...over });

describe('per-Service and per-reason metrics from the maps', () => {
  let f: MetricsFixture;
  let s: Scrape;
  const sent = { webPackets: 0, webBytes: 0 };

  before(async () => {
    f = MetricsFixture.load();
    const sink = f.changes;
    sink.service(undefined, service('web', WEB_VIP, HTTP));
    sink.endpointSlice(undefined, endpointSlice('web', ['10.244.1.5', '10.244.1.6'], HTTP));
    sink.service(undefined, service('dns', DNS_VIP, DNS)); // no endpoints: rejects (N1)
    const loc = service('local', LOCAL_VIP, HTTP);
    loc.spec!.internalTrafficPolicy = 'Local';
    sink.service(undefined, loc);
    sink.endpointSlice(undefined, endpointSlice('local', ['10.244.0.7'], HTTP));
    sink.service(undefined, service('idle', IDLE_VIP, HTTP));
    sink.endpointSlice(undefined, endpointSlice('idle', ['10.244.1.9'], HTTP));
    sink.synced();
    f.sync(true);

    const frames: Buffer[] = [];
    for (let i = 0; i < 3; i++) frames.push(toWeb({ sport: 40000 + i })); // 3 new flows
    frames.push(toWeb({ tcpFlags: TCP_FLAG.ACK, payload: Buffer.alloc(100, 1) })); // established
    frames.push(toWeb({ tcpFlags: TCP_FLAG.ACK, payload: Buffer.alloc(1000, 2) }));
    for (const fr of frames) {
      f.run(fr);
      sent.webPackets++;
      sent.webBytes += fr.length;
    }
    // A reply of the first flow, whichever backend it went to: not counted per Service.
    const be = f.dp.maps.conntrack.entries().length; // 2 entries per flow
    assert.equal(be, 6);
    for (const addr of ['10.244.1.5', '10.244.1.6']) {
      f.run(ipv4Frame({ proto: 'tcp', src: addr, dst: POD, sport: 8080, dport: 40000, tcpFlags: TCP_FLAG.ACK }));
    }
    f.run(ipv4Frame({ proto: 'udp', src: POD, dst: DNS_VIP, sport: 41000, dport: 53 }));
    f.run(ipv4Frame({ proto: 'udp', src: POD, dst: DNS_VIP, sport: 41001, dport: 53 }));
    f.run(ipv4Frame({ proto: 'tcp', src: POD, dst: LOCAL_VIP, sport: 42000, dport: 80, tcpFlags: TCP_FLAG.SYN }));
    f.run(ipv4Frame({ proto: 'tcp', src: POD, dst: '10.244.9.9', sport: 43000, dport: 80 })); // no service's
    s = await f.scrape();
  });

  after(() => f?.close());

  test('forwarded packets, their bytes and new connections of a ClusterIP frontend (P1, A2)', () => {
    assert.equal(s.value('kpx_service_packets_total', web), sent.webPackets);
    assert.equal(s.value('kpx_service_bytes_total', web), sent.webBytes);
    assert.equal(s.value('kpx_service_new_connections_total', web), 3);
    assert.equal(s.value('kpx_service_drops_total', web), 0);
  });

  test('rejected packets of a Service without endpoints are its drops (N1)', () => {
    assert.equal(s.value('kpx_service_drops_total', dns), 2);
    assert.equal(s.value('kpx_service_packets_total', dns), 0);
    assert.equal(s.value('kpx_service_new_connections_total', dns), 0);
  });

  test('one series per frontend: the iTP Local entry\'s traffic is the frontend\'s (T3)', () => {
    const internal = [...f.engine.desiredState().values()].find((fe) => fe.owner === 'default/local:http' && fe.key.scope === SCOPE.INTERNAL);
    assert.ok(internal, 'the Service has an INTERNAL entry');
    const external = f.frontend('default/local:http');
    const raw = readSvcStats(svcStatsMaps(f.dp.maps), [internal.svcId, external.svcId]);
    assert.deepEqual([...raw.keys()], [internal.svcId], 'the datapath counted it under the INTERNAL id');
    assert.equal(s.find('kpx_service_new_connections_total', { frontend: local.frontend }).length, 1);
    assert.equal(s.value('kpx_service_new_connections_total', local), 1);
  });

  test('a frontend that has seen no packet has no series yet', () => {
    assert.equal(s.find('kpx_service_packets_total', { service: idle.service }).length, 0);
  });

  test('datapath counters by reason moved by exactly what was sent', () => {
    const want: Partial<Record<(typeof REASONS)[number], number>> = {
      FWD_NEW_FLOW: 4,
      FWD_ESTABLISHED: 2,
      FWD_REPLY: 1,
      PASS_NO_FLOW: 2, // the reply to the backend that did not serve flow 1, and the pod-to-pod packet
      REJECT_UDP: 2,
    };
    for (const reason of REASONS) assert.equal(s.value('kpx_datapath_packets_total', { reason }), want[reason] ?? 0, reason);
    assert.ok(s.value('kpx_datapath_bytes_total', { reason: 'FWD_ESTABLISHED' })! > 1100);
    assert.equal(s.meta('kpx_datapath_packets_total').type, 'counter');
    assert.equal(s.meta('kpx_service_packets_total').type, 'counter');
  });

  test('map fill: entries of every map as the maps hold them, capacities as created', () => {
    const fronts = [...f.engine.desiredState().values()];
    const slots = fronts.reduce((n, fe) => n + 1 + fe.slots.length, 0);
    const backends = fronts.reduce((n, fe) => n + fe.backends.size, 0);
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.services }), slots);
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.backends }), backends);
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.conntrack }), 8); // 4 flows, 2 entries each
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.svcStats }), 0, 'small ids live in the array');
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.svcStatsDense }), f.dp.maps.svcStatsDense.maxEntries);
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.affinity }), 0);
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.sockRev }), 0);
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.srcRanges }), 0);
    assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.config }), 1);
    for (const role of Object.keys(MAP_NAMES) as MapRole[]) {
      assert.equal(s.value('kpx_map_capacity', { map: MAP_NAMES[role] }), f.dp.maps[role].maxEntries, role);
    }
    assert.equal(s.meta('kpx_map_entries').type, 'gauge');
  });

  test('a deleted Service\'s series go, and so does its statistics entry (C4)', async () => {
    const webId = f.frontend('default/web:http').svcId;
    f.changes.endpointSlice(endpointSlice('web', ['10.244.1.5', '10.244.1.6'], HTTP), undefined);
    f.changes.service(service('web', WEB_VIP, HTTP), undefined);
    f.sync();
    const after = await f.scrape();
    assert.equal(after.find('kpx_service_packets_total', { service: 'web' }).length, 0);
    assert.equal(after.value('kpx_service_drops_total', dns), 2, 'others untouched');
    assert.equal(readSvcStats(svcStatsMaps(f.dp.maps), [webId]).size, 0, 'its array slot zeroed');
  });
});

describe('frontend ids past the statistics array (the LRU hash)', () => {
  test('are counted and named the same way; a deleted one\'s entry is deleted (C4)', async () => {
    const f = MetricsFixture.load(Date.now, { svcStatsDense: 1 }); // every id (>= 1) uses the hash
    try {
      f.changes.service(undefined, service('web', WEB_VIP, HTTP));
      f.changes.endpointSlice(undefined, endpointSlice('web', ['10.244.1.5'], HTTP));
      f.changes.service(undefined, service('dns', DNS_VIP, DNS));
      f.changes.synced();
      f.sync(true);
      const ids = [f.frontend('default/web:http').svcId, f.frontend('default/dns:dns').svcId];
      const a = toWeb();
      const b = toWeb({ tcpFlags: TCP_FLAG.ACK });
      f.run(a);
      f.run(b);
      f.run(ipv4Frame({ proto: 'udp', src: POD, dst: DNS_VIP, sport: 41000, dport: 53 }));
      const s = await f.scrape();
      assert.equal(s.value('kpx_service_packets_total', web), 2);
      assert.equal(s.value('kpx_service_bytes_total', web), a.length + b.length);
      assert.equal(s.value('kpx_service_new_connections_total', web), 1);
      assert.equal(s.value('kpx_service_drops_total', dns), 1);
      assert.equal(s.value('kpx_map_entries', { map: MAP_NAMES.svcStats }), 2);

      f.changes.service(service('dns', DNS_VIP, DNS), undefined);
      f.sync();
      const after = await f.scrape();
      assert.equal(after.find('kpx_service_drops_total', { service: 'dns' }).length, 0);
      assert.deepEqual(f.dp.maps.svcStats.keys().map(decodeSvcStatsKey), [ids[0]], 'only web\'s entry is left');
      assert.equal(after.value('kpx_service_packets_total', web), 2);
    } finally {
      f.close();
    }
  });
});

test('at start, statistics of ids no frontend in the maps owns are forgotten (a restart over old pins)', () => {
  const f = MetricsFixture.load();
  try {
    const m = svcStatsMaps(f.dp.maps);
    // One CPU's slot of three ids' statistics, as a previous run's packets left them.
    const one = Buffer.alloc(m.dense.valueBufferSize);
    one.writeBigUInt64LE(7n, 0);
    for (const id of [1, 5]) m.dense.update(encodeSvcStatsKey(id), one);
    m.hash.update(encodeSvcStatsKey(70_000), Buffer.alloc(m.hash.valueBufferSize, 1));
    resetSvcStats(m, new Set([1]));
    assert.deepEqual([...readSvcStats(m, [1, 5, 70_000]).keys()], [1], 'only the live id keeps its counts');
    assert.equal(readSvcStats(m, [1]).get(1)?.packets, 7n);
    assert.equal(m.hash.keys().length, 0);
  } finally {
    f.close();
  }
});
