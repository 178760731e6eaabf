// The numbers of one id space (frontend ids or backend ids), 1..max; 0 is never used.
//
// Fresh ids come from a counter that only moves forward and wraps at `max`, so an id
// released now is handed out again only after every other id has been used since. That
// keeps a stale reference (a conntrack or affinity entry that outlives its backend)
// from landing on an unrelated new backend in practice, not just in principle.
//
// Which ids are taken is a bitmap in blocks of 1,024 ids, a block only while it holds a
// taken id: the counter hands ids out in runs, so 100,000 backends take ~100 blocks
// (~25 KB) where a Map or Set of ids took ~4 MB, plus its garbage while it grew.

import { KpxError } from '../errors.js';

/** Ids per block; ids go up to 2^32 - 1, past what 32-bit shifts can index. */
const BLOCK = 1024;
const BLOCK_WORDS = BLOCK / 32;

export class IdPool {
  private readonly blocks = new Map<number, Uint32Array>();
  private count = 0;
  private next = 1;

  constructor(
    private readonly what: string,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    const block = this.blocks.get(Math.floor(id / BLOCK));
    return !!block && (block[(id % BLOCK) >>> 5]! & (1 << (id & 31))) !== 0;
  }

  /** A fresh id. */
  take(): number {
    if (this.count >= this.max) throw new KpxError('KPX_IDS_EXHAUSTED', `no free ${this.what} id (all ${this.max} in use)`);
    let id = this.next;
    while (this.has(id)) id = id >= this.max ? 1 : id + 1;
    this.next = id >= this.max ? 1 : id + 1;
    this.mark(id);
    return id;
  }

  /** Takes a given id (one found in the pinned maps); false when it is out of range or
   *  taken. Fresh ids then continue above it, so ids of the previous run are not handed
   *  out while its conntrack entries may still name them. */
  claim(id: number): boolean {
    if (!Number.isInteger(id) || id < 1 || id > this.max || this.has(id)) return false;
    this.mark(id);
    if (id >= this.next) this.next = id >= this.max ? 1 : id + 1;
    return true;
  }

  free(id: number): boolean {
    if (!this.has(id)) return false;
    const index = Math.floor(id / BLOCK);
    const block = this.blocks.get(index)!;
    block[(id % BLOCK) >>> 5]! &= ~(1 << (id & 31));
    this.count--;
    if (block.every((w) => w === 0)) this.blocks.delete(index);
    return true;
  }

  private mark(id: number): void {
    const index = Math.floor(id / BLOCK);
    let block = this.blocks.get(index);
    if (!block) this.blocks.set(index, (block = new Uint32Array(BLOCK_WORDS)));
    block[(id % BLOCK) >>> 5]! |= 1 << (id & 31);
    this.count++;
  }
}
