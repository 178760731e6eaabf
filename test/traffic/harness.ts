// A one-node cluster in network namespaces for traffic tests: backend pods with HTTP and
// UDP servers, a client pod, and the real `kpx agent` running in the node namespace —
// fed either from a manifest directory or from the test API server. The API server is
// bound inside the node namespace (its listening socket is created while this thread is
// in that namespace), so the agent reaches it on 127.0.0.1 without touching the host.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { inNetns } from '../native/netns.js';
import { TestApiServer } from '../apiserver/server.js';
import { removeStateDir } from '../../src/inspect/owners-file.js';
import { NETNS_DIR } from '../../src/lab/netns.js';
import { Probe } from '../../src/lab/probe-driver.js';
import { buildLab, POD_IF_PREFIX, teardownLab, type Lab, type PodSpec } from '../../src/lab/topology.js';

const KPX = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));

export interface ClusterOptions {
  /** Namespace prefix; must be unique per test file. */
  prefix: string;
  pods: Array<Omit<PodSpec, 'node'>>;
  source: 'manifests' | 'apiserver';
  podCidr?: string;
}

export class TestCluster {
  readonly pinDir: string;
  readonly workDir: string;
  readonly manifestDir: string;
  api: TestApiServer | undefined;
  private agent: ChildProcess | undefined;
  private logFd: number | undefined;
  private probes: Probe[] = [];

  private constructor(
    readonly opts: ClusterOptions,
    readonly lab: Lab,
  ) {
    this.pinDir = `/sys/fs/bpf/${opts.prefix}${process.pid}`;
    this.workDir = mkdtempSync(join(tmpdir(), opts.prefix));
    this.manifestDir = join(this.workDir, 'manifests');
  }

  static async start(opts: ClusterOptions): Promise<TestCluster> {
    teardownLab(opts.prefix);
    const lab = await buildLab({
      prefix: opts.prefix,
      nodes: [{ name: 'node1', podCidr: opts.podCidr ?? '10.245.1.0/24' }],
      pods: [...opts.pods.map((p) => ({ ...p, node: 'node1' })), { name: 'client', node: 'node1', client: true }],
    });
    const c = new TestCluster(opts, lab);
    try {
      await c.startAgent();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get nodeNs(): string {
    return this.lab.nodes[0]!.ns;
  }

  get logPath(): string {
    return join(this.workDir, 'agent.log');
  }

  pod(name: string) {
    const p = this.lab.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  probe(): Probe {
    const p = new Probe(this.pod('client').ns);
    this.probes.push(p);
    return p;
  }

  private async startAgent(): Promise<void> {
    const args = [KPX, 'agent', '--node-name', 'node1', '--pod-interfaces', `${POD_IF_PREFIX}*`, '--bpffs-dir', this.pinDir];
    args.push('--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', '--log-level', 'debug');
    if (this.opts.source === 'manifests') {
      rmSync(this.manifestDir, { recursive: true, force: true });
      mkdirSync(this.manifestDir, { recursive: true });
      args.push('--manifests', this.manifestDir, '--service-cidr', '10.97.0.0/16');
    } else {
      this.api = await inNetns({ name: this.nodeNs, a: '', b: '' }, () => TestApiServer.start({ bindAll: true }));
      const kc = await this.api.writeKubeconfig(this.workDir);
      args.push('--kubeconfig', kc);
    }
    this.logFd = openSync(this.logPath, 'a');
    this.agent = spawn('nsenter', [`--net=${NETNS_DIR}/${this.nodeNs}`, process.execPath, ...args], {
      stdio: ['ignore', this.logFd, this.logFd],
    });
    await this.waitForLog(/"msg":"started"/, 30_000);
  }

  /** Brings the API server back, listening inside the node namespace again. */
  async restartApi(): Promise<void> {
    await inNetns({ name: this.nodeNs, a: '', b: '' }, () => this.api!.restart());
  }

  /** Kills the agent (SIGKILL: no goodbye) and starts a new one over the same pins. */
  async restartAgent(): Promise<void> {
    this.agent?.kill('SIGKILL');
    await new Promise((r) => this.agent?.once('exit', r));
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.logFd = openSync(this.logPath, 'a');
    const args = this.agent!.spawnargs.slice(1);
    this.agent = spawn('nsenter', args, { stdio: ['ignore', this.logFd, this.logFd] });
  }

  log(): string {
    return readFileSync(this.logPath, 'utf8');
  }

  async waitForLog(re: RegExp, ms = 10_000, from = 0): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (re.test(this.log().slice(from))) return;
      if (this.agent?.exitCode !== null && this.agent?.exitCode !== undefined) {
        throw new Error(`agent exited (${this.agent.exitCode}):\n${this.log().slice(-3000)}`);
      }
      await sleep(50);
    }
    throw new Error(`agent log never matched ${re}:\n${this.log().slice(-3000)}`);
  }

  /** Writes (or replaces) a manifest file; the agent follows the directory. */
  writeManifest(file: string, docs: object[]): void {
    writeFileSync(join(this.manifestDir, file), docs.map((d) => stringify(d)).join('---\n'));
  }

  removeManifest(file: string): void {
    rmSync(join(this.manifestDir, file), { force: true });
  }

  async stop(): Promise<void> {
    for (const p of this.probes) p.close();
    this.agent?.kill('SIGKILL');
    await this.api?.close();
    teardownLab(this.opts.prefix);
    if (this.logFd !== undefined) closeSync(this.logFd);
    rmSync(this.pinDir, { recursive: true, force: true });
    removeStateDir(this.pinDir);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, ms = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

// ---- object builders -------------------------------------------------------------------

export interface PortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP';
}

export function service(name: string, clusterIP: string, ports: PortSpec[], extra: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      selector: { app: name },
      ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
      ...extra,
    },
  };
}

export function slice(
  service: string,
  pods: Array<{ ip: string; name: string; ready?: boolean; terminating?: boolean }>,
  ports: PortSpec[],
  sliceName = `${service}-a`,
): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: p.ready ?? true, serving: true, terminating: p.terminating ?? false },
      nodeName: 'node1',
      targetRef: { kind: 'Pod', namespace: 'default', name: p.name },
    })),
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}

/** Counts answers per pod. */
export function tally(answers: Array<{ pod: string }>): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of answers) m.set(a.pod, (m.get(a.pod) ?? 0) + 1);
  return m;
}
