// One id space keyed by strings (frontend identities): stable key -> id, on an IdPool.

import { IdPool } from './id-pool.js';

export class IdSpace {
  private readonly byKey = new Map<string, number>();
  private readonly pool: IdPool;

  constructor(what: string, max: number) {
    this.pool = new IdPool(what, max);
  }

  get(key: string): number | undefined {
    return this.byKey.get(key);
  }

  /** The key bound to `id`, by a scan: only error messages ask. */
  keyOf(id: number): string | undefined {
    for (const [key, have] of this.byKey) if (have === id) return key;
    return undefined;
  }

  get size(): number {
    return this.byKey.size;
  }

  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  /** The key's id, allocating a fresh one if it has none. */
  acquire(key: string): number {
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    const id = this.pool.take();
    this.byKey.set(key, id);
    return id;
  }

  /** Takes over an id found in the pinned maps. False when the id or the key is already
   *  bound to something else (the caller reports it; the entry gets a fresh id later). */
  adopt(key: string, id: number): boolean {
    const haveId = this.byKey.get(key);
    if (haveId !== undefined) return haveId === id;
    if (!this.pool.claim(id)) return false;
    this.byKey.set(key, id);
    return true;
  }

  release(key: string): boolean {
    const id = this.byKey.get(key);
    if (id === undefined) return false;
    this.byKey.delete(key);
    this.pool.free(id);
    return true;
  }
}
