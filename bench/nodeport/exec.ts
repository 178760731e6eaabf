// Runs a command inside a lab namespace (nsenter, network only, so bpffs pins are shared)
// without blocking the event loop — the bench's signal handlers must be able to run while
// a loader or the load generator works — and kills it when it overstays its timeout.

import type { ChildProcess } from 'node:child_process';
import { spawnIn } from '../../src/lab/netns.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

/** Every child still running, so a signal handler can end them by their pids. */
export const running = new Set<ChildProcess>();

export function execInNs(ns: string, cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  const t0 = performance.now();
  const child = spawnIn(ns, cmd, args);
  running.add(child);
  child.stdin?.end();
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      running.delete(child);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000, timedOut });
    });
  });
}

/** Like execInNs, but a non-zero exit or a timeout is an error carrying stderr. */
export async function mustExecInNs(ns: string, cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  const r = await execInNs(ns, cmd, args, timeoutMs);
  if (r.timedOut) throw new Error(`${cmd} ${args.join(' ')}: killed after ${timeoutMs / 1000} s`);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r;
}
