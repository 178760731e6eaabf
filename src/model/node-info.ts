// Reduces a Node object to what the model uses: name, zone and addresses.

import type { V1Node } from '@kubernetes/client-node';
import { LABELS } from './labels.js';
import type { NodeInfo } from './types.js';

/** Address types a NodePort answers on (P4). Hostnames and DNS names are not addresses. */
const NODE_ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP']);

export function nodeInfoFromNode(node: V1Node): NodeInfo {
  const zone = node.metadata?.labels?.[LABELS.zone];
  const addresses: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    if (NODE_ADDRESS_TYPES.has(a.type) && a.address && !addresses.includes(a.address)) addresses.push(a.address);
  }
  return { name: node.metadata?.name ?? '', ...(zone ? { zone } : {}), addresses };
}
