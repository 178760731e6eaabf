// deploy/ without a cluster: every manifest parses and has the fields its kind needs, the
// kustomizations render (base = trial mode, overlays/full-replacement), RBAC grants
// exactly what the informers use, the ConfigMap's flags are accepted by the agent's own
// parser, the probes hit the port the agent serves health on, and the image's runtime
// stage carries the committed datapath object and no compiler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentConfigFromFlags } from '../../src/agent/agent.js';
import { AGENT_FLAGS } from '../../src/agent/flags.js';
import { splitHostPort } from '../../src/agent/health.js';
import { STATE_ROOT } from '../../src/inspect/owners-file.js';
import { watchedResources } from '../../src/sources/apiserver/resources.js';
import { build, readKustomization, readYamlDocs, resolveResource, type Obj } from './kustomize.js';
import { KINDS, KUSTOMIZATION_SCHEMA, validate } from './schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const OVERLAY = join(DEPLOY, 'overlays/full-replacement');
const CLEANUP = join(DEPLOY, 'cleanup');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(n) ? [p] : [];
  });
}

type Container = {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; configMapKeyRef?: { name: string; key: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string; optional?: boolean } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: { httpGet: { path: string; port: number | string } };
  livenessProbe?: { httpGet: { path: string; port: number | string } };
  resources?: { requests?: Record<string, unknown> };
  securityContext?: { privileged?: boolean; capabilities?: { add?: string[]; drop?: string[] }; seccompProfile?: { type: string }; appArmorProfile?: { type: string } };
  volumeMounts?: Array<{ name: string; mountPath: string; mountPropagation?: string; readOnly?: boolean }>;
};
type PodSpec = {
  serviceAccountName: string;
  priorityClassName: string;
  hostNetwork: boolean;
  tolerations: Array<{ key?: string; operator: string; effect?: string }>;
  initContainers?: Container[];
  containers: Container[];
  volumes: Array<{ name: string; hostPath?: { path: string } }>;
};

function one(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? `/${name}` : ''}`);
  return found[0]!;
}

function podSpecOf(objs: Obj[]): PodSpec {
  return (one(objs, 'DaemonSet', 'kpx')['spec'] as { template: { spec: PodSpec } }).template.spec;
}

function agentContainer(objs: Obj[]): Container {
  const c = podSpecOf(objs).containers.find((x) => x.name === 'agent');
  assert.ok(c, 'a container named agent');
  return c;
}

/** The agent's argv as the kubelet hands it over: $(VAR) expanded from env (ConfigMap
 *  keys and fieldRefs resolved), `$$` kept as `$`, unknown references left as they are. */
function expandedArgs(objs: Obj[], nodeName: string): string[] {
  const c = agentContainer(objs);
  const env = new Map<string, string>();
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env.set(e.name, e.value);
    const ref = e.valueFrom?.configMapKeyRef;
    if (ref) {
      const data = (one(objs, 'ConfigMap', ref.name)['data'] ?? {}) as Record<string, string>;
      assert.ok(ref.key in data, `ConfigMap ${ref.name} has key ${ref.key}`);
      env.set(e.name, data[ref.key]!);
    }
    if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env.set(e.name, nodeName);
  }
  return (c.args ?? []).map((a) => a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string | undefined) => (v === undefined ? '$' : (env.get(v) ?? m))));
}

function withEnv<T>(name: string, value: string, f: () => T): T {
  const old = process.env[name];
  process.env[name] = value;
  try {
    return f();
  } finally {
    if (old === undefined) delete process.env[name];
    else process.env[name] = old;
  }
}

function probePort(c: Container, which: 'readinessProbe' | 'livenessProbe'): number {
  const port = c[which]?.httpGet.port;
  assert.notEqual(port, undefined, `${which} is an HTTP probe`);
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port);
  assert.ok(named, `${which} port ${String(port)} names a container port`);
  return named.containerPort;
}

test('every YAML file in deploy/ parses, and every object matches its kind', () => {
  const files = yamlFiles(DEPLOY);
  assert.ok(files.length >= 5);
  for (const f of files) {
    const docs = readYamlDocs(f);
    assert.ok(docs.length > 0, `${relative(ROOT, f)} has a document`);
    for (const d of docs) {
      const o = d as { apiVersion?: string; kind?: string };
      const where = `${relative(ROOT, f)} ${o.kind}`;
      if (o.kind === 'Kustomization') {
        assert.deepEqual(validate(o, KUSTOMIZATION_SCHEMA), [], where);
        continue;
      }
      const k = KINDS[o.kind ?? ''];
      assert.ok(k, `${where}: a kind deploy/ is expected to hold`);
      assert.equal(o.apiVersion, k.apiVersion, `${where}: apiVersion`);
      assert.deepEqual(validate(o, k.schema), [], where);
    }
  }
});

test('kustomization resources exist, and every manifest is used by a kustomization', () => {
  const used = new Set<string>();
  for (const dir of [DEPLOY, OVERLAY, CLEANUP]) {
    for (const entry of readKustomization(dir).resources ?? []) {
      const r = resolveResource(dir, entry);
      assert.ok(r, `${relative(ROOT, dir)}: resource ${entry} exists`);
      used.add(r.path);
    }
  }
  for (const f of yamlFiles(DEPLOY)) {
    if (f.endsWith('kustomization.yaml')) continue;
    assert.ok(used.has(f), `${relative(ROOT, f)} is listed in a kustomization`);
  }
  for (const dir of [DEPLOY, OVERLAY, CLEANUP]) {
    const objs = build(dir);
    for (const o of objs) if (o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding') assert.equal(o.metadata.namespace, 'kube-system', `${o.kind}/${o.metadata.name}`);
  }
});

test('RBAC: list and watch, nothing else, on exactly the resources the informers use', () => {
  const objs = build(DEPLOY);
  const role = one(objs, 'ClusterRole', 'kpx') as Obj & { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
  const granted = new Set<string>();
  for (const r of role.rules) {
    assert.deepEqual([...r.verbs].sort(), ['list', 'watch'], 'verbs are exactly list and watch');
    assert.equal(r.resources.some((x) => x.includes('*')) || r.apiGroups.includes('*'), false, 'no wildcards');
    for (const g of r.apiGroups) for (const res of r.resources) granted.add(`${g}/${res}`);
  }
  assert.deepEqual([...granted].sort(), ['/nodes', '/pods', '/services', 'discovery.k8s.io/endpointslices']);

  // The same set, derived from what the API-server source really watches.
  const watched = watchedResources('node-a', true).map((w) => {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([a-z]+)$/.exec(w.collection);
    assert.ok(m, w.collection);
    return `${m[1] ?? ''}/${m[2]}`;
  });
  assert.deepEqual(watched.sort(), [...granted].sort());

  const binding = one(objs, 'ClusterRoleBinding', 'kpx') as Obj & { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kpx' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'kpx', namespace: 'kube-system' }]);
  one(objs, 'ServiceAccount', 'kpx');
  assert.equal(podSpecOf(objs).serviceAccountName, 'kpx');
});

test('S2 trial mode (base): ConfigMap flags parse with the agent parser; probes use the healthz port', () => {
  const objs = build(DEPLOY);
  const data = one(objs, 'ConfigMap', 'kpx-flags')['data'] as Record<string, string>;
  for (const key of Object.keys(data)) assert.ok(key in AGENT_FLAGS, `ConfigMap key ${key} is an agent flag`);
  const args = expandedArgs(objs, 'node-a');
  for (const key of Object.keys(data)) assert.ok(args.some((a) => a.startsWith(`--${key}=`)), `ConfigMap key ${key} reaches the agent`);
  assert.equal(args.some((a) => a.includes('$(')), false, `every $(VAR) is defined: ${args.join(' ')}`);

  const cfg = withEnv('NODE_NAME', 'node-a', () => agentConfigFromFlags(args));
  assert.equal(cfg.nodeName, 'node-a', 'node name comes from spec.nodeName');
  assert.equal(cfg.model.proxyName, 'kpx', 'trial mode handles only Services labelled for kpx');
  assert.equal(cfg.source.kind, 'apiserver');
  const c = agentContainer(objs);
  const [, healthPort] = splitHostPort(cfg.healthzBind);
  assert.equal(probePort(c, 'readinessProbe'), healthPort);
  assert.equal(probePort(c, 'livenessProbe'), healthPort);
  assert.equal(c.readinessProbe!.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe!.httpGet.path, '/healthz');
  // Beside kube-proxy on a host-network pod: its ports (10256 healthz, 10249 metrics) must stay free.
  assert.notEqual(healthPort, 10256);
  assert.notEqual(splitHostPort(cfg.metricsBind)[1], 10249);
});

test('full replacement overlay: every Service, kube-proxy ports, API server reached directly', () => {
  const objs = build(OVERLAY);
  const args = expandedArgs(objs, 'node-b');
  const cfg = withEnv('NODE_NAME', 'node-b', () => agentConfigFromFlags(args));
  assert.equal(cfg.model.proxyName, undefined, 'no --proxy-name: all Services (S2 full mode)');
  assert.equal(cfg.healthzBind, '0.0.0.0:10256');
  assert.equal(cfg.metricsBind, '127.0.0.1:10249');
  const c = agentContainer(objs);
  assert.equal(probePort(c, 'readinessProbe'), 10256);
  const api = one(objs, 'ConfigMap', 'kpx-apiserver')['data'] as Record<string, string>;
  assert.deepEqual(Object.keys(api).sort(), ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']);
  assert.ok(c.envFrom?.some((e) => e.configMapRef?.name === 'kpx-apiserver'), 'the agent reads kpx-apiserver');
});

test('DaemonSet: host network, every node, node-critical, bpffs and cgroup v2 from the host, least privilege', () => {
  const objs = build(DEPLOY);
  const spec = podSpecOf(objs);
  assert.equal(spec.hostNetwork, true);
  assert.equal(spec.priorityClassName, 'system-node-critical');
  assert.ok(spec.tolerations.some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined), 'tolerates every taint');
  const c = agentContainer(objs);
  assert.ok(c.env?.some((e) => e.name === 'NODE_NAME' && e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName'));
  assert.ok(c.resources?.requests?.['cpu'] !== undefined && c.resources.requests['memory'] !== undefined, 'cpu and memory requests');

  const hostPathOf = (vol: string): string | undefined => spec.volumes.find((v) => v.name === vol)?.hostPath?.path;
  const bpf = c.volumeMounts?.find((m) => m.mountPath === '/sys/fs/bpf');
  assert.ok(bpf && hostPathOf(bpf.name) === '/sys/fs/bpf', 'host bpffs at /sys/fs/bpf');
  assert.equal(bpf.mountPropagation, 'HostToContainer');
  const cg = c.volumeMounts?.find((m) => hostPathOf(m.name) === '/sys/fs/cgroup');
  assert.ok(cg, 'the host cgroup v2 root is mounted');

  // The bpffs mount itself is made by a privileged init container with Bidirectional
  // propagation, so the pins live on the host and survive the pod (C5).
  const init = spec.initContainers?.find((x) => x.volumeMounts?.some((m) => m.mountPath === '/sys/fs/bpf' && m.mountPropagation === 'Bidirectional'));
  assert.ok(init, 'an init container mounts bpffs with Bidirectional propagation');
  assert.equal(init.securityContext?.privileged, true, 'Bidirectional propagation needs a privileged container');
  // It also reserves the agent's SNAT ports (the agent cannot write /proc/sys): the same range.
  const initRange = init.env?.find((e) => e.name === 'SNAT_PORT_RANGE')?.valueFrom?.configMapKeyRef;
  assert.deepEqual(initRange, { name: 'kpx-flags', key: 'snat-port-range' });
  assert.match((init as Container & { command?: string[] }).command?.join(' ') ?? '', /ip_local_reserved_ports/);

  const sc = c.securityContext;
  assert.notEqual(sc?.privileged, true, 'the long-running agent is not privileged');
  assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
  assert.deepEqual([...(sc?.capabilities?.add ?? [])].sort(), ['BPF', 'NET_ADMIN', 'PERFMON']);
  assert.equal(sc?.seccompProfile?.type, 'RuntimeDefault');
  // Pinning creates files on bpffs, which the default AppArmor profile denies below /sys/fs.
  assert.equal(sc?.appArmorProfile?.type, 'Unconfined');
  const annotations = (one(objs, 'DaemonSet', 'kpx')['spec'] as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations;
  assert.equal(annotations?.[`container.apparmor.security.beta.kubernetes.io/${c.name}`], 'unconfined', 'the same for Kubernetes before 1.30');

  const args = expandedArgs(objs, 'node-a');
  const cfg = withEnv('NODE_NAME', 'node-a', () => agentConfigFromFlags(args));
  assert.ok(cfg.bpffsDir.startsWith('/sys/fs/bpf/'), 'pins go below the mounted host bpffs');
  assert.ok(cfg.cgroupRoot?.startsWith(cg.mountPath), 'socket hooks go on the host cgroup v2 root, not the container\'s own cgroup');
  // owners.json (kpx inspect/trace names) is written below STATE_ROOT: on a host path, so
  // it is there for `kubectl exec … kpx inspect` and survives container restarts.
  assert.ok(c.volumeMounts?.some((m) => STATE_ROOT.startsWith(m.mountPath) && hostPathOf(m.name) !== undefined), `${STATE_ROOT} is on a host path`);
});

test('Dockerfile: node 20 build stage compiles, keeps production deps; runtime carries kpx.bpf.o and no compiler', () => {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Array<{ from: string; name?: string; lines: string[] }> = [];
  for (const l of lines) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(l);
    if (m) stages.push({ from: m[1]!, ...(m[2] ? { name: m[2] } : {}), lines: [] });
    else {
      assert.ok(stages.length, `instruction before FROM: ${l}`);
      stages.at(-1)!.lines.push(l);
    }
  }
  assert.ok(stages.length >= 2, 'multi-stage');
  const buildStage = stages[0]!;
  const runtime = stages.at(-1)!;
  assert.equal(buildStage.from, 'node:20-bookworm-slim');
  // Compiled with the devDependency typescript, then the devDependencies are dropped.
  const compile = buildStage.lines.findIndex((l) => /^RUN .*\bnpx tsc -p tsconfig\.build\.json\b/.test(l));
  assert.ok(compile >= 0, 'the build stage compiles the agent (tsconfig.build.json)');
  assert.ok(buildStage.lines.slice(compile).some((l) => /^RUN .*npm (ci|prune)\b.*--omit=dev/.test(l)), 'devDependencies dropped after compiling');
  assert.ok(/^(debian:bookworm-slim|node:20-bookworm-slim)$/.test(runtime.from), `runtime base ${runtime.from}`);

  const runs = runtime.lines.filter((l) => l.startsWith('RUN ')).join(' ');
  for (const pkg of ['libbpf1', 'iproute2', 'bpftool']) assert.match(runs, new RegExp(`\\b${pkg}\\b`), `runtime installs ${pkg}`);
  for (const compiler of ['clang', 'gcc', 'g\\+\\+', 'build-essential', 'llvm', 'cc', 'make', 'libbpf-dev']) {
    assert.doesNotMatch(runs, new RegExp(`(^|[\\s=])${compiler}([\\s=:-]|$)`), `runtime stage installs no ${compiler}`);
  }

  // The object reaches the runtime stage: copied there, or copied in the build stage
  // into a directory the runtime copies whole.
  const copies = (s: typeof runtime) => s.lines.filter((l) => l.startsWith('COPY '));
  const direct = copies(runtime).some((l) => /\bbpf\/kpx\.bpf\.o\b/.test(l));
  const viaBuild = copies(buildStage).some((l) => /^COPY bpf\/kpx\.bpf\.o \.\/bpf\/kpx\.bpf\.o$/.test(l)) && copies(runtime).some((l) => new RegExp(`^COPY --from=${buildStage.name} /app /app$`).test(l));
  assert.ok(direct || viaBuild, 'runtime stage gets bpf/kpx.bpf.o');
  assert.ok(buildStage.lines.some((l) => /^WORKDIR \/app$/.test(l)));
  assert.ok(existsSync(join(ROOT, 'bpf/kpx.bpf.o')), 'the committed object exists');
  for (const dir of ['bin', 'src', 'native']) assert.ok(copies(buildStage).some((l) => l.startsWith(`COPY ${dir} `)), `image has ${dir}/`);

  const entry = runtime.lines.find((l) => l.startsWith('ENTRYPOINT'));
  assert.deepEqual(JSON.parse(entry!.slice('ENTRYPOINT'.length)), ['node', '/app/bin/kpx-dist.js', 'agent']);
  assert.ok(copies(buildStage).some((l) => /^COPY tsconfig\.json tsconfig\.build\.json /.test(l)), 'build config in the image');

  // --omit=dev drops devDependencies: whatever runs the TypeScript must be a dependency.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of ['tsx', 'koffi', 'yaml', '@kubernetes/client-node', 'prom-client']) assert.ok(dep in pkg.dependencies, `${dep} is a runtime dependency`);
});

test('cleanup DaemonSet (rollback) runs kpx cleanup on the agent\'s pin directory and interfaces', () => {
  const agent = withEnv('NODE_NAME', 'node-a', () => agentConfigFromFlags(expandedArgs(build(DEPLOY), 'node-a')));
  const objs = build(CLEANUP);
  const ds = one(objs, 'DaemonSet', 'kpx-cleanup');
  const spec = (ds['spec'] as { template: { spec: PodSpec & { containers: Array<Container & { command?: string[] }> } } }).template.spec;
  assert.equal(spec.hostNetwork, true, 'in the node\'s network namespace, where the filters are');
  const script = spec.containers[0]!.command!.join(' ');
  assert.match(script, /kpx cleanup /);
  assert.ok(script.includes(`--bpffs-dir ${agent.bpffsDir} `), 'the agent\'s pin directory');
  assert.ok(script.includes(`--pod-interfaces '${agent.podInterfaces.join(',')}'`), 'the agent\'s interface patterns');
  const mounts = spec.containers[0]!.volumeMounts ?? [];
  assert.ok(mounts.some((m) => m.mountPath === '/sys/fs/bpf'));
  assert.ok(mounts.some((m) => STATE_ROOT.startsWith(m.mountPath)), 'owners.json state too');
});
