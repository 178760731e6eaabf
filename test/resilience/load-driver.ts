// Runs load.ts inside a namespace and collects its report.

import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnIn, TS_NODE_ARGS } from '../../src/lab/netns.js';
import type { LoadReport, LoadSpec } from './load.js';

const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));

export class Load {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(l: string) => void> = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('exit', () => {
      for (const w of this.waiters.splice(0)) w(JSON.stringify({ error: `load generator exited: ${this.stderr.slice(-2000)}` }));
    });
  }

  /** Starts the load in namespace `ns`; resolves once every connection and flow is open. */
  static async start(ns: string, spec: Partial<LoadSpec>): Promise<Load> {
    const full: LoadSpec = { requests: [], keepalive: [], udp: [], intervalMs: 100, timeoutMs: 2000, maxMs: 120_000, ...spec };
    const l = new Load(spawnIn(ns, process.execPath, [...TS_NODE_ARGS, LOAD]));
    l.child.stdin!.write(JSON.stringify(full) + '\n');
    const first = JSON.parse(await l.next()) as { started?: boolean; error?: string };
    if (!first.started) {
      l.kill();
      throw new Error(`load generator in ${ns} did not start: ${first.error ?? JSON.stringify(first)}`);
    }
    return l;
  }

  private next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiters.push(r));
  }

  async stop(): Promise<LoadReport> {
    this.child.stdin!.write('stop\n');
    const text = await this.next();
    const r = JSON.parse(text) as LoadReport & { error?: string };
    if (r.error) throw new Error(r.error);
    return r;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Every way the load could have lost something, as readable lines (empty = no loss). */
export function losses(r: LoadReport): string[] {
  const out: string[] = [];
  for (const s of r.requests) if (s.failed) out.push(`${s.target}: ${s.failed}/${s.sent} requests failed ${JSON.stringify(s.errors)}`);
  for (const s of r.keepalive) {
    if (s.failed || s.broken || s.moved) out.push(`${s.target} keep-alive: ${s.failed}/${s.sent} failed, ${s.broken} broken, ${s.moved} moved ${JSON.stringify(s.errors)}`);
  }
  for (const s of r.udp) if (s.lost || s.moved) out.push(`${s.target} UDP: ${s.lost}/${s.sent} lost, ${s.moved} flows moved ${JSON.stringify(s.errors)}`);
  return out;
}

/** One line per target: what was sent and answered. */
export function summary(r: LoadReport): string {
  const rows = [
    ...r.requests.map((s) => `${s.target} new-conn: ${s.ok}/${s.sent} ok (${Math.round((s.sent * 1000) / r.durationMs)}/s)`),
    ...r.keepalive.map((s) => `${s.target} keep-alive x${s.connections}: ${s.ok}/${s.sent} ok, ${s.broken} broken`),
    ...r.udp.map((s) => `${s.target} UDP x${s.flows}: ${s.answered}/${s.sent} answered`),
  ];
  return `${(r.durationMs / 1000).toFixed(1)} s: ${rows.join('; ')}`;
}
