// The manifest source over real files in a temp directory: delivery, API-server-like
// allocation and mirroring, diffs on edits, and error reporting.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, unlink, rename, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadFlagError, BadObjectError, EnvironmentError } from '../../src/errors.js';
import { ManifestSource, type ManifestSourceOptions } from '../../src/sources/manifests.js';
import { CaptureLogger } from './capture-logger.js';
import { RecordingSink } from './recording-sink.js';
import { waitFor } from './wait.js';

const NODE = 'node-a';

interface Harness {
  dir: string;
  sink: RecordingSink;
  errors: BadObjectError[];
  logger: CaptureLogger;
  source: ManifestSource;
  write(name: string, text: string): Promise<void>;
}

async function setup(t: TestContext, files: Record<string, string>, extra: Partial<ManifestSourceOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'kpx-manifests-'));
  const errors: BadObjectError[] = [];
  const logger = new CaptureLogger();
  const source = new ManifestSource({ dir, nodeName: NODE, logger, onError: (e) => errors.push(e), debounceMs: 20, rescanIntervalMs: 60_000, ...extra });
  t.after(async () => {
    await source.stop();
    await rm(dir, { recursive: true, force: true });
  });
  // Write to a temp name and rename, as editors and kubectl-style tools do, so no scan
  // ever sees half a file unless a test wants it to.
  const write = async (name: string, text: string): Promise<void> => {
    await writeFile(join(dir, `.tmp-${name}`), text);
    await rename(join(dir, `.tmp-${name}`), join(dir, name));
  };
  for (const [name, text] of Object.entries(files)) await write(name, text);
  return { dir, sink: new RecordingSink(), errors, logger, source, write };
}

function svc(name: string, spec: string, ns = 'default'): string {
  return `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n${spec
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
}

const PORT80 = 'ports:\n- {name: http, port: 80, targetPort: 8080}';

type AnySpec = { spec?: { clusterIP?: string; ports?: Array<{ port?: number; protocol?: string; nodePort?: number; name?: string }>; healthCheckNodePort?: number } };
const specOf = (h: Harness, key: string): AnySpec['spec'] => (h.sink.services.get(key) as AnySpec | undefined)?.spec;

test('delivers Services, EndpointSlices, this Node and its Pods from yaml, yml and json files, then synced()', async (t) => {
  const h = await setup(t, {
    'svc.yaml': svc('web', `clusterIP: 10.96.0.10\n${PORT80}`) + '---\n' + svc('db', 'ports:\n- {port: 5432}', 'prod'),
    'slice.yml': `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
  conditions: {ready: true}
  nodeName: ${NODE}
ports: [{name: http, port: 8080}]
`,
    'nodes.json': JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'topology.kubernetes.io/zone': 'z1' } } },
        { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-b' } },
      ],
    }),
    'pods.yaml': `apiVersion: v1
kind: Pod
metadata: {name: here}
spec: {nodeName: ${NODE}, containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: elsewhere}
spec: {nodeName: node-b, containers: [{name: c}]}
`,
    '.hidden.yaml': svc('hidden', PORT80),
    'notes.txt': 'not a manifest',
  });
  await h.source.start(h.sink);

  assert.equal(h.sink.syncedCount, 1);
  assert.equal(h.sink.events.at(-1)?.kind, 'synced', 'synced after every object');
  assert.deepEqual([...h.sink.services.keys()].sort(), ['default/web', 'prod/db']);
  assert.deepEqual([...h.sink.slices.keys()], ['default/web-1']);
  assert.equal(h.sink.nodeObj?.metadata?.name, NODE, 'only this node');
  assert.deepEqual([...h.sink.pods.keys()], ['default/here'], 'only pods on this node');
  assert.deepEqual(h.errors, []);

  // Shaped like objects from an API server: models with kind/apiVersion and server metadata.
  const web = h.sink.services.get('default/web')!;
  assert.equal(web.kind, 'Service');
  assert.ok(web.metadata?.uid && web.metadata.resourceVersion);
  assert.ok(web.metadata?.creationTimestamp instanceof Date);
  assert.equal(h.sink.slices.get('default/web-1')?.ports?.[0]?.protocol, 'TCP', 'protocol defaulted');
  assert.deepEqual(h.sink.violations, []);
});

test('API-server defaults are applied (P2 targetPort = port, A1 affinity timeout, T1/T3 policies)', async (t) => {
  const h = await setup(t, {
    's.yaml': svc('np', 'type: NodePort\nsessionAffinity: ClientIP\nports:\n- {port: 80}'),
  });
  await h.source.start(h.sink);
  const s = h.sink.services.get('default/np')!;
  assert.equal(s.spec?.ports?.[0]?.targetPort, 80);
  assert.equal(s.spec?.ports?.[0]?.protocol, 'TCP');
  assert.equal(s.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds, 10800);
  assert.equal(s.spec?.externalTrafficPolicy, 'Cluster');
  assert.equal(s.spec?.internalTrafficPolicy, 'Cluster');
  assert.deepEqual(s.spec?.ipFamilies, ['IPv4']);
});

test('ClusterIPs: first usable addresses of the service CIDR, skipping ones in use, stable across rescans', async (t) => {
  const h = await setup(t, {
    'a.yaml': svc('b-svc', PORT80) + '---\n' + svc('c-svc', PORT80),
    'b.yaml': svc('taken', `clusterIP: 10.96.0.1\n${PORT80}`) + '---\n' + svc('headless', `clusterIP: None\n${PORT80}`) + '---\n' + svc('ext', 'type: ExternalName\nexternalName: example.com'),
  });
  await h.source.start(h.sink);
  assert.equal(specOf(h, 'default/taken')?.clusterIP, '10.96.0.1');
  assert.equal(specOf(h, 'default/b-svc')?.clusterIP, '10.96.0.2');
  assert.equal(specOf(h, 'default/c-svc')?.clusterIP, '10.96.0.3');
  assert.equal(specOf(h, 'default/headless')?.clusterIP, 'None', 'S1 headless gets none');
  assert.equal(specOf(h, 'default/ext')?.clusterIP, undefined, 'S1 ExternalName gets none');

  // A new Service sorting first takes the next free address; nobody else moves.
  const mark = h.sink.events.length;
  await h.write('c.yaml', svc('a-svc', PORT80));
  await h.source.rescan();
  assert.equal(specOf(h, 'default/a-svc')?.clusterIP, '10.96.0.4');
  assert.deepEqual(h.sink.events.slice(mark).map((e) => e.key), ['default/a-svc'], 'only the new Service is delivered');

  // Removing one frees its address for later, without renumbering the others.
  await unlink(join(h.dir, 'c.yaml'));
  await h.write('a.yaml', svc('c-svc', PORT80));
  await h.source.rescan();
  assert.deepEqual(h.sink.deletes('service', mark).sort(), ['default/a-svc', 'default/b-svc']);
  assert.equal(specOf(h, 'default/c-svc')?.clusterIP, '10.96.0.3');
  await h.write('d.yaml', svc('d-svc', PORT80));
  await h.source.rescan();
  assert.equal(specOf(h, 'default/d-svc')?.clusterIP, '10.96.0.2');
  assert.deepEqual(h.sink.violations, []);
});

test('ClusterIPs come from a configured service CIDR; addresses outside it are refused', async (t) => {
  const h = await setup(t, { 'a.yaml': svc('a', PORT80) + '---\n' + svc('out', `clusterIP: 10.96.0.5\n${PORT80}`) }, { serviceCidr: '172.20.0.0/16' });
  await h.source.start(h.sink);
  assert.equal(specOf(h, 'default/a')?.clusterIP, '172.20.0.1');
  assert.equal(h.sink.services.has('default/out'), false);
  assert.match(h.errors[0]!.message, /a\.yaml document 2 \(Service default\/out\): spec\.clusterIP: 10\.96\.0\.5 is not in the valid range/);
});

test('node ports: allocated from the range, shared across protocols of one port, kept across rescans (P4, T6)', async (t) => {
  const h = await setup(t, {
    'np.yaml':
      svc('dns', 'type: NodePort\nports:\n- {name: udp, port: 53, protocol: UDP}\n- {name: tcp, port: 53, protocol: TCP}\n- {name: web, port: 80}') +
      '---\n' +
      svc('fixed', 'type: NodePort\nports:\n- {port: 80, nodePort: 30000}') +
      '---\n' +
      svc('lb', 'type: LoadBalancer\nexternalTrafficPolicy: Local\nports:\n- {port: 443}'),
  });
  await h.source.start(h.sink);
  const dns = specOf(h, 'default/dns')!.ports!;
  assert.equal(specOf(h, 'default/fixed')?.ports?.[0]?.nodePort, 30000, 'explicit node port kept');
  assert.equal(dns[0]!.nodePort, 30001);
  assert.equal(dns[1]!.nodePort, 30001, 'same port number, other protocol: same node port');
  assert.equal(dns[2]!.nodePort, 30002);
  assert.equal(specOf(h, 'default/lb')?.ports?.[0]?.nodePort, 30003);
  assert.equal(specOf(h, 'default/lb')?.healthCheckNodePort, 30004, 'LoadBalancer with eTP Local gets a health check port');

  // Adding a port to one Service allocates only that port.
  const mark = h.sink.events.length;
  await h.write('np.yaml', svc('dns', 'type: NodePort\nports:\n- {name: udp, port: 53, protocol: UDP}\n- {name: tcp, port: 53, protocol: TCP}\n- {name: web, port: 80}\n- {name: alt, port: 8080}') + '---\n' + svc('fixed', 'type: NodePort\nports:\n- {port: 80, nodePort: 30000}') + '---\n' + svc('lb', 'type: LoadBalancer\nexternalTrafficPolicy: Local\nports:\n- {port: 443}'));
  await h.source.rescan();
  assert.deepEqual(h.sink.events.slice(mark).map((e) => e.key), ['default/dns']);
  assert.deepEqual(specOf(h, 'default/dns')!.ports!.map((p) => p.nodePort), [30001, 30001, 30002, 30005]);
  assert.equal(specOf(h, 'default/lb')?.healthCheckNodePort, 30004);
});

test('node ports come from a configured range; a value written in a manifest wins over an allocated one', async (t) => {
  const h = await setup(t, { 'a.yaml': svc('a', 'type: NodePort\nports:\n- {port: 80}') }, { nodePortRange: '31000-31010' });
  await h.source.start(h.sink);
  assert.equal(specOf(h, 'default/a')?.ports?.[0]?.nodePort, 31000);
  // b names 31000 explicitly: a fresh start over this directory would give it to b, so
  // this node does too (every node agrees), and a moves.
  await h.write('b.yaml', svc('b', 'type: NodePort\nports:\n- {port: 80, nodePort: 31000}'));
  await h.source.rescan();
  assert.equal(specOf(h, 'default/b')?.ports?.[0]?.nodePort, 31000);
  assert.equal(specOf(h, 'default/a')?.ports?.[0]?.nodePort, 31001);
  assert.deepEqual(h.errors, []);
});

test('two manifests naming the same node port or ClusterIP: the holder keeps it, the newcomer is reported', async (t) => {
  const h = await setup(t, { 'b.yaml': svc('b', 'type: NodePort\nclusterIP: 10.96.0.9\nports:\n- {port: 80, nodePort: 31000}') });
  await h.source.start(h.sink);
  await h.write('0-first.yaml', svc('c', 'type: NodePort\nports:\n- {port: 80, nodePort: 31000}') + '---\n' + svc('d', `clusterIP: 10.96.0.9\n${PORT80}`));
  await h.source.rescan();
  assert.equal(h.sink.services.has('default/c'), false, 'sorts first, but b already holds the port');
  assert.equal(h.sink.services.has('default/d'), false);
  assert.deepEqual(
    h.errors.map((e) => e.message),
    [
      '0-first.yaml document 2 (Service default/d): spec.clusterIP: 10.96.0.9 is already allocated to Service default/b',
      '0-first.yaml document 1 (Service default/c): spec.ports[0].nodePort: provided port 31000 is already allocated to Service default/b',
    ],
  );
});

test('Endpoints are mirrored into EndpointSlices (S5, E1 readiness)', async (t) => {
  const h = await setup(t, {
    'ep.yaml': `apiVersion: v1
kind: Endpoints
metadata: {name: legacy, labels: {team: x}}
subsets:
- addresses: [{ip: 10.0.0.1, nodeName: ${NODE}}, {ip: 10.0.0.2}]
  notReadyAddresses: [{ip: 10.0.0.3}]
  ports: [{name: http, port: 8080}, {name: dns, port: 53, protocol: UDP}]
`,
    'svc.yaml': svc('legacy', 'ports:\n- {name: http, port: 80, targetPort: http}\n- {name: dns, port: 53, protocol: UDP}'),
  });
  await h.source.start(h.sink);
  assert.equal(h.sink.slices.size, 1);
  const slice = [...h.sink.slices.values()][0]!;
  assert.equal(slice.metadata?.labels?.['kubernetes.io/service-name'], 'legacy');
  assert.equal(slice.metadata?.labels?.['team'], 'x');
  assert.equal(slice.addressType, 'IPv4');
  assert.deepEqual(
    slice.endpoints.map((e) => [e.addresses[0], e.conditions?.ready, e.nodeName]),
    [
      ['10.0.0.1', true, NODE],
      ['10.0.0.2', true, undefined],
      ['10.0.0.3', false, undefined],
    ],
  );
  assert.deepEqual(
    slice.ports?.map((p) => [p.name, p.port, p.protocol]),
    [
      ['http', 8080, 'TCP'],
      ['dns', 53, 'UDP'],
    ],
  );

  // An address becoming ready is an update of the same slice, not a replacement.
  const mark = h.sink.events.length;
  await h.write('ep.yaml', `apiVersion: v1
kind: Endpoints
metadata: {name: legacy, labels: {team: x}}
subsets:
- addresses: [{ip: 10.0.0.1, nodeName: ${NODE}}, {ip: 10.0.0.2}, {ip: 10.0.0.3}]
  ports: [{name: http, port: 8080}, {name: dns, port: 53, protocol: UDP}]
`);
  await h.source.rescan();
  const changes = h.sink.events.slice(mark);
  assert.equal(changes.length, 1);
  assert.ok(changes[0]!.prev && changes[0]!.cur, 'an update');
  assert.deepEqual(h.sink.violations, []);
});

test('editing a file delivers only the difference, found through fs.watch (P3, C4)', async (t) => {
  const h = await setup(t, {
    'a.yaml': svc('one', `clusterIP: 10.96.0.10\n${PORT80}`) + '---\n' + svc('two', `clusterIP: 10.96.0.11\n${PORT80}`),
    'b.yaml': svc('three', `clusterIP: 10.96.0.12\n${PORT80}`),
  });
  await h.source.start(h.sink);
  const mark = h.sink.events.length;

  await h.write('a.yaml', svc('one', `clusterIP: 10.96.0.10\nports:\n- {name: http, port: 81, targetPort: 8080}`) + '---\n' + svc('two', `clusterIP: 10.96.0.11\n${PORT80}`));
  await waitFor(() => h.sink.events.length > mark, 'change delivered');
  await h.source.rescan(); // and nothing more arrives on a further scan
  const changes = h.sink.events.slice(mark);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.key, 'default/one');
  assert.equal((changes[0]!.prev as AnySpec).spec?.ports?.[0]?.port, 80);
  assert.equal((changes[0]!.cur as AnySpec).spec?.ports?.[0]?.port, 81);
  assert.notEqual(changes[0]!.prev?.metadata?.resourceVersion, changes[0]!.cur?.metadata?.resourceVersion);
  assert.equal(changes[0]!.prev?.metadata?.uid, changes[0]!.cur?.metadata?.uid, 'same object, same uid');

  // Rewriting identical content (keys reordered) changes nothing.
  await h.write('b.yaml', `kind: Service\napiVersion: v1\nspec:\n  ports: [{targetPort: 8080, port: 80, name: http}]\n  clusterIP: 10.96.0.12\nmetadata: {namespace: default, name: three}\n`);
  await h.source.rescan();
  assert.equal(h.sink.events.length, mark + 1);

  // Deleting a file deletes its objects.
  await unlink(join(h.dir, 'b.yaml'));
  await waitFor(() => !h.sink.services.has('default/three'), 'deletion delivered');
  assert.deepEqual(h.sink.deletes('service', mark), ['default/three']);
  assert.deepEqual(h.sink.violations, []);
});

test('without change events the periodic rescan still finds changes', async (t) => {
  const h = await setup(t, { 'a.yaml': svc('one', PORT80) }, { debounceMs: 3_600_000, rescanIntervalMs: 50 });
  await h.source.start(h.sink);
  await h.write('b.yaml', svc('two', PORT80));
  await waitFor(() => h.sink.services.has('default/two'), 'found by the periodic rescan');
});

test('a bad document is reported with file, document, field and reason; the rest of the file is delivered', async (t) => {
  const h = await setup(t, {
    'mixed.yaml': [
      svc('good', PORT80),
      svc('badport', 'ports:\n- {name: http, port: 70000}'),
      'apiVersion: v1\nkind: Service\nmetadata: {namespace: default}\nspec: {ports: [{port: 80}]}\n',
      svc('badproto', 'ports:\n- {port: 80, protocol: ICMP}'),
      svc('v6', `clusterIP: fd00::1\n${PORT80}`),
      'apiVersion: v1\nmetadata: {name: nokind}\n',
      svc('also-good', PORT80),
    ].join('---\n'),
  });
  await h.source.start(h.sink);
  assert.deepEqual([...h.sink.services.keys()].sort(), ['default/also-good', 'default/good']);
  assert.ok(h.errors.every((e) => e instanceof BadObjectError && e.code === 'KPX_BAD_OBJECT'));
  const messages = h.errors.map((e) => e.message);
  assert.deepEqual(messages, [
    'mixed.yaml document 2 (Service default/badport): spec.ports[0].port: 70000 must be between 1 and 65535, inclusive',
    'mixed.yaml document 3: metadata.name: required value',
    'mixed.yaml document 4 (Service default/badproto): spec.ports[0].protocol: unsupported value "ICMP": must be one of TCP, UDP, SCTP',
    'mixed.yaml document 5 (Service default/v6): spec.clusterIP: "fd00::1" must be an IPv4 address (or None for a headless Service)',
    'mixed.yaml document 6: kind: required value',
  ]);
  assert.equal(h.errors[0]!.field, 'spec.ports[0].port');

  // Reported once, not on every rescan; fixing the document delivers it.
  await h.source.rescan();
  assert.equal(h.errors.length, 5);
  await h.write('mixed.yaml', [svc('good', PORT80), svc('badport', 'ports:\n- {name: http, port: 7000}'), svc('also-good', PORT80)].join('---\n'));
  await h.source.rescan();
  assert.ok(h.sink.services.has('default/badport'));
  assert.equal(h.errors.length, 5);
});

test('a YAML syntax error in one file does not stop the others; its objects stay until it parses again', async (t) => {
  const h = await setup(t, {
    'a.yaml': svc('a', PORT80),
    'b.yaml': svc('b', PORT80) + '---\n' + svc('b2', PORT80),
  });
  await h.source.start(h.sink);
  const mark = h.sink.events.length;

  // b.yaml half-written: its second document is broken.
  await h.write('b.yaml', svc('b', PORT80) + '---\nkind: Service\nmetadata: {name: [b2\n');
  await h.write('c.yaml', svc('c', PORT80));
  await h.source.rescan();
  assert.ok(h.sink.services.has('default/c'), 'other files still delivered');
  assert.ok(h.sink.services.has('default/b2'), 'objects of the broken file are kept');
  assert.deepEqual(h.sink.deletes('service', mark), []);
  assert.equal(h.errors.length, 1);
  assert.match(h.errors[0]!.message, /^b\.yaml document 2: \(yaml\): syntax error: .*line \d+/);

  // A file that is broken from the start contributes nothing, and the rest still arrives.
  await h.write('d.json', '{"kind": "Service",');
  await h.source.rescan();
  assert.match(h.errors[1]!.message, /^d\.json document 1: \(json\): syntax error/);

  // Once it parses, the difference (b2 removed) is delivered.
  await h.write('b.yaml', svc('b', PORT80));
  await h.source.rescan();
  assert.deepEqual(h.sink.deletes('service', mark), ['default/b2']);
  assert.deepEqual(h.sink.violations, []);
});

test('an invalid edit keeps the last valid version of the object (the API server would refuse the update)', async (t) => {
  const h = await setup(t, { 'a.yaml': svc('web', `clusterIP: 10.96.0.10\n${PORT80}`) });
  await h.source.start(h.sink);
  const mark = h.sink.events.length;
  await h.write('a.yaml', svc('web', 'clusterIP: 10.96.0.10\nports:\n- {name: http, port: 0}'));
  await h.source.rescan();
  assert.equal(h.sink.events.length, mark, 'nothing delivered');
  assert.equal(specOf(h, 'default/web')?.ports?.[0]?.port, 80);
  assert.match(h.errors[0]!.message, /spec\.ports\[0\]\.port: 0 must be between 1 and 65535, inclusive \(keeping its last valid version\)/);
});

test('the same object in two files: the first is used, the second reported', async (t) => {
  const h = await setup(t, { 'a.yaml': svc('web', `clusterIP: 10.96.0.10\n${PORT80}`), 'b.yaml': svc('web', `clusterIP: 10.96.0.11\n${PORT80}`) });
  await h.source.start(h.sink);
  assert.equal(specOf(h, 'default/web')?.clusterIP, '10.96.0.10');
  assert.equal(h.errors[0]?.message, 'b.yaml document 1 (Service default/web): metadata.name: duplicate: already defined in a.yaml document 1');
});

test('unknown kinds are ignored with a debug log; this Node appearing and going is delivered', async (t) => {
  const h = await setup(t, { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' });
  await h.source.start(h.sink);
  assert.deepEqual(h.errors, []);
  assert.ok(h.logger.records.some((r) => r.level === 'debug' && r.fields['kind'] === 'ConfigMap'));
  await h.write('node.yaml', `apiVersion: v1\nkind: Node\nmetadata: {name: ${NODE}}\n`);
  await h.source.rescan();
  assert.equal(h.sink.nodeObj?.metadata?.name, NODE);
  await unlink(join(h.dir, 'node.yaml'));
  await h.source.rescan();
  assert.equal(h.sink.nodeObj, undefined);
  assert.deepEqual(h.sink.violations, []);
});

test('symlinked files are read (ConfigMap volumes); a vanished directory keeps the current objects', async (t) => {
  const h = await setup(t, {});
  const data = join(h.dir, '..data');
  await mkdir(data);
  await writeFile(join(data, 'svc.yaml'), svc('linked', PORT80));
  await symlink(join('..data', 'svc.yaml'), join(h.dir, 'svc.yaml'));
  await h.source.start(h.sink);
  assert.ok(h.sink.services.has('default/linked'));
  await rm(h.dir, { recursive: true, force: true });
  await h.source.rescan();
  assert.ok(h.sink.services.has('default/linked'), 'not withdrawn');
  assert.ok(h.logger.count('manifest directory unreadable; keeping the current objects') >= 1);
});

test('start() fails clearly for a missing directory; bad settings are flag errors', async () => {
  const sink = new RecordingSink();
  await assert.rejects(new ManifestSource({ dir: '/nonexistent/kpx-manifests', nodeName: NODE }).start(sink), EnvironmentError);
  assert.throws(() => new ManifestSource({ dir: '.', nodeName: NODE, serviceCidr: '10.96.0.0/33' }), BadFlagError);
  assert.throws(() => new ManifestSource({ dir: '.', nodeName: NODE, nodePortRange: '32767-30000' }), BadFlagError);
});
