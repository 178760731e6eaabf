// Reads the manifest files of a directory: *.yaml, *.yml and *.json at its top level,
// following symlinks (ConfigMap volumes are symlink farms) and skipping hidden files
// (editor lock files, ConfigMap's ..data).

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScannedFile } from './compile.js';

export function isManifestName(name: string): boolean {
  return !name.startsWith('.') && /\.(ya?ml|json)$/.test(name);
}

/** Throws when the directory itself cannot be read; unreadable files come back with readError. */
export async function readManifestDir(dir: string): Promise<ScannedFile[]> {
  const names = (await readdir(dir)).filter(isManifestName).sort();
  const files: ScannedFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (!(await stat(path)).isFile()) continue;
      files.push({ name, text: await readFile(path, 'utf8') });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') continue; // removed between readdir and read: simply gone
      files.push({ name, readError: err.message });
    }
  }
  return files;
}
