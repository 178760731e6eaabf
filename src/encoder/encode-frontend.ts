// Encodes one model frontend into map entries.
//
// Scope — what each services-map entry of a frontend means:
//  * SCOPE.EXTERNAL (0): every frontend has it. Its slots are the Cluster-policy
//    selection (E1 + E3). Traffic uses it unless a Local policy applies. For an
//    ETP_LOCAL frontend it is what this node's pods use (T2 short-circuit); for an
//    ITP_LOCAL ClusterIP it only tells "no endpoint anywhere" (count 0: reject, N1)
//    from "none on this node" (INTERNAL count 0: drop, N2).
//  * SCOPE.INTERNAL (1): present exactly when slot 0 carries ETP_LOCAL (NodePort,
//    externalIP, LB IP frontends: traffic not from a local pod uses it, T1) or
//    ITP_LOCAL (the ClusterIP frontend: all its traffic uses it, T3). Its slots are the
//    Local-policy selection: this node's endpoints, E1 fallback computed on its own, no
//    hints. It always exists when the flag is set, even with count 0, so the datapath
//    never mistakes a missing entry for "no local endpoint". It has its own svcId and its
//    own backend ids, so conntrack and affinity entries never mix the two sets.
//
// Backend state: slots hold only ACTIVE backends and count = slots.length, so the
// datapath rule "new flows only to ACTIVE" holds. State says what the datapath may do
// with a backend in this entry, not the pod's condition: when no endpoint is ready and
// the E1 fallback makes serving-terminating endpoints usable, they are ACTIVE here.
// Serving endpoints outside the selection (terminating ones while ready ones exist, C3;
// ready ones in other zones while hints apply, C1) stay as TERMINATING backends, in no
// slot, so their established flows keep going.

import { BACKEND_STATE, PROTO, SCOPE, SVC_FLAGS, type Proto, type SvcKey } from '../datapath/abi.js';
import { compareAddrPort } from '../model/ip.js';
import type { BackendSet, FrontendKind, ModelBackend, ModelFrontend } from '../model/types.js';
import { BackendTable } from './backend-table.js';
import type { IdAllocator } from './id-allocator.js';
import type { EncodedFrontend } from './types.js';

const KIND_FLAGS: Readonly<Record<FrontendKind, number>> = {
  ClusterIP: SVC_FLAGS.CLUSTER_IP,
  NodePort: SVC_FLAGS.NODE_PORT,
  ExternalIP: SVC_FLAGS.EXTERNAL_IP,
  LoadBalancer: SVC_FLAGS.LOAD_BALANCER,
  HostPort: SVC_FLAGS.HOST_PORT,
};

export function frontendFlags(fe: ModelFrontend): number {
  let flags = KIND_FLAGS[fe.kind];
  if (fe.affinityTimeoutS > 0) flags |= SVC_FLAGS.AFFINITY;
  if (fe.etpLocal) flags |= SVC_FLAGS.ETP_LOCAL;
  if (fe.itpLocal) flags |= SVC_FLAGS.ITP_LOCAL;
  if (fe.sourceRanges) flags |= SVC_FLAGS.SOURCE_RANGES;
  return flags;
}

/** Backend state byte: ACTIVE/TERMINATING plus the LOCAL flag for endpoints on this node,
 *  which tells the external datapath whether a flow needs SNAT (remote) or not (T4). */
function backendState(state: number, local: boolean): number {
  return local ? state | BACKEND_STATE.LOCAL_FLAG : state;
}

/** Whether the frontend gets a SCOPE.INTERNAL entry (see the header comment). */
export function hasLocalScope(fe: ModelFrontend): boolean {
  return fe.etpLocal || fe.itpLocal;
}

/** Map protocol number; undefined for protocols the datapath does not handle (SCTP). */
export function protoNumber(fe: ModelFrontend): Proto | undefined {
  return fe.protocol === 'TCP' ? PROTO.TCP : fe.protocol === 'UDP' ? PROTO.UDP : undefined;
}

/** Identities of every entry `fe` produces (EXTERNAL, then INTERNAL if any). */
export function entryKeys(fe: ModelFrontend, proto: Proto): SvcKey[] {
  // Literals, not spreads of a shared base: one map key object per entry of every frontend.
  const keys: SvcKey[] = [{ addr: fe.addr, port: fe.port, slot: 0, proto, scope: SCOPE.EXTERNAL }];
  if (hasLocalScope(fe)) keys.push({ addr: fe.addr, port: fe.port, slot: 0, proto, scope: SCOPE.INTERNAL });
  return keys;
}

/** `list` sorted by address then port; `list` itself when it already is (the model's sets are). */
function sortedByAddrPort<T extends { addr: string; port: number }>(list: readonly T[]): readonly T[] {
  for (let i = 1; i < list.length; i++) if (compareAddrPort(list[i - 1]!, list[i]!) > 0) return [...list].sort(compareAddrPort);
  return list;
}

/** One services-map entry of `fe` (identity = frontendIdentity(key)); allocates ids as needed. */
export function encodeEntry(fe: ModelFrontend, key: SvcKey, identity: string, set: BackendSet, ids: IdAllocator): EncodedFrontend {
  const svcId = ids.svcId(identity);
  const usable = sortedByAddrPort(set.usable);
  const kept = sortedByAddrPort(set.kept);
  // The table's parallel arrays, filled directly and of exact size (the desired state
  // keeps them): no Backend or address object per backend, which a full sync would build
  // 100,000 of at 10,000 x 10, all garbage at once.
  const total = usable.length + kept.length;
  const idList = new Array<number>(total);
  const addrs = new Array<string>(total);
  const portStates = new Array<number>(total);
  let count = 0;
  const proto = key.proto;
  // Ids are distinct per address, and the model's sets hold an address once; should one
  // repeat anyway, the later entry wins, as it would in a Map.
  let seen: Set<number> | undefined;
  const add = (b: ModelBackend, state: number): number => {
    const id = ids.backendIdOf(svcId, b.addr, b.port, proto);
    let at = count;
    if (count <= 16 || (seen ??= new Set(idList.slice(0, count))).has(id)) {
      for (let i = 0; i < count; i++) {
        if (idList[i] === id) {
          at = i;
          break;
        }
      }
    }
    if (at === count) {
      idList[count++] = id;
      seen?.add(id);
    }
    addrs[at] = b.addr;
    portStates[at] = b.port * 256 + backendState(state, b.local);
    return id;
  };
  const usableIds = usable.map((b) => add(b, BACKEND_STATE.ACTIVE));
  for (const b of kept) add(b, BACKEND_STATE.TERMINATING);
  if (count < total) {
    idList.length = count;
    addrs.length = count;
    portStates.length = count;
  }
  // Every backend in a slot, none repeated (the usual case): the slots are the table's ids
  // in the same order, so the frontend keeps one array for both. Both are read-only.
  const slots = kept.length === 0 && count === usableIds.length ? idList : usableIds;
  ids.settleBackends(svcId);
  const entry: EncodedFrontend = {
    owner: fe.owner,
    svcId,
    key,
    value: { backendId: 0, svcId, count: slots.length, flags: frontendFlags(fe), affinityTimeoutS: fe.affinityTimeoutS },
    slots,
    backends: BackendTable.compact(idList, addrs, portStates, proto, svcId),
  };
  return fe.sourceRanges ? { ...entry, sourceRanges: fe.sourceRanges } : entry;
}
