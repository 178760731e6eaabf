// owners.json: the path rule, atomic replacement, and the real agent writing it after its
// syncs (run in a kpxops- network namespace, fed from a manifest directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cgroupV2Root } from '../../native/index.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ownersFilePath, readOwners, removeStateDir, writeOwnersFile } from '../../src/inspect/owners-file.js';
import { KPX_BIN, PREFIX, newPinDir, removePins } from './fixture.js';

test('owners.json lives under the state root at the pin directory\'s path, and is replaced atomically', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kpxops-state-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const pin = '/sys/fs/bpf/kpxops-x';
  assert.equal(ownersFilePath(pin, root), join(root, 'sys/fs/bpf/kpxops-x/owners.json'));
  writeOwnersFile(pin, { '7': 'default/hdls:http' }, root);
  writeOwnersFile(pin, { '7': 'default/hdls:http', '8': 'kube-system/kube-dns:dns' }, root);
  assert.deepEqual([...readOwners(pin, root)], [
    [7, 'default/hdls:http'],
    [8, 'kube-system/kube-dns:dns'],
  ]);
  assert.deepEqual(readdirSync(dirname(ownersFilePath(pin, root))), ['owners.json'], 'no temporary file left');
  assert.equal(removeStateDir(pin, root), true);
  assert.deepEqual(readdirSync(root), [], 'empty parents pruned');
  assert.equal(readOwners(pin, root).size, 0, 'no file: no names, no error');
});

const SERVICES = (withApi: boolean) => `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.5.1
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-a, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.244.1.1]}]
${
  withApi
    ? `---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec:
  clusterIP: 10.96.5.2
  ports: [{name: grpc, port: 9000, protocol: UDP}]
`
    : ''
}`;

async function waitFor<T>(what: string, f: () => T | undefined, log: () => string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent log:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the agent writes owners.json after a sync and rewrites it when Services change', async (t) => {
  const ns = `${PREFIX}-agent`;
  const pin = newPinDir('agent');
  const dir = mkdtempSync(join(tmpdir(), 'kpxops-agent-'));
  // The agent's socket hooks go on a cgroup of our own, not on the machine's root cgroup.
  const cgroup = join(cgroupV2Root(), `${PREFIX}-agent`);
  mkdirSync(cgroup);
  execFileSync('ip', ['netns', 'add', ns]);
  let log = '';
  const agent = spawn(
    'nsenter',
    [`--net=/run/netns/${ns}`, process.execPath, KPX_BIN, 'agent', '--manifests', dir, '--node-name', 'node-a', '--bpffs-dir', pin, '--pod-interfaces', 'kpxops-none*', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249', '--min-sync-period', '50ms', '--cgroup-root', cgroup],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent.stdout.on('data', (b: Buffer) => (log += b.toString()));
  agent.stderr.on('data', (b: Buffer) => (log += b.toString()));
  t.after(async () => {
    if (agent.exitCode === null) {
      const gone = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGTERM');
      await gone;
    }
    execFileSync('ip', ['netns', 'del', ns]);
    removePins(pin); // unpinning the links detaches the hooks (their agent is gone)
    rmSync(dir, { recursive: true, force: true });
    rmdirSync(cgroup);
  });
  writeFileSync(join(dir, 'svc.yaml'), SERVICES(true));

  const path = ownersFilePath(pin);
  const owners = () => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { pinDir: string; frontends: Record<string, string> }) : undefined);
  const first = await waitFor('owners.json with both Services', () => {
    const o = owners();
    return o && Object.keys(o.frontends).length === 2 ? o : undefined;
  }, () => log);
  assert.equal(first.pinDir, pin);
  assert.ok(existsSync(join(pin, 'progs', 'kpx_from_pod')), 'the agent pins its programs too');
  assert.deepEqual(Object.values(first.frontends).sort(), ['default/api:grpc', 'default/web:http']);

  writeFileSync(join(dir, 'svc.yaml'), SERVICES(false));
  const second = await waitFor('owners.json without api', () => {
    const o = owners();
    return o && Object.keys(o.frontends).length === 1 ? o : undefined;
  }, () => log);
  assert.deepEqual(Object.values(second.frontends), ['default/web:http']);
  // The ids in the file are the ids in the maps.
  const svc = execFileSync(process.execPath, [KPX_BIN, 'inspect', 'services', '--bpffs-dir', pin, '-o', 'json'], { encoding: 'utf8' });
  const ids = (JSON.parse(svc) as { services: Array<{ svcId: number; owner: string }> }).services.map((s) => [String(s.svcId), s.owner]);
  assert.deepEqual(ids, Object.entries(second.frontends));
});
