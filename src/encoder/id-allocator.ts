// Stable ids for frontends and backends. A frontend's id is keyed by its identity
// (address, port, protocol, scope); a backend's by its frontend's id plus its own
// address, port and protocol — so one endpoint behind two frontends has two ids and
// removing it from one frontend deletes exactly that id (see bpf/abi.h). A backend keeps
// its id when only its state changes (ACTIVE <-> TERMINATING), so its flows survive (C3).
// Ids are released only when the caller says the map entries are gone.

import type { Backend } from '../datapath/abi.js';
import type { EncodedState } from './types.js';
import { IdSpace } from './id-space.js';
import { KPX_MAX_ID } from './limits.js';

export type BackendAddress = Pick<Backend, 'addr' | 'port' | 'proto'>;

export function backendIdentity(svcId: number, b: BackendAddress): string {
  return `${svcId}|${b.addr}:${b.port}/${b.proto}`;
}

export interface IdAllocatorOptions {
  /** Largest id handed out (tests use small spaces to exercise wrap-around). */
  readonly maxSvcId?: number;
  readonly maxBackendId?: number;
}

export class IdAllocator {
  private readonly svcs: IdSpace;
  private readonly backends: IdSpace;
  /** svcId -> identities of its backends, to release them with the frontend. */
  private readonly backendsOf = new Map<number, Set<string>>();

  constructor(opts: IdAllocatorOptions = {}) {
    this.svcs = new IdSpace('frontend', opts.maxSvcId ?? KPX_MAX_ID);
    this.backends = new IdSpace('backend', opts.maxBackendId ?? KPX_MAX_ID);
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
    const key = backendIdentity(svcId, b);
    const id = this.backends.acquire(key);
    this.remember(svcId, key);
    return id;
  }

  peekBackendId(svcId: number, b: BackendAddress): number | undefined {
    return this.backends.get(backendIdentity(svcId, b));
  }

  /** Seeds a frontend id read from the pinned maps; false on a conflict. */
  adopt(identity: string, svcId: number): boolean {
    return this.svcs.adopt(identity, svcId);
  }

  /** Seeds a backend id read from the pinned maps; false on a conflict. */
  adoptBackend(svcId: number, b: BackendAddress, id: number): boolean {
    const key = backendIdentity(svcId, b);
    if (!this.backends.adopt(key, id)) return false;
    this.remember(svcId, key);
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
    for (const key of this.backendsOf.get(id) ?? []) this.backends.release(key);
    this.backendsOf.delete(id);
    this.svcs.release(identity);
  }

  releaseBackend(svcId: number, b: BackendAddress): void {
    const key = backendIdentity(svcId, b);
    this.backends.release(key);
    this.backendsOf.get(svcId)?.delete(key);
  }

  /**
   * Frees every id that `programmed` does not use. Call it with what the maps hold after
   * a successful write (not with the desired state: a frontend that failed to encode
   * keeps its old entries, and their ids must stay taken).
   */
  releaseUnused(programmed: EncodedState): { svcs: number; backends: number } {
    const before = this.sizes();
    const liveSvcs = new Set(programmed.keys());
    const liveBackends = new Set<string>();
    for (const fe of programmed.values()) {
      for (const be of fe.backends.values()) liveBackends.add(backendIdentity(fe.svcId, be));
    }
    for (const identity of [...this.svcs.keys()]) if (!liveSvcs.has(identity)) this.releaseSvc(identity);
    for (const key of [...this.backends.keys()]) {
      if (liveBackends.has(key)) continue;
      this.backends.release(key);
      this.backendsOf.get(Number(key.slice(0, key.indexOf('|'))))?.delete(key);
    }
    const after = this.sizes();
    return { svcs: before.svcs - after.svcs, backends: before.backends - after.backends };
  }

  /** Ids currently bound, for metrics and tests. */
  sizes(): { svcs: number; backends: number } {
    return { svcs: this.svcs.size, backends: this.backends.size };
  }

  private remember(svcId: number, key: string): void {
    let set = this.backendsOf.get(svcId);
    if (!set) this.backendsOf.set(svcId, (set = new Set()));
    set.add(key);
  }
}

