// Real traffic driven from the API server: objects created through the test API server
// (list/watch over real HTTP, inside the node namespace) reach the agent's informers and
// the datapath; a client pod's connections follow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, service, slice, tally, TestCluster } from './harness.js';

const BACKENDS = ['api-0', 'api-1', 'api-2'];
let c: TestCluster;

before(async () => {
  c = await TestCluster.start({
    prefix: 'kpxt-api-',
    source: 'apiserver',
    pods: BACKENDS.map((name) => ({ name, tcpPorts: [8000, 8001], udpPorts: [8000] })),
  });
  c.api!.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1', labels: {} }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.1' }] } });
  await c.waitForLog(/"msg":"ready"/, 30_000);
});

after(async () => {
  await c?.stop();
});

function eps(names: string[]) {
  return names.map((n) => ({ name: n, ip: c.pod(n).ip }));
}

test('a Service created in the API server carries traffic shortly after (informer → maps)', async (t) => {
  const vip = '10.97.1.10';
  const p = c.probe();
  const t0 = Date.now();
  c.api!.create(service('first', vip, [{ name: 'http', port: 80, targetPort: 8000 }]));
  c.api!.create(slice('first', eps(BACKENDS), [{ name: 'http', port: 8000 }]));
  await eventually(async () => (await p.http(vip, 80, 1)).ok, 5000, 'first Service reachable');
  t.diagnostic(`reachable ${Date.now() - t0} ms after create (includes probe retries every 100 ms)`);
  const res = await p.http(vip, 80, 30);
  assert.deepEqual([...tally(res.answers).keys()].sort(), BACKENDS);
});

test('ClientIP affinity pins a client over 20 connections and spreads again when switched off (A1, A2)', async () => {
  const vip = '10.97.1.11';
  const p = c.probe();
  const svc = service('sticky', vip, [{ name: 'http', port: 80, targetPort: 8000 }], {
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
  });
  c.api!.create(svc);
  c.api!.create(slice('sticky', eps(BACKENDS), [{ name: 'http', port: 8000 }]));
  await eventually(async () => (await p.http(vip, 80, 1)).ok, 5000, 'sticky reachable');
  const pinned = await p.http(vip, 80, 20);
  assert.ok(pinned.ok, pinned.error);
  assert.equal(tally(pinned.answers).size, 1, 'every connection to the same backend');

  const off = service('sticky', vip, [{ name: 'http', port: 80, targetPort: 8000 }]);
  c.api!.update(off);
  await eventually(async () => {
    const r = await p.http(vip, 80, 30);
    return r.ok && tally(r.answers).size > 1;
  }, 5000, 'spread after affinity off');
});

test('multi-port and the same port on TCP and UDP route to the right backends and target ports (P1, P3)', async () => {
  const vip = '10.97.1.12';
  const p = c.probe();
  c.api!.create(
    service('multi', vip, [
      { name: 'web', port: 80, targetPort: 'web' },
      { name: 'admin', port: 81, targetPort: 8001 },
      { name: 'dns-tcp', port: 53, targetPort: 8000, protocol: 'TCP' },
      { name: 'dns-udp', port: 53, targetPort: 8000, protocol: 'UDP' },
    ]),
  );
  // api-0 alone serves admin: a second slice with only that port.
  c.api!.create(slice('multi', eps(BACKENDS), [{ name: 'web', port: 8000 }, { name: 'dns-tcp', port: 8000 }, { name: 'dns-udp', port: 8000, protocol: 'UDP' }], 'multi-a'));
  c.api!.create(slice('multi', eps(['api-0']), [{ name: 'admin', port: 8001 }], 'multi-b'));
  await eventually(async () => (await p.http(vip, 81, 1)).ok, 5000, 'multi reachable');

  const web = await p.http(vip, 80, 20);
  assert.ok(web.ok, web.error);
  assert.ok(web.answers.every((a) => a.port === 8000));
  assert.ok(tally(web.answers).size > 1);
  const admin = await p.http(vip, 81, 10);
  assert.ok(admin.ok, admin.error);
  assert.deepEqual([...tally(admin.answers).keys()], ['api-0']);
  assert.ok(admin.answers.every((a) => a.port === 8001));
  const dnsTcp = await p.http(vip, 53, 5);
  assert.ok(dnsTcp.ok && dnsTcp.answers.every((a) => a.proto === 'tcp' && a.port === 8000));
  const dnsUdp = await p.udp(vip, 53, 5);
  assert.ok(dnsUdp.ok && dnsUdp.answers.every((a) => a.proto === 'udp' && a.port === 8000));
});

test('API server down: traffic keeps flowing; back up: changes flow again', async () => {
  const vip = '10.97.1.13';
  const p = c.probe();
  c.api!.create(service('steady', vip, [{ name: 'http', port: 80, targetPort: 8000 }]));
  c.api!.create(slice('steady', eps(BACKENDS), [{ name: 'http', port: 8000 }]));
  await eventually(async () => (await p.http(vip, 80, 1)).ok, 5000, 'steady reachable');

  await c.api!.stop();
  for (let i = 0; i < 5; i++) {
    const r = await p.http(vip, 80, 5);
    assert.ok(r.ok, `request while API server down: ${r.error}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await c.restartApi();
  c.api!.update(slice('steady', eps(['api-1']), [{ name: 'http', port: 8000 }]));
  await eventually(async () => {
    const r = await p.http(vip, 80, 10);
    return r.ok && tally(r.answers).size === 1 && r.answers[0]!.pod === 'api-1';
  }, 40_000, 'change after API server returned');
});
