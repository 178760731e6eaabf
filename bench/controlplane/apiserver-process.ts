// Starts apiserver-child in a process of its own and hands back its kubeconfig; close()
// ends it (closing its stdin, which it exits on, so it also ends if the bench dies).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterShape } from './cluster.js';

export interface BenchApiServer {
  readonly kubeconfigPath: string;
  close(): void;
}

/** Under tsx the child runs from its .ts source, compiled from its .js (as this file). */
function childScript(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./apiserver-child.${ext}`, import.meta.url));
}

export async function startBenchApiServer(shape: ClusterShape, timeoutMs = 300_000): Promise<BenchApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kpxbench-apiserver-'));
  const args = [...process.execArgv, childScript(), '--services', String(shape.services), '--endpoints', String(shape.endpointsPerService), '--dir', dir];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const close = (): void => {
    child.stdin?.end();
    if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const kubeconfigPath = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`bench API server not up after ${timeoutMs} ms`)), timeoutMs);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, nl));
        }
      });
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench API server exited (${code}): ${err.trim()}`));
      });
    });
    return { kubeconfigPath, close };
  } catch (e) {
    close();
    throw e;
  }
}
