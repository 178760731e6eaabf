// kpx inspect diff: the desired state computed from a manifest directory (the agent's own
// source, model and encoder, ids adopted from the maps) against the real pinned maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigFromFlags } from '../../src/agent/agent.js';
import type { EncodedFrontend } from '../../src/encoder/types.js';
import { desiredWithAdoptedIds, readSource } from '../../src/inspect/desired-from-source.js';
import { withPinnedMaps } from '../../src/inspect/pinned-maps.js';
import { readProgrammed } from '../../src/reconciler/read-programmed.js';
import { TestApiServer } from '../apiserver/server.js';
import { frontend, newPinDir, programLive, removePins, runKpx, runKpxAsync } from './fixture.js';

const MANIFESTS = `apiVersion: v1
kind: Node
metadata: {name: node-a}
status:
  addresses: [{type: InternalIP, address: 192.168.1.10}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.5.1
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-aaaaa
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.244.1.1]
- addresses: [10.244.2.1]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec:
  clusterIP: 10.96.5.2
  ports: [{name: grpc, port: 9000, targetPort: 9000}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-aaaaa
  namespace: default
  labels: {kubernetes.io/service-name: api}
addressType: IPv4
ports: [{name: grpc, port: 9000, protocol: TCP}]
endpoints:
- addresses: [10.244.1.7]
`;

test('inspect diff reports a frontend the maps lack, then nothing once it is programmed, then drift the maps hold', async (t) => {
  const pin = newPinDir('diff');
  const dir = mkdtempSync(join(tmpdir(), 'kpxops-diff-'));
  t.after(() => {
    removePins(pin);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'services.yaml'), MANIFESTS);
  const flags = ['--manifests', dir, '--node-name', 'node-a', '--bpffs-dir', pin];

  // What the agent would program, through the same source/model/encoder path.
  const cfg = agentConfigFromFlags(flags);
  const src = await readSource(cfg);
  const desired = desiredWithAdoptedIds(src.snapshot, cfg, new Map()).state;
  assert.equal(desired.size, 2);
  const web = [...desired.values()].find((f) => f.key.addr === '10.96.5.1')!;

  // Program only web: api is missing from the maps.
  programLive(pin, [web]).close();
  let r = runKpx(['inspect', 'diff', ...flags]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^@@ 10\.96\.5\.2:9000\/TCP EXTERNAL {2}default\/api:grpc$/m);
  assert.match(r.stdout, /^\+svc 10\.96\.5\.2:9000\/TCP EXTERNAL slot=0 id=\d+ count=1 flags=CLUSTER_IP affinity=0s$/m);
  assert.match(r.stdout, /^\+backend \d+ 10\.244\.1\.7:9000\/TCP ACTIVE svc=\d+$/m);
  assert.doesNotMatch(r.stdout, /10\.96\.5\.1/, 'the programmed frontend is not a difference');
  assert.doesNotMatch(r.stdout, /^-(?!--)/m, 'nothing is only in the maps');

  const j = runKpx(['inspect', 'diff', ...flags, '-o', 'json']);
  assert.equal(j.status, 1, j.stderr);
  const d = JSON.parse(j.stdout) as { equal: boolean; frontends: Array<{ frontend: string; owner: string; onlyInMaps: string[]; onlyInDesired: string[] }> };
  assert.equal(d.equal, false);
  assert.deepEqual(d.frontends.map((f) => [f.frontend, f.owner, f.onlyInMaps.length, f.onlyInDesired.length]), [['10.96.5.2:9000/TCP EXTERNAL', 'default/api:grpc', 0, 3]]);

  // Program everything: no differences, exit 0. (Ids of web are adopted, so encoding the
  // same state again gives the same bytes.)
  const dp = programLive(pin, [...desiredWithAdoptedIds(src.snapshot, cfg, readProgrammedAt(pin)).state.values()]);
  dp.close();
  r = runKpx(['inspect', 'diff', ...flags]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /no differences/);

  // Drift: a frontend in the maps that no manifest asks for.
  programLive(pin, [
    ...readProgrammedAt(pin).values(),
    frontend({ owner: 'x/stale:http', svcId: 900, addr: '10.96.5.99', port: 80, backends: [[900, '10.244.9.9', 80]] }),
  ]).close();
  r = runKpx(['inspect', 'diff', ...flags]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^-svc 10\.96\.5\.99:80\/TCP EXTERNAL slot=0 id=900 count=1/m);
  assert.match(r.stdout, /^-backend 900 10\.244\.9\.9:80\/TCP ACTIVE svc=900$/m);
  assert.doesNotMatch(r.stdout, /^\+(?!\+\+)/m);
});

/** What the pinned maps of `pin` hold, as the agent adopts it. */
function readProgrammedAt(pin: string): Map<string, EncodedFrontend> {
  return withPinnedMaps(pin, (m) => readProgrammed(m.get('services'), m.get('backends'), m.get('srcRanges')).frontends);
}

test('inspect diff --kubeconfig: the API server as source, trial mode (S2) narrowing to labelled Services', async (t) => {
  const server = await TestApiServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'kpxops-diffapi-'));
  const pin = newPinDir('diffapi');
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    removePins(pin);
  });
  const svc = (name: string, ip: string, labels: Record<string, string> = {}) => ({
    kind: 'Service',
    metadata: { name, namespace: 'default', labels },
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  });
  const slice = (name: string, service: string, ip: string, labels: Record<string, string> = {}) => ({
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service, ...labels } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true }, nodeName: 'node-a' }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
  const trial = { 'service.kubernetes.io/service-proxy-name': 'kpx' };
  server.create({ kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }] } });
  server.create(svc('plain', '10.96.7.1'));
  server.create(slice('plain-a', 'plain', '10.244.1.1'));
  server.create(svc('tried', '10.96.7.2', trial));
  server.create(slice('tried-a', 'tried', '10.244.1.2', trial));
  const kubeconfig = await server.writeKubeconfig(dir);
  programLive(pin, []).close(); // an agent that has programmed nothing yet

  const diffOf = async (extra: string[]) => {
    const r = await runKpxAsync(['inspect', 'diff', '--kubeconfig', kubeconfig, '--node-name', 'node-a', '--bpffs-dir', pin, '-o', 'json', ...extra]);
    assert.equal(r.status, 1, r.stderr);
    return (JSON.parse(r.stdout) as { frontends: Array<{ frontend: string; owner: string }> }).frontends.map((f) => `${f.frontend} ${f.owner}`);
  };
  assert.deepEqual(await diffOf([]), ['10.96.7.1:80/TCP EXTERNAL default/plain:http'], 'full mode skips Services labelled for another proxy');
  assert.deepEqual(await diffOf(['--proxy-name', 'kpx']), ['10.96.7.2:80/TCP EXTERNAL default/tried:http'], 'trial mode handles only its own');
});
