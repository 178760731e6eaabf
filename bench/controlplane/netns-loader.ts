// Loads rule files into scratch network namespaces the bench creates and times the
// loader process (`ip netns exec NS iptables-restore …` / `… nft -f …`) from spawn to
// exit. Never touches the host's own tables: every load names a namespace with the
// bench's prefix, and every namespace created here is deleted by cleanup().

import { spawn, spawnSync } from 'node:child_process';

export interface RunResult {
  readonly ok: boolean;
  readonly ms: number;
  readonly timedOut: boolean;
  readonly stderr: string;
  readonly stdout: string;
}

/** Runs a short command synchronously (setup, cleanup, version checks). */
export function run(cmd: string, args: readonly string[], timeoutMs: number): RunResult {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  const timedOut = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  return { ok: r.status === 0 && !r.error, ms, timedOut, stderr: (r.stderr ?? '') + (r.error && !timedOut ? String(r.error) : ''), stdout: r.stdout ?? '' };
}

/** Runs a loader, timed from spawn to exit, killed at the timeout (the nf_tables backend
 *  of iptables-restore can take many minutes on a ruleset this size). Asynchronous so
 *  that SIGINT/SIGTERM reach the bench's cleanup while a loader runs. */
export function runTimed(cmd: string, args: readonly string[], timeoutMs: number, onTimeout?: () => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
      // The child may have started others (GNU time's loader) that hold our pipes open.
      onTimeout?.();
    }, timeoutMs);
    let spawnError = '';
    child.on('error', (e) => (spawnError = String(e)));
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      resolve({ ok: code === 0 && !timedOut && !spawnError, ms, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') + spawnError });
    });
  });
}

/** Whether `tool` runs at all; its `--version` line when it does. */
export function toolVersion(tool: string): string | undefined {
  const r = run(tool, ['--version'], 10_000);
  return r.ok ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined;
}

export class Namespaces {
  private readonly live = new Set<string>();

  constructor(private readonly prefix: string) {}

  /** Creates `<prefix>-<suffix>` (deleting a leftover of the same name first). */
  create(suffix: string): string {
    const name = `${this.prefix}-${suffix}`;
    if (!name.startsWith('kpxbench-cp-')) throw new Error(`refusing netns name ${name}`);
    run('ip', ['netns', 'del', name], 60_000);
    const r = run('ip', ['netns', 'add', name], 60_000);
    if (!r.ok) throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
    this.live.add(name);
    return name;
  }

  /** `ip netns exec NS cmd args…`, timed. */
  exec(ns: string, cmd: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
    if (!this.live.has(ns)) throw new Error(`netns ${ns} was not created by this bench`);
    return runTimed('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs, () => this.killAll(ns));
  }

  /** Ends exactly the processes inside `ns` (all started by the bench). */
  private killAll(ns: string): void {
    for (const pid of run('ip', ['netns', 'pids', ns], 10_000).stdout.split('\n').map(Number).filter((p) => p > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  delete(ns: string): void {
    if (!this.live.has(ns)) return;
    // A loader still running (interrupted bench) must not outlive its namespace's name.
    this.killAll(ns);
    // A killed loader can leave the namespace briefly busy; the delete itself is async in
    // the kernel (its rules are freed after the name is gone).
    run('ip', ['netns', 'del', ns], 120_000);
    this.live.delete(ns);
  }

  cleanup(): void {
    for (const ns of [...this.live]) this.delete(ns);
  }
}
