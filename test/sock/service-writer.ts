// Writes frontends straight into the services and backends maps, in the control plane's
// packet-safe order (backends, slots, slot 0; shrinking: slot 0 first), for tests that
// need a service without the whole model/encoder/reconciler pipeline.
import type { BpfMap } from '../../native/index.js';
import {
  BACKEND_STATE,
  SCOPE,
  decodeSvcValue,
  encodeBackend,
  encodeBackendId,
  encodeSvcKey,
  encodeSvcValue,
  type Proto,
} from '../../src/datapath/abi.js';

export interface FrontendSpec {
  addr: string;
  port: number;
  proto: Proto;
  /** The entry's own id; an INTERNAL entry has its own, as the encoder gives it. */
  svcId: number;
  scope?: number;
  flags: number;
  affinityTimeoutS?: number;
  /** [backend id, address, port], in slot order; all ACTIVE. */
  backends: Array<[number, string, number]>;
}

export class ServiceWriter {
  readonly #written = new Map<number, FrontendSpec>();

  constructor(private readonly maps: { services: BpfMap; backends: BpfMap }) {}

  /** Creates or rewrites the entry `spec.svcId`; backends no longer listed are deleted. */
  put(spec: FrontendSpec): void {
    const old = this.#written.get(spec.svcId);
    for (const [id, addr, port] of spec.backends) {
      this.maps.backends.update(
        encodeBackendId(id),
        encodeBackend({ addr, port, proto: spec.proto, state: BACKEND_STATE.ACTIVE, svcId: spec.svcId }),
      );
    }
    this.#written.set(spec.svcId, spec);
    this.setSlots(spec.svcId, spec.backends.map(([id]) => id));
    const keep = new Set(spec.backends.map(([id]) => id));
    for (const [id] of old?.backends ?? []) if (!keep.has(id)) this.deleteBackend(id);
  }

  /** Points the entry's slots at `ids`. */
  setSlots(svcId: number, ids: number[]): void {
    const s = this.#spec(svcId);
    const key = (slot: number) =>
      encodeSvcKey({ addr: s.addr, port: s.port, proto: s.proto, scope: s.scope ?? SCOPE.EXTERNAL, slot });
    const old = this.maps.services.lookup(key(0));
    const oldCount = old ? decodeSvcValue(old).count : 0;
    const front = encodeSvcValue({ backendId: 0, svcId, count: ids.length, flags: s.flags, affinityTimeoutS: s.affinityTimeoutS ?? 0 });
    if (ids.length < oldCount) this.maps.services.update(key(0), front);
    ids.forEach((id, i) =>
      this.maps.services.update(key(i + 1), encodeSvcValue({ backendId: id, svcId, count: 0, flags: 0, affinityTimeoutS: 0 })),
    );
    this.maps.services.update(key(0), front);
    for (let slot = ids.length + 1; slot <= oldCount; slot++) this.maps.services.delete(key(slot));
  }

  deleteBackend(id: number): void {
    this.maps.backends.delete(encodeBackendId(id));
  }

  /** Deletes the entry: slot 0 first, then its slots and backends. */
  remove(svcId: number): void {
    const s = this.#spec(svcId);
    this.setSlots(svcId, []);
    this.maps.services.delete(
      encodeSvcKey({ addr: s.addr, port: s.port, proto: s.proto, scope: s.scope ?? SCOPE.EXTERNAL, slot: 0 }),
    );
    for (const [id] of s.backends) this.deleteBackend(id);
    this.#written.delete(svcId);
  }

  #spec(svcId: number): FrontendSpec {
    const s = this.#written.get(svcId);
    if (!s) throw new Error(`frontend ${svcId} was not written`);
    return s;
  }
}
