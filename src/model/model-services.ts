// Models every Service handed over (a full sync, or the changed ones of a partial sync).

import { nodePortIpv4s } from './nodeport-addresses.js';
import { modelService } from './service-model.js';
import type { ModelOptions, NodeInfo, ServiceInput, ServiceOutcome } from './types.js';

/** Checks options once (e.g. at startup); throws BadFlagError on a malformed CIDR. */
export function checkModelOptions(opts: ModelOptions): void {
  nodePortIpv4s(undefined, opts.nodePortAddresses);
}

/** One outcome per input, sorted by Service key so that everything downstream
 *  (id allocation, collision resolution) is deterministic. */
export function modelServices(inputs: Iterable<ServiceInput>, node: NodeInfo | undefined, opts: ModelOptions): ServiceOutcome[] {
  checkModelOptions(opts);
  return [...inputs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((i) => modelService(i, node, opts));
}
