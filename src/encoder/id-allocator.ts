// Stable ids for frontends and backends. A frontend's id is keyed by its identity
// (address, port, protocol, scope); a backend's by its frontend's id plus its own
// address, port and protocol — so one endpoint behind two frontends has two ids and
// removing it from one frontend deletes exactly that id (see bpf/abi.h). A backend keeps
// its id when only its state changes (ACTIVE <-> TERMINATING), so its flows survive (C3).
// Ids are released only when the caller says the map entries are gone.

import type { Backend } from '../datapath/abi.js';
import type { EncodedState } from './types.js';
import { BackendIdTable, backendKey, backendKeyOf } from './backend-id-table.js';
import { IdPool } from './id-pool.js';
import { IdSpace } from './id-space.js';
import { KPX_MAX_ID } from './limits.js';

export type BackendAddress = Pick<Backend, 'addr' | 'port' | 'proto'>;


export interface IdAllocatorOptions {
  /** Largest id handed out (tests use small spaces to exercise wrap-around). */
  readonly maxSvcId?: number;
  readonly maxBackendId?: number;
}

function holdsAll(table: ReadonlyMap<number, Backend>, ids: readonly number[]): boolean {
  for (let i = 0; i < ids.length; i++) if (!table.has(ids[i]!)) return false;
  return true;
}

export class IdAllocator {
  private readonly svcs: IdSpace;
  /** Every backend id in use, whichever frontend it belongs to. */
  private readonly backends: IdPool;
  /** svcId -> its backends' ids by address. Per frontend rather than one global
   *  "svcId|address" string key: no second index to release a frontend's backends, and
   *  no key strings (at 100,000 backends the global keys and indexes held ~20 MB). */
  private readonly backendsOf = new Map<number, BackendIdTable>();

  constructor(opts: IdAllocatorOptions = {}) {
    this.svcs = new IdSpace('frontend', opts.maxSvcId ?? KPX_MAX_ID);
    this.backends = new IdPool('backend', opts.maxBackendId ?? KPX_MAX_ID);
  }

  /** The frontend's id, allocated on first use. */
  svcId(identity: string): number {
    return this.svcs.acquire(identity);
  }

  peekSvcId(identity: string): number | undefined {
    return this.svcs.get(identity);
  }

  /** The backend's id within frontend `svcId`, allocated on first use. */
  backendId(svcId: number, b: BackendAddress): number {
    return this.backendIdOf(svcId, b.addr, b.port, b.proto);
  }

  /** backendId with the address given as its parts: the encoder calls it for every
   *  backend of every frontend, without an address object each time. */
  backendIdOf(svcId: number, addr: string, port: number, proto: number): number {
    const mine = this.tableOf(svcId);
    const key = backendKeyOf(addr, port, proto);
    const have = mine.get(key);
    if (have !== undefined) return have;
    const id = this.backends.take();
    mine.add(key, id);
    return id;
  }

  /** Called once a frontend's backends are all allocated: the frontend's id table drops
   *  the spare room its arrays grew while ids were added (one table per frontend). */
  settleBackends(svcId: number): void {
    this.backendsOf.get(svcId)?.settle();
  }

  peekBackendId(svcId: number, b: BackendAddress): number | undefined {
    return this.backendsOf.get(svcId)?.get(backendKey(b));
  }

  /** Seeds a frontend id read from the pinned maps; false on a conflict. */
  adopt(identity: string, svcId: number): boolean {
    return this.svcs.adopt(identity, svcId);
  }

  /** Seeds a backend id read from the pinned maps; false on a conflict. */
  adoptBackend(svcId: number, b: BackendAddress, id: number): boolean {
    const key = backendKey(b);
    const have = this.backendsOf.get(svcId)?.get(key);
    if (have !== undefined) return have === id;
    if (!this.backends.claim(id)) return false;
    this.tableOf(svcId).add(key, id);
    return true;
  }

  /**
   * Seeds every id of a state read back from the maps (the reconciler's adopt()).
   * Returns one line per entry that could not be adopted; those get fresh ids.
   */
  adoptState(state: EncodedState): string[] {
    const problems: string[] = [];
    for (const [identity, fe] of state) {
      if (!this.adopt(identity, fe.svcId)) {
        problems.push(`frontend ${identity}: id ${fe.svcId} conflicts with ${this.svcs.keyOf(fe.svcId) ?? `id ${this.svcs.get(identity)}`}`);
        continue;
      }
      for (const [id, be] of fe.backends) {
        if (!this.adoptBackend(fe.svcId, be, id)) problems.push(`backend ${id} (${be.addr}:${be.port}/${be.proto}) of frontend ${identity}: id conflict`);
      }
    }
    return problems;
  }

  /** Frees a frontend's id and the ids of all its backends. */
  releaseSvc(identity: string): void {
    const id = this.svcs.get(identity);
    if (id === undefined) return;
    for (const bid of this.backendsOf.get(id)?.ids() ?? []) this.backends.free(bid);
    this.backendsOf.delete(id);
    this.svcs.release(identity);
  }

  releaseBackend(svcId: number, b: BackendAddress): void {
    const id = this.backendsOf.get(svcId)?.delete(backendKey(b));
    if (id !== undefined) this.backends.free(id);
  }

  /**
   * Frees every id that `programmed` does not use. Call it with what the maps hold after
   * a successful write (not with the desired state: a frontend that failed to encode
   * keeps its old entries, and their ids must stay taken). A backend id stays when the
   * programmed frontend with its svcId holds that id: ids are bound one to one, so that
   * is the same backend, and no identity string has to be built for the comparison.
   */
  releaseUnused(programmed: EncodedState): { svcs: number; backends: number } {
    const before = this.sizes();
    // svcId -> the backends of the programmed frontend(s) with that id: one table as is
    // (always, unless adopted state is inconsistent), an array only for a second one.
    type Tables = ReadonlyMap<number, Backend> | Array<ReadonlyMap<number, Backend>>;
    const live = new Map<number, Tables>();
    for (const fe of programmed.values()) {
      const have = live.get(fe.svcId);
      if (have === undefined) live.set(fe.svcId, fe.backends);
      else if (Array.isArray(have)) have.push(fe.backends);
      else live.set(fe.svcId, [have as ReadonlyMap<number, Backend>, fe.backends]);
    }
    for (const identity of this.svcs.keys()) if (!programmed.has(identity)) this.releaseSvc(identity);
    for (const [svcId, mine] of this.backendsOf) {
      const kept = live.get(svcId);
      // The usual case after a full sync, checked without a closure or a list per table:
      // the programmed frontend holds every id of its table.
      if (kept !== undefined && !Array.isArray(kept) && holdsAll(kept as ReadonlyMap<number, Backend>, mine.ids())) continue;
      const tables = kept === undefined ? [] : Array.isArray(kept) ? kept : [kept as ReadonlyMap<number, Backend>];
      for (const id of mine.retain((bid) => tables.some((m) => m.has(bid)))) this.backends.free(id);
    }
    const after = this.sizes();
    return { svcs: before.svcs - after.svcs, backends: before.backends - after.backends };
  }

  private tableOf(svcId: number): BackendIdTable {
    let mine = this.backendsOf.get(svcId);
    if (!mine) this.backendsOf.set(svcId, (mine = new BackendIdTable()));
    return mine;
  }

  /** Ids currently bound, for metrics and tests. */
  sizes(): { svcs: number; backends: number } {
    return { svcs: this.svcs.size, backends: this.backends.size };
  }
}
