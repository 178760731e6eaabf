// One id space (frontend ids or backend ids): stable key -> id, 0 never used.
//
// Fresh ids come from a counter that only moves forward and wraps at `max`, so an id
// released now is handed out again only after every other id has been used since. That
// keeps a stale reference (a conntrack or affinity entry that outlives its backend)
// from landing on an unrelated new backend in practice, not just in principle.

import { KpxError } from '../errors.js';

export class IdSpace {
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  private next = 1;

  constructor(
    private readonly what: string,
    private readonly max: number,
  ) {}

  get(key: string): number | undefined {
    return this.byKey.get(key);
  }

  keyOf(id: number): string | undefined {
    return this.byId.get(id);
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
    if (this.byId.size >= this.max) throw new KpxError('KPX_IDS_EXHAUSTED', `no free ${this.what} id (all ${this.max} in use)`);
    let id = this.next;
    while (this.byId.has(id)) id = id >= this.max ? 1 : id + 1;
    this.next = id >= this.max ? 1 : id + 1;
    this.set(key, id);
    return id;
  }

  /** Takes over an id found in the pinned maps. False when the id or the key is already
   *  bound to something else (the caller reports it; the entry gets a fresh id later). */
  adopt(key: string, id: number): boolean {
    if (!Number.isInteger(id) || id < 1 || id > this.max) return false;
    const haveId = this.byKey.get(key);
    const haveKey = this.byId.get(id);
    if (haveId === id && haveKey === key) return true;
    if (haveId !== undefined || haveKey !== undefined) return false;
    this.set(key, id);
    // Fresh ids continue above what was adopted, so ids of the previous run are not
    // handed out while its conntrack entries may still name them.
    if (id >= this.next) this.next = id >= this.max ? 1 : id + 1;
    return true;
  }

  release(key: string): boolean {
    const id = this.byKey.get(key);
    if (id === undefined) return false;
    this.byKey.delete(key);
    this.byId.delete(id);
    return true;
  }

  private set(key: string, id: number): void {
    this.byKey.set(key, id);
    this.byId.set(id, key);
  }
}
