// Maps frontends back to the Services that own them, so a partial sync can reconcile
// exactly the frontends of the Services the change tracker reported.

import type { EncodedState } from './types.js';

/** "ns/name" of an owner string "ns/name:port"; undefined for owners that name no Service
 *  (e.g. "(adopted)" entries read back from the maps). */
export function ownerServiceKey(owner: string): string | undefined {
  const colon = owner.indexOf(':');
  const key = colon < 0 ? owner : owner.slice(0, colon);
  return /^[^/\s]+\/[^/\s]+$/.test(key) ? key : undefined;
}

/** Identities of every frontend in `states` owned by one of `serviceKeys`. Pass both the
 *  programmed and the desired state: a frontend the Service no longer has must go too. */
export function frontendsOfServices(serviceKeys: ReadonlySet<string>, ...states: EncodedState[]): Set<string> {
  const out = new Set<string>();
  for (const state of states) {
    for (const [identity, fe] of state) {
      const key = ownerServiceKey(fe.owner);
      if (key !== undefined && serviceKeys.has(key)) out.add(identity);
    }
  }
  return out;
}
