// A frontend's backends by id, as the encoder builds them: a read-only Map made of two
// parallel arrays, with a real Map as index only past INDEX_FROM entries. The desired
// state holds one per frontend — 10,000 at 10,000 Services — and a 10-entry Map costs
// about twice the two arrays.

import type { Backend } from '../datapath/abi.js';

const INDEX_FROM = 16;

export class BackendTable implements ReadonlyMap<number, Backend> {
  private index: Map<number, number> | undefined;

  /** `ids[i]` is the id of `list[i]`; ids are distinct. Both arrays are kept as given. */
  constructor(
    private readonly ids: readonly number[],
    private readonly list: readonly Backend[],
  ) {
    if (ids.length !== list.length) throw new RangeError('BackendTable: ids and backends differ in length');
    if (ids.length > INDEX_FROM) this.index = new Map(ids.map((id, i) => [id, i]));
  }

  get size(): number {
    return this.ids.length;
  }

  get(id: number): Backend | undefined {
    const at = this.index ? this.index.get(id) : this.ids.indexOf(id);
    return at === undefined || at < 0 ? undefined : this.list[at];
  }

  has(id: number): boolean {
    return this.index ? this.index.has(id) : this.ids.includes(id);
  }

  forEach(cb: (value: Backend, key: number, map: ReadonlyMap<number, Backend>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.ids.length; i++) cb.call(thisArg, this.list[i]!, this.ids[i]!, this);
  }

  *entries(): MapIterator<[number, Backend]> {
    for (let i = 0; i < this.ids.length; i++) yield [this.ids[i]!, this.list[i]!];
  }

  keys(): MapIterator<number> {
    return this.ids.values();
  }

  values(): MapIterator<Backend> {
    return this.list.values();
  }

  [Symbol.iterator](): MapIterator<[number, Backend]> {
    return this.entries();
  }
}
