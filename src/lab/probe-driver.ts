// Drives a probe (src/lab/probe.ts) running inside a client namespace: one JSON command
// out, one JSON answer back, in order.

import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnIn, TS_NODE_ARGS } from './netns.js';
import type { PodAnswer } from './pod-server.js';

export interface ProbeResult {
  ok: boolean;
  answers: PodAnswer[];
  error?: string;
}

const PROBE = fileURLToPath(new URL('./probe.ts', import.meta.url));

export class Probe {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(r: ProbeResult) => void> = [];
  private readonly ready: Promise<ProbeResult>;

  constructor(readonly ns: string) {
    this.child = spawnIn(ns, process.execPath, [...TS_NODE_ARGS, PROBE]);
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as ProbeResult));
    this.child.on('exit', () => {
      for (const w of this.waiting.splice(0)) w({ ok: false, answers: [], error: 'probe exited' });
    });
    this.ready = new Promise((resolve) => this.waiting.push(resolve));
  }

  async send(cmd: Record<string, unknown>): Promise<ProbeResult> {
    await this.ready;
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(JSON.stringify(cmd) + '\n');
    });
  }

  /** `count` new connections, one GET each; `closer`: which side closes first. */
  http(host: string, port: number, count = 1, closer: 'client' | 'server' = 'client'): Promise<ProbeResult> {
    return this.send({ op: 'http', host, port, count, closer });
  }

  /** `count` datagrams, each from a new socket; `size`: bytes per datagram (its answer is
   *  as large). */
  udp(host: string, port: number, count = 1, size?: number): Promise<ProbeResult> {
    return this.send({ op: 'udp', host, port, count, ...(size !== undefined ? { size } : {}) });
  }

  close(): void {
    this.child.stdin?.end();
    this.child.kill();
  }
}
