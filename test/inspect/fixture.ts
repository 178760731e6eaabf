// Shared by the inspect, trace and cleanup tests: pin directories and namespaces with
// the kpxops- prefix, live state programmed the way the agent programs it (the real
// Reconciler over the real pinned maps of the committed object, plus owners.json), a
// byte-exact dump of every pinned map, and a way to run the kpx command.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap } from '../../native/index.js';
import { BACKEND_STATE, PROTO, SCOPE, SVC_FLAGS, type Backend, type Proto } from '../../src/datapath/abi.js';
import { Datapath } from '../../src/datapath/datapath.js';
import { frontendIdentity, type EncodedFrontend } from '../../src/encoder/types.js';
import { ownersOf, removeStateDir, writeOwnersFile } from '../../src/inspect/owners-file.js';
import { Reconciler } from '../../src/reconciler/reconciler.js';

export const PREFIX = `kpxops-${process.pid}`;
export const KPX_BIN = fileURLToPath(new URL('../../bin/kpx.js', import.meta.url));

let seq = 0;
/** A fresh pin directory name (not created). */
export function newPinDir(tag: string): string {
  return `/sys/fs/bpf/${PREFIX}-${tag}-${seq++}`;
}

/** Removes the pins and the owners.json state of `pinDir`. */
export function removePins(pinDir: string): void {
  rmSync(pinDir, { recursive: true, force: true });
  removeStateDir(pinDir);
}

export interface FrontendSpec {
  owner: string;
  svcId: number;
  addr: string;
  port: number;
  proto?: Proto;
  flags?: number;
  affinityTimeoutS?: number;
  /** Backends as [id, address, port, state]; those with state ACTIVE fill the slots. */
  backends: Array<[number, string, number, number?]>;
}

export function frontend(s: FrontendSpec): EncodedFrontend {
  const proto = s.proto ?? PROTO.TCP;
  const backends = new Map<number, Backend>();
  const slots: number[] = [];
  for (const [id, addr, port, state] of s.backends) {
    backends.set(id, { addr, port, proto, state: state ?? BACKEND_STATE.ACTIVE, svcId: s.svcId });
    if ((state ?? BACKEND_STATE.ACTIVE) === BACKEND_STATE.ACTIVE) slots.push(id);
  }
  return {
    owner: s.owner,
    svcId: s.svcId,
    key: { addr: s.addr, port: s.port, slot: 0, proto, scope: SCOPE.EXTERNAL },
    value: { backendId: 0, svcId: s.svcId, count: slots.length, flags: s.flags ?? SVC_FLAGS.CLUSTER_IP, affinityTimeoutS: s.affinityTimeoutS ?? 0 },
    slots,
    backends,
  };
}

/** hdls (SEMANTICS examples): 10.96.0.10:8080/TCP -> three pods on 8000, one terminating. */
export const HDLS = frontend({
  owner: 'default/hdls:http',
  svcId: 7,
  addr: '10.96.0.10',
  port: 8080,
  backends: [
    [1, '10.244.1.11', 8000],
    [2, '10.244.1.12', 8000],
    [3, '10.244.1.13', 8000],
    [4, '10.244.1.14', 8000, BACKEND_STATE.TERMINATING],
  ],
});

/** Loads the committed object over `pinDir` and programs `frontends` with the Reconciler,
 *  then writes owners.json as the agent does. The returned Datapath is open. */
export function programLive(pinDir: string, frontends: EncodedFrontend[]): Datapath {
  const dp = Datapath.load({ pinDir, pinPrograms: true }); // as the agent loads it
  try {
    const rec = new Reconciler(dp.maps);
    rec.adopt();
    rec.apply(new Map(frontends.map((f) => [frontendIdentity(f.key), f])));
    writeOwnersFile(pinDir, ownersOf(frontends));
    return dp;
  } catch (err) {
    dp.close();
    throw err;
  }
}

/** Every pinned map of `pinDir`, entries as sorted "key=value" hex lines. */
export function dumpPinnedMaps(pinDir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of readdirSync(pinDir).sort()) {
    let m: BpfMap;
    try {
      m = BpfMap.openPinned(join(pinDir, name));
    } catch {
      continue; // not a map
    }
    try {
      out[name] = m
        .entries()
        .map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`)
        .sort();
    } finally {
      m.close();
    }
  }
  return out;
}

export interface KpxRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/kpx.js, optionally inside a network namespace (nsenter keeps bpffs shared). */
export function runKpx(args: string[], netns?: string): KpxRun {
  const argv = netns ? ['nsenter', `--net=/run/netns/${netns}`, process.execPath, KPX_BIN, ...args] : [process.execPath, KPX_BIN, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** runKpx without blocking this process: for tests that serve something the command
 *  talks to (the test API server) from this same event loop. */
export function runKpxAsync(args: string[]): Promise<KpxRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KPX_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Pin roots the trace left behind (it must leave none). */
export function tracePinRoots(): string[] {
  return existsSync('/sys/fs/bpf') ? readdirSync('/sys/fs/bpf').filter((n) => n.startsWith(`kpx-trace-`)) : [];
}
