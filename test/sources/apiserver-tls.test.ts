// The API-server source over HTTPS, as against a real cluster: the kubeconfig names the
// server's certificate authority, and the agent's own list requests (raw-list.ts) and
// client-node's watch both verify the server with it. A certificate the kubeconfig does
// not trust is refused, and the source keeps retrying instead of syncing.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiServerSource } from '../../src/sources/apiserver.js';
import { selfSignedCert } from '../apiserver/self-signed.js';
import { TestApiServer } from '../apiserver/server.js';
import { writeKubeconfig } from '../apiserver/kubeconfig.js';
import { CaptureLogger } from './capture-logger.js';
import { RecordingSink } from './recording-sink.js';
import { waitFor } from './wait.js';

function service(i: number, port = 80): object {
  const ip = `10.96.0.${10 + i}`;
  return { kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ port, protocol: 'TCP', targetPort: 8080 }] } };
}

async function tlsServer(t: TestContext): Promise<{ server: TestApiServer; dir: string }> {
  const server = await TestApiServer.start({ tls: selfSignedCert() });
  const dir = await mkdtemp(join(tmpdir(), 'kpx-tls-src-'));
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { server, dir };
}

test('over HTTPS with the kubeconfig\'s CA: paged lists and the watch both verify the server', async (t) => {
  const { server, dir } = await tlsServer(t);
  assert.match(server.url, /^https:/);
  for (let i = 0; i < 5; i++) server.create(service(i));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(await server.writeKubeconfig(dir));
  const sink = new RecordingSink();
  const source = new ApiServerSource({ kubeConfig, nodeName: 'node-a', listPageSize: 2, watchTimeoutSeconds: 60 });
  t.after(() => source.stop());
  await source.start(sink);
  await waitFor(() => sink.syncedCount === 1, 'synced');
  assert.equal(sink.services.size, 5);
  assert.equal(server.requestsTo('/api/v1/services', false).length, 3, '5 objects in pages of 2');

  const before = server.get('Service', 'default', 'svc-0')!;
  server.update({ ...before, spec: (service(0, 81) as { spec: object }).spec });
  await waitFor(() => sink.services.get('default/svc-0')?.spec?.ports?.[0]?.port === 81, 'update over the HTTPS watch');
  assert.deepEqual(sink.violations, []);
});

test('a server certificate the kubeconfig does not trust is refused; the source retries and never syncs', async (t) => {
  const { server, dir } = await tlsServer(t);
  server.create(service(0));
  // A kubeconfig naming some other certificate authority.
  const other = selfSignedCert();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(await writeKubeconfig(dir, server.url, 'kpx-test-token', other.cert));
  const logger = new CaptureLogger();
  const sink = new RecordingSink();
  const source = new ApiServerSource({ kubeConfig, nodeName: 'node-a', logger, backoff: { initialMs: 50, maxMs: 200 }, watchTimeoutSeconds: 60 });
  t.after(() => source.stop());
  await source.start(sink);
  await waitFor(() => logger.records.filter((r) => r.level === 'warn').length >= 3, 'retries');
  const warning = logger.records.find((r) => r.level === 'warn');
  assert.match(String(warning?.fields['error']), /certificate|self.signed|verify/i);
  assert.equal(sink.syncedCount, 0);
  assert.equal(sink.services.size, 0);
  assert.equal(server.requestsTo('/api/v1/services', false).length, 0, 'no request got through');
});
