// What the encoder hands the reconciler: per frontend, everything the datapath needs,
// with stable ids. The reconciler writes one EncodedFrontend as a unit (backends, then
// slots, then slot 0) so a packet never sees a half-written backend set.

import type { Backend, SvcKey, SvcValue } from '../datapath/abi.js';

export interface EncodedFrontend {
  /** Human-readable owner, e.g. "default/hdls:http" — for inspect views and errors. */
  readonly owner: string;
  /** Stable id of this frontend (slot-0 value.svcId); never 0. */
  readonly svcId: number;
  /** The slot-0 key (slot = 0). */
  readonly key: SvcKey;
  /** The slot-0 value; value.count === slots.length. */
  readonly value: SvcValue;
  /** Backend ids for slots 1..n, in slot order. */
  readonly slots: readonly number[];
  /** Every backend this frontend owns, by id: those in slots plus terminating ones kept for C3. */
  readonly backends: ReadonlyMap<number, Backend>;
  /** LoadBalancer frontends: the allowed source CIDRs (T5), written to kpx_srcrange_v1
   *  under this frontend's svcId. Present = restricted (empty = nothing allowed). */
  readonly sourceRanges?: readonly string[];
}

/** The whole desired datapath state, keyed by frontend identity (see frontendIdentity). */
export type EncodedState = ReadonlyMap<string, EncodedFrontend>;

/** Identity of a frontend: address, port, protocol and scope. Two frontends with the same
 *  identity are the same map entry. */
export function frontendIdentity(k: Pick<SvcKey, 'addr' | 'port' | 'proto' | 'scope'>): string {
  // join() makes one flat string; a template literal makes a tree of concatenations that
  // stays (~32 bytes more) once the string is a Map key, and these are kept per frontend.
  return [k.addr, ':', k.port, '/', k.proto, '/', k.scope].join('');
}
