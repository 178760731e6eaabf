// Start-up checks of `kpx agent`, run before anything is loaded or attached, so that a
// misconfigured node fails at once with one line saying what is wrong and how to fix it
// (`kpx: … [KPX_ENVIRONMENT]`, exit 1) instead of half-starting. Also turns the kernel's
// refusals while loading the datapath into the same kind of message.

import { accessSync, constants, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBpffs, ifIndex } from '../../native/index.js';
import { bpffsRootOf, Datapath, type DatapathOptions } from '../datapath/datapath.js';
import { BpfError, EnvironmentError, KpxError } from '../errors.js';

const EPERM = 1;
const EACCES = 13;

export interface PreflightInput {
  objectPath: string;
  pinDir: string;
  manifestsDir?: string;
  externalInterface?: string;
}

export function preflight(p: PreflightInput): void {
  checkObject(p.objectPath);
  if (p.manifestsDir !== undefined) checkManifestsDir(p.manifestsDir);
  if (p.externalInterface !== undefined) checkInterface(p.externalInterface);
  checkPinDir(p.pinDir);
}

function checkObject(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new EnvironmentError(
      `cannot read the datapath object ${path}: ${reason(err)}`,
      'build it with scripts/build-bpf, or pass --datapath-object PATH of a kpx.bpf.o',
    );
  }
}

function checkManifestsDir(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch (err) {
    throw new EnvironmentError(`cannot read the manifests directory ${dir}: ${reason(err)}`, 'pass --manifests DIR of an existing, readable directory');
  }
}

function checkInterface(name: string): void {
  try {
    ifIndex(name);
  } catch {
    throw new EnvironmentError(
      `the external interface "${name}" does not exist in this network namespace`,
      'check --external-interface against `ip link show`, and run the agent in the host network namespace',
    );
  }
}

/** The pin directory must be on a bpffs (kpx mounts one if it can) and writable. */
function checkPinDir(pinDir: string): void {
  ensureBpffs(bpffsRootOf(pinDir)); // its errors already say what and how
  const probe = join(pinDir, `kpx_write_check_${process.pid}`); // bpffs refuses dots
  try {
    mkdirSync(pinDir, { recursive: true, mode: 0o700 });
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (err) {
    throw new EnvironmentError(
      `the pin directory ${pinDir} is not writable: ${reason(err)}`,
      'run the agent as root (CAP_SYS_ADMIN and CAP_DAC_OVERRIDE) with the bpffs mounted read-write, or pick another --bpffs-dir',
    );
  }
}

/** Datapath.load, with the kernel's refusals explained in one line. */
export function loadDatapath(opts: DatapathOptions & { objectPath: string; pinDir: string }): Datapath {
  try {
    return Datapath.load(opts);
  } catch (err) {
    throw explainLoadError(err, opts.objectPath, opts.pinDir);
  }
}

export function explainLoadError(err: unknown, objectPath: string, pinDir: string): unknown {
  if (!(err instanceof BpfError) || err.code === 'KPX_VERIFIER') return err;
  if (err.errno === EPERM || err.errno === EACCES) {
    return new EnvironmentError(
      `the kernel refused to load the datapath ${objectPath}: operation not permitted (errno ${err.errno})`,
      'run the agent as root, or with CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN',
    );
  }
  if (/reuse pinned map|pinned map.*(mismatch|incompatible)/i.test(err.message)) {
    const map = /map '([^']+)'/.exec(err.message)?.[1] ?? 'a map';
    return new EnvironmentError(
      `the pinned ${map} under ${pinDir} does not match the datapath object (capacity or layout changed)`,
      `keep the old --map-size, or remove the old pins with \`kpx cleanup --bpffs-dir ${pinDir}\` (flows in progress lose their state); see docs/upgrade.md`,
    );
  }
  return err;
}

function reason(err: unknown): string {
  if (err instanceof KpxError) return err.message;
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')})` : String(e.message ?? err);
}
