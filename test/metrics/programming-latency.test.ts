// kubeproxy_network_programming_duration_seconds and the change counters, through the
// real path: objects into ChangeMetrics -> change tracker -> sync engine -> reconciler ->
// maps (pinned under /sys/fs/bpf/kpxmet-<pid>-*). ChangeMetrics' clock is a variable, so
// each latency is an exact number; the trigger times are the
// endpoints.kubernetes.io/last-change-trigger-time annotation the EndpointSlice
// controller writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { MetricsFixture, endpointSlice, service } from './fixture.js';
import type { Scrape } from './scrape.js';

const T0 = Date.parse('2025-01-01T00:00:00Z'); // the agent starts
const HTTP = [{ name: 'http', port: 80, targetPort: 8080 }];
const H = 'kubeproxy_network_programming_duration_seconds';
const at = (ms: number) => new Date(T0 + ms);

function withFixture(fn: (f: MetricsFixture, clock: { now: number }) => Promise<void>): () => Promise<void> {
  return async () => {
    const clock = { now: T0 };
    const f = MetricsFixture.load(() => clock.now);
    try {
      await fn(f, clock);
    } finally {
      f.close();
    }
  };
}

function latency(s: Scrape): { count: number; sum: number } {
  return { count: s.value(`${H}_count`) ?? NaN, sum: Math.round((s.value(`${H}_sum`) ?? NaN) * 1000) / 1000 };
}

test(
  'a slice change is observed once, from its trigger time to the end of the sync that programmed it',
  withFixture(async (f, clock) => {
    f.changes.service(undefined, service('web', '10.96.0.10', HTTP));
    const v1 = endpointSlice('web', ['10.244.1.5'], HTTP, at(1000));
    f.changes.endpointSlice(undefined, v1);
    f.changes.synced();
    clock.now = T0 + 1500;
    f.sync(true);
    assert.deepEqual(latency(await f.scrape()), { count: 1, sum: 0.5 });
    assert.equal((await f.scrape()).value(`${H}_bucket`, { le: '0.5' }), 1);
    assert.equal((await f.scrape()).value(`${H}_bucket`, { le: '0.25' }), 0);

    clock.now = T0 + 9000;
    f.sync(true); // nothing new: nothing observed
    assert.deepEqual(latency(await f.scrape()), { count: 1, sum: 0.5 });

    // The controller adds an endpoint: a new trigger time.
    const v2 = endpointSlice('web', ['10.244.1.5', '10.244.1.6'], HTTP, at(10_000));
    f.changes.endpointSlice(v1, v2);
    clock.now = T0 + 10_250;
    f.sync();
    assert.deepEqual(latency(await f.scrape()), { count: 2, sum: 0.75 });
    assert.equal(f.frontend('default/web:http').slots.length, 2, 'the change was programmed');
  }),
);

test(
  'no observation for trigger times older than the agent, repeated times, or objects that did not change',
  withFixture(async (f, clock) => {
    f.changes.service(undefined, service('web', '10.96.0.10', HTTP));
    const old = endpointSlice('web', ['10.244.1.5'], HTTP, at(-60_000)); // from before the start
    f.changes.endpointSlice(undefined, old);
    f.changes.synced();
    clock.now = T0 + 100;
    f.sync(true);
    assert.equal(latency(await f.scrape()).count, 0);

    // The same slice delivered again (a resync), and one whose annotation changed but
    // whose content did not: neither is a change to program.
    f.changes.endpointSlice(old, old);
    const sameContent = endpointSlice('web', ['10.244.1.5'], HTTP, at(5000));
    f.changes.endpointSlice(old, sameContent);
    const sameTime: V1EndpointSlice = endpointSlice('web', ['10.244.1.7'], HTTP, at(5000));
    f.changes.endpointSlice(sameContent, sameTime);
    assert.deepEqual(f.changes.pendingServices(), []);
    clock.now = T0 + 6000;
    f.sync();
    assert.equal(latency(await f.scrape()).count, 0);
  }),
);

test(
  'a sync that cannot run yet keeps the trigger times for the first one that does',
  withFixture(async (f, clock) => {
    f.changes.service(undefined, service('web', '10.96.0.10', HTTP));
    f.changes.endpointSlice(undefined, endpointSlice('web', ['10.244.1.5'], HTTP, at(1000)));
    clock.now = T0 + 2000;
    assert.throws(() => f.sync(true), /sources not synced/);
    assert.deepEqual(f.changes.pendingServices(), ['default/web']);
    f.changes.synced();
    clock.now = T0 + 3000;
    f.sync(true);
    assert.deepEqual(latency(await f.scrape()), { count: 1, sum: 2 });
  }),
);

test(
  'a deleted slice drops its Service\'s pending trigger times (its annotation dates from its last update)',
  withFixture(async (f, clock) => {
    f.changes.service(undefined, service('web', '10.96.0.10', HTTP));
    f.changes.synced();
    f.sync(true);
    const s1 = endpointSlice('web', ['10.244.1.5'], HTTP, at(1000));
    f.changes.endpointSlice(undefined, s1);
    f.changes.endpointSlice(s1, undefined);
    clock.now = T0 + 2000;
    f.sync();
    assert.equal(latency(await f.scrape()).count, 0);
  }),
);

test(
  'a Service carrying the annotation is measured too; two slices of one Service give two observations',
  withFixture(async (f, clock) => {
    f.changes.synced();
    f.sync(true);
    f.changes.service(undefined, service('web', '10.96.0.10', HTTP, { 'endpoints.kubernetes.io/last-change-trigger-time': at(100).toISOString() }));
    f.changes.endpointSlice(undefined, endpointSlice('web', ['10.244.1.5'], HTTP, at(200), 'web-a'));
    f.changes.endpointSlice(undefined, endpointSlice('web', ['10.244.1.6'], HTTP, at(300), 'web-b'));
    clock.now = T0 + 1000;
    f.sync();
    assert.deepEqual(latency(await f.scrape()), { count: 3, sum: 2.4 }); // 0.9 + 0.8 + 0.7 s
  }),
);

test(
  'change counters count every Service and EndpointSlice event of the proxied family, as kube-proxy does',
  withFixture(async (f) => {
    const svc = service('web', '10.96.0.10', HTTP);
    f.changes.service(undefined, svc);
    f.changes.service(svc, svc); // a resync: counted like kube-proxy counts it
    const a = endpointSlice('web', ['10.244.1.5'], HTTP);
    f.changes.endpointSlice(undefined, a);
    f.changes.endpointSlice(a, undefined);
    const v6: V1EndpointSlice = { ...endpointSlice('web', [], HTTP, undefined, 'web-v6'), addressType: 'IPv6' };
    f.changes.endpointSlice(undefined, v6); // not this proxy's family (S3)
    const s = await f.scrape();
    assert.equal(s.value('kubeproxy_sync_proxy_rules_service_changes_total'), 2);
    assert.equal(s.value('kubeproxy_sync_proxy_rules_endpoint_changes_total'), 2);
  }),
);
