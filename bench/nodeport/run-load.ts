// Drives a load generator (loadgen.ts) running in the external client's namespace of one
// lab: one LoadSpec out, one LoadResult back, in order.

import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnIn, TS_NODE_ARGS } from '../../src/lab/netns.js';
import { running } from './exec.js';
import type { LoadResult, LoadSpec } from './loadgen.js';

const LOADGEN = fileURLToPath(new URL('./loadgen.ts', import.meta.url));

type Answer = LoadResult | { error: string } | { ready: true };

export class LoadClient {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(a: Answer) => void> = [];
  private readonly ready: Promise<Answer>;

  constructor(ns: string) {
    this.child = spawnIn(ns, process.execPath, [...TS_NODE_ARGS, LOADGEN]);
    running.add(this.child);
    this.child.stderr?.resume(); // never let a full pipe block it
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as Answer));
    this.child.on('exit', (code) => {
      running.delete(this.child);
      for (const w of this.waiting.splice(0)) w({ error: `load generator exited (${code})` });
    });
    this.ready = new Promise((resolve) => this.waiting.push(resolve));
  }

  async run(spec: LoadSpec): Promise<LoadResult> {
    const r = await this.ready;
    if ('error' in r) throw new Error(r.error);
    // Room for a run that ends on timeouts; a stuck generator is killed, not waited for.
    const budgetMs = (spec.warmupS + spec.seconds) * 1000 + 4 * spec.timeoutMs + 30_000;
    const answer = await new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), budgetMs);
      this.waiting.push((a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.child.stdin!.write(JSON.stringify(spec) + '\n');
    });
    if ('error' in answer) throw new Error(`load generator: ${answer.error}`);
    if ('ready' in answer) throw new Error('load generator: out of step');
    return answer;
  }

  close(): void {
    this.child.stdin?.end();
  }
}
