// owners.json: which Service port owns each frontend id. The maps hold only numeric ids,
// so the agent writes this file after every sync that changed it, and `kpx inspect` and
// `kpx trace` read it to print names.
//
// It cannot live in the pin directory: bpffs holds only BPF objects and directories
// (creating a regular file there fails with EPERM). It lives under /run/kpx/state at the
// pin directory's own path, e.g. /run/kpx/state/sys/fs/bpf/kpx/owners.json for the default
// /sys/fs/bpf/kpx, so each pin directory (several labs or tests on one machine) has its
// own, and anything that knows --bpffs-dir finds it. /run is tmpfs: like the absence of
// pins after a reboot, the file is gone then too, and the agent rewrites it at its first
// sync.

import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const STATE_ROOT = '/run/kpx/state';

export interface OwnersFile {
  version: 1;
  /** The pin directory whose frontends these are. */
  pinDir: string;
  /** When the agent wrote it (ISO 8601). */
  written: string;
  /** Frontend id (slot-0 svc_id, decimal) -> owner, e.g. "default/hdls:http". */
  frontends: Record<string, string>;
}

export function stateDirFor(pinDir: string, root: string = STATE_ROOT): string {
  return join(root, resolve(pinDir));
}

export function ownersFilePath(pinDir: string, root: string = STATE_ROOT): string {
  return join(stateDirFor(pinDir, root), 'owners.json');
}

/** The id -> owner table of a desired state (frontend id and owner of each frontend). */
export function ownersOf(frontends: Iterable<{ svcId: number; owner: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  const sorted = [...frontends].sort((a, b) => a.svcId - b.svcId);
  for (const fe of sorted) out[String(fe.svcId)] = fe.owner;
  return out;
}

/**
 * Writes the file atomically: a reader sees the old or the new table, never half of one
 * (write to a temporary file in the same directory, then rename over the old one).
 */
export function writeOwnersFile(pinDir: string, frontends: Record<string, string>, root: string = STATE_ROOT): string {
  const path = ownersFilePath(pinDir, root);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const body: OwnersFile = { version: 1, pinDir: resolve(pinDir), written: new Date().toISOString(), frontends };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, path);
  return path;
}

/** id -> owner, or an empty map when there is no (readable) file: names are a nicety. */
export function readOwners(pinDir: string, root: string = STATE_ROOT): Map<number, string> {
  let parsed: Partial<OwnersFile>;
  try {
    parsed = JSON.parse(readFileSync(ownersFilePath(pinDir, root), 'utf8')) as Partial<OwnersFile>;
  } catch {
    return new Map();
  }
  const out = new Map<number, string>();
  for (const [id, owner] of Object.entries(parsed.frontends ?? {})) if (typeof owner === 'string') out.set(Number(id), owner);
  return out;
}

/** Removes the pin directory's state directory; true if there was one. */
export function removeStateDir(pinDir: string, root: string = STATE_ROOT): boolean {
  const dir = stateDirFor(pinDir, root);
  if (!existsSync(dir)) return false;
  rmSync(dir, { recursive: true, force: true });
  // Prune the now-empty parents (…/sys/fs/bpf) up to the root; stop at the first that
  // holds another pin directory's state.
  for (let d = dirname(dir); d.startsWith(root + '/'); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      break;
    }
  }
  return true;
}
