// Builds the test-only BPF objects in test/native/fixtures/ and gives each test its own
// bpffs pin directory (/sys/fs/bpf/kpxnat-test-*), removed again in cleanup.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBpffs } from '../../native/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const MULTIARCH = `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;

let buildDir: string | undefined;
const built = new Map<string, string>();

/** Compile fixtures/NAME.bpf.c (once per process) and return the object's path. */
export function fixtureObject(name: 'native_test' | 'native_reject'): string {
  const cached = built.get(name);
  if (cached) return cached;
  buildDir ??= mkdtempSync(join(tmpdir(), 'kpxnat-build-'));
  const out = join(buildDir, `${name}.bpf.o`);
  const args = ['-O2', '-g', '-Wall', '-target', 'bpf', '-c', join(FIXTURES, `${name}.bpf.c`), '-o', out];
  if (existsSync(MULTIARCH)) args.unshift(`-I${MULTIARCH}`);
  execFileSync('clang', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  built.set(name, out);
  return out;
}

/** Remove the build directory; call from a top-level after(). */
export function removeFixtures(): void {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  buildDir = undefined;
  built.clear();
}

let pinSeq = 0;

/** A fresh, empty pin directory on bpffs with the kpxnat-test- prefix. */
export function pinDir(): string {
  ensureBpffs();
  const dir = `/sys/fs/bpf/kpxnat-test-${process.pid}-${pinSeq++}`;
  rmSync(dir, { recursive: true, force: true });
  ensureBpffs(dir);
  return dir;
}

export function removePins(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Little-endian u32 / u64 buffers, the way the fixture's maps store them. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
/** struct kv_key { __u32 a, b; } of the fixture's t_hash. */
export function kvKey(a: number, b = 0): Buffer {
  const k = Buffer.alloc(8);
  k.writeUInt32LE(a, 0);
  k.writeUInt32LE(b, 4);
  return k;
}
