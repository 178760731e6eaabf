// The numbers of one id space (frontend ids or backend ids), 1..max, each bound to one
// owner; 0 is never used.
//
// Fresh ids come from a counter that only moves forward and wraps at `max`, so an id
// released now is handed out again only after every other id has been used since. That
// keeps a stale reference (a conntrack or affinity entry that outlives its backend)
// from landing on an unrelated new backend in practice, not just in principle.

import { KpxError } from '../errors.js';

export class IdPool<Owner> {
  private readonly owners = new Map<number, Owner>();
  private next = 1;

  constructor(
    private readonly what: string,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.owners.size;
  }

  ownerOf(id: number): Owner | undefined {
    return this.owners.get(id);
  }

  /** A fresh id for `owner`. */
  take(owner: Owner): number {
    if (this.owners.size >= this.max) throw new KpxError('KPX_IDS_EXHAUSTED', `no free ${this.what} id (all ${this.max} in use)`);
    let id = this.next;
    while (this.owners.has(id)) id = id >= this.max ? 1 : id + 1;
    this.next = id >= this.max ? 1 : id + 1;
    this.owners.set(id, owner);
    return id;
  }

  /** Binds a given id (one found in the pinned maps) to `owner`; false when it is out of
   *  range or taken. Fresh ids then continue above it, so ids of the previous run are not
   *  handed out while its conntrack entries may still name them. */
  claim(id: number, owner: Owner): boolean {
    if (!Number.isInteger(id) || id < 1 || id > this.max || this.owners.has(id)) return false;
    this.owners.set(id, owner);
    if (id >= this.next) this.next = id >= this.max ? 1 : id + 1;
    return true;
  }

  free(id: number): boolean {
    return this.owners.delete(id);
  }
}
