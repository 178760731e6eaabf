// A frontend's backends by id, as the encoder builds them: a read-only Map kept as
// parallel arrays, with a real Map as index only past INDEX_FROM entries. The desired
// state holds one per frontend — 10,000 tables and 100,000 backends at 10,000 Services x
// 10 endpoints — so the common case is stored compactly: when every backend has the
// table's protocol and svcId (the encoder's case), a backend is an address reference and
// one small integer (port and state), and get()/values() build Backend objects on demand.
// Callers compare backends field by field, never by identity.

import type { Backend, Proto } from '../datapath/abi.js';

const INDEX_FROM = 16;

interface CompactParts {
  readonly addrs: readonly string[];
  readonly portStates: readonly number[];
  readonly proto: Proto;
  readonly svcId: number;
}

function isStateByte(state: number): boolean {
  return state >= 0 && state < 256 && Number.isInteger(state);
}

export class BackendTable implements ReadonlyMap<number, Backend> {
  private readonly ids: readonly number[];
  private readonly addrs: readonly string[] | undefined;
  /** port * 256 + state, when compact. */
  private readonly portStates: readonly number[] | undefined;
  private readonly proto: Proto;
  private readonly svcId: number;
  /** The backends as given, when they do not share one protocol and svcId. */
  private readonly list: readonly Backend[] | undefined;
  private readonly index: Map<number, number> | undefined;

  /** `ids[i]` is the id of `backends[i]`; ids are distinct. */
  constructor(ids: readonly number[], backends: readonly Backend[]);
  constructor(ids: readonly number[], backends: readonly Backend[] | undefined, parts: CompactParts);
  constructor(ids: readonly number[], backends: readonly Backend[] | undefined, parts?: CompactParts) {
    if (parts) {
      // Taken as given (compact()): no copies.
      if (ids.length !== parts.addrs.length || ids.length !== parts.portStates.length) throw new RangeError('BackendTable: ids and backends differ in length');
      this.ids = ids;
      this.proto = parts.proto;
      this.svcId = parts.svcId;
      this.addrs = parts.addrs;
      this.portStates = parts.portStates;
      this.list = undefined;
    } else {
      const list = backends ?? [];
      if (ids.length !== list.length) throw new RangeError('BackendTable: ids and backends differ in length');
      this.ids = ids.slice();
      const first = list[0];
      this.proto = first?.proto ?? 6;
      this.svcId = first?.svcId ?? 0;
      const compact = list.every((b) => b.proto === this.proto && b.svcId === this.svcId && isStateByte(b.state));
      this.addrs = compact ? list.map((b) => b.addr) : undefined;
      this.portStates = compact ? list.map((b) => b.port * 256 + b.state) : undefined;
      this.list = compact ? undefined : list.slice();
    }
    if (ids.length > INDEX_FROM) this.index = new Map(ids.map((id, i) => [id, i]));
  }

  /**
   * A table of backends that share `proto` and `svcId`, from parallel arrays the caller
   * hands over and no longer changes: backend i has id ids[i], address addrs[i], port and
   * state portStates[i] (port * 256 + state, state < 256). The encoder builds its tables
   * this way, without a Backend object per backend that would be garbage at once.
   */
  static compact(ids: readonly number[], addrs: readonly string[], portStates: readonly number[], proto: Proto, svcId: number): BackendTable {
    return new BackendTable(ids, undefined, { addrs, portStates, proto, svcId });
  }

  get size(): number {
    return this.ids.length;
  }

  get(id: number): Backend | undefined {
    const at = this.index ? this.index.get(id) : this.ids.indexOf(id);
    return at === undefined || at < 0 ? undefined : this.at(at);
  }

  has(id: number): boolean {
    return this.index ? this.index.has(id) : this.ids.includes(id);
  }

  forEach(cb: (value: Backend, key: number, map: ReadonlyMap<number, Backend>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.ids.length; i++) cb.call(thisArg, this.at(i), this.ids[i]!, this);
  }

  *entries(): MapIterator<[number, Backend]> {
    for (let i = 0; i < this.ids.length; i++) yield [this.ids[i]!, this.at(i)];
  }

  keys(): MapIterator<number> {
    return this.ids.values();
  }

  *values(): MapIterator<Backend> {
    for (let i = 0; i < this.ids.length; i++) yield this.at(i);
  }

  [Symbol.iterator](): MapIterator<[number, Backend]> {
    return this.entries();
  }

  private at(i: number): Backend {
    if (this.list) return this.list[i]!;
    const ps = this.portStates![i]!;
    return { addr: this.addrs![i]!, port: Math.floor(ps / 256), proto: this.proto, state: ps % 256, svcId: this.svcId };
  }
}
