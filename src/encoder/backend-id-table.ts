// One frontend's backend ids, by backend address. The id allocator keeps one per frontend
// — 10,000 of them at 10,000 Services — so it is built for the small case: two parallel
// arrays searched linearly, and a Map index only once a frontend has more than
// INDEX_FROM backends. Keys are numbers for canonical IPv4 addresses over TCP or UDP (no
// string is built to look one up), strings otherwise.

import { PROTO } from '../datapath/abi.js';
import { canonicalQuad } from '../model/ip.js';
import type { BackendAddress } from './id-allocator.js';

const INDEX_FROM = 16;

export type BackendKey = number | string;

/** Two addresses get the same key exactly when address, port and protocol are equal. */
export function backendKey(b: BackendAddress): BackendKey {
  return backendKeyOf(b.addr, b.port, b.proto);
}

/** backendKey of an address given as its parts (no object to build per lookup). */
export function backendKeyOf(addr: string, port: number, proto: number): BackendKey {
  const n = canonicalQuad(addr);
  if (n !== undefined && (proto === PROTO.TCP || proto === PROTO.UDP) && Number.isInteger(port) && port >= 0 && port <= 0xffff) {
    // < 2^49: an exact integer in a double.
    return (n * 0x10000 + port) * 2 + (proto === PROTO.UDP ? 1 : 0);
  }
  return `${addr}:${port}/${proto}`;
}

export class BackendIdTable {
  private keys: BackendKey[] = [];
  private idList: number[] = [];
  /** Ids were added since the last settle(): the arrays may have spare room. */
  private grown = false;
  /** key -> position in the arrays, once the table is large. */
  private index: Map<BackendKey, number> | undefined;

  get size(): number {
    return this.idList.length;
  }

  get(key: BackendKey): number | undefined {
    const at = this.positionOf(key);
    return at === undefined ? undefined : this.idList[at];
  }

  /** Adds an id for a key the table does not hold yet. */
  add(key: BackendKey, id: number): void {
    this.grown = true;
    this.keys.push(key);
    this.idList.push(id);
    if (this.index) this.index.set(key, this.keys.length - 1);
    else if (this.keys.length > INDEX_FROM) this.index = new Map(this.keys.map((k, i) => [k, i]));
  }

  /** Copies the arrays to their exact size if ids were added since the last call: an
   *  array grown by push keeps room for ~1.5x its entries plus 16. */
  settle(): void {
    if (!this.grown) return;
    this.grown = false;
    this.keys = this.keys.slice();
    this.idList = this.idList.slice();
  }

  /** Removes the key; returns the id it had. */
  delete(key: BackendKey): number | undefined {
    const at = this.positionOf(key);
    if (at === undefined) return undefined;
    return this.removeAt(at);
  }

  ids(): readonly number[] {
    return this.idList;
  }

  /** Removes every entry whose id `keep` rejects; returns the removed ids. */
  retain(keep: (id: number) => boolean): number[] {
    const removed: number[] = [];
    for (let at = this.idList.length - 1; at >= 0; at--) {
      const id = this.idList[at]!;
      if (!keep(id)) removed.push(this.removeAt(at));
    }
    return removed;
  }

  private positionOf(key: BackendKey): number | undefined {
    if (this.index) return this.index.get(key);
    const at = this.keys.indexOf(key);
    return at < 0 ? undefined : at;
  }

  /** Swap-with-last removal: order carries no meaning here. */
  private removeAt(at: number): number {
    const id = this.idList[at]!;
    const key = this.keys[at]!;
    const last = this.keys.length - 1;
    if (at !== last) {
      const movedKey = this.keys[last]!;
      this.keys[at] = movedKey;
      this.idList[at] = this.idList[last]!;
      this.index?.set(movedKey, at);
    }
    this.keys.pop();
    this.idList.pop();
    this.index?.delete(key);
    return id;
  }
}
