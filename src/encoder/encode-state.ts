// Encodes modelled Services into the desired datapath state. A Service that cannot be
// encoded whole (too many backends) is reported and left out entirely, never half
// programmed; `failed` names it so the reconciler can keep what the maps already hold
// for it. A frontend whose identity another Service already took is reported and left
// out; Services are processed in key order, so the outcome is deterministic.

import { BadObjectError, type KpxError } from '../errors.js';
import { serviceWhere } from '../model/object-keys.js';
import type { ModelFrontend, ServiceModel } from '../model/types.js';
import { SCOPE } from '../datapath/abi.js';
import { encodeEntry, entryKeys, protoNumber } from './encode-frontend.js';
import type { IdAllocator } from './id-allocator.js';
import { KPX_MAX_BACKENDS_PER_SVC } from './limits.js';
import { frontendIdentity, type EncodedFrontend } from './types.js';

export interface EncodeOptions {
  /** Defaults to KPX_MAX_BACKENDS_PER_SVC; tests lower it. */
  readonly maxBackendsPerSvc?: number;
}

export interface UnsupportedFrontend {
  readonly owner: string;
  readonly frontend: string;
  readonly reason: string;
}

export interface EncodeResult {
  /** Keyed by frontendIdentity. */
  readonly state: Map<string, EncodedFrontend>;
  readonly errors: KpxError[];
  /** Services left out entirely because they could not be encoded whole. */
  readonly failed: Set<string>;
  /** Frontends the datapath cannot serve (SCTP), left out. */
  readonly unsupported: UnsupportedFrontend[];
}

function describe(fe: ModelFrontend): string {
  return `${fe.addr}:${fe.port}/${fe.protocol}`;
}

/** The first frontend whose backend set exceeds the limit, if any. */
function overLimit(model: ServiceModel, max: number): BadObjectError | undefined {
  for (const fe of model.frontends) {
    const n = Math.max(fe.cluster.usable.length, fe.local.usable.length);
    if (n > max) {
      return new BadObjectError(serviceWhere(model.key), 'endpoints', `${n} backends for ${describe(fe)} exceed the limit of ${max} per frontend (KPX_MAX_BACKENDS_PER_SVC); Service not programmed`);
    }
  }
  return undefined;
}

/**
 * Encodes one Service into `result`, which may already hold other Services. Returns the
 * frontend identities it added to `result.state`, so a caller that keeps a per-Service
 * index (the sync engine) need not diff the whole state to find them: that diff is
 * O(all frontends) per Service, O(N^2) over a full sync.
 */
export function encodeServiceInto(result: EncodeResult, model: ServiceModel, ids: IdAllocator, opts: EncodeOptions = {}): string[] {
  const added: string[] = [];
  const limitError = overLimit(model, opts.maxBackendsPerSvc ?? KPX_MAX_BACKENDS_PER_SVC);
  if (limitError) {
    result.errors.push(limitError);
    result.failed.add(model.key);
    return added;
  }
  for (const fe of model.frontends) {
    const proto = protoNumber(fe);
    if (proto === undefined || fe.unsupported) {
      result.unsupported.push({ owner: fe.owner, frontend: describe(fe), reason: fe.unsupported ?? `protocol ${fe.protocol}` });
      continue;
    }
    const keys = entryKeys(fe, proto);
    // Each identity is built once and is the one string the id allocator, the desired
    // state and the reconciler all keep.
    const identities = keys.map(frontendIdentity);
    const clash = identities.map((id) => result.state.get(id)).find((e) => e !== undefined);
    if (clash) {
      result.errors.push(new BadObjectError(serviceWhere(model.key), `frontend ${describe(fe)}`, `already used by ${clash.owner}; not programmed for ${fe.owner}`));
      continue;
    }
    keys.forEach((key, i) => {
      const identity = identities[i]!;
      result.state.set(identity, encodeEntry(fe, key, identity, key.scope === SCOPE.INTERNAL ? fe.local : fe.cluster, ids));
      added.push(identity);
    });
  }
  return added;
}

export function emptyEncodeResult(): EncodeResult {
  return { state: new Map(), errors: [], failed: new Set(), unsupported: [] };
}

/** Encodes every Service, in key order. */
export function encodeServices(models: readonly ServiceModel[], ids: IdAllocator, opts: EncodeOptions = {}): EncodeResult {
  const result = emptyEncodeResult();
  const sorted = [...models].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const model of sorted) encodeServiceInto(result, model, ids, opts);
  return result;
}
