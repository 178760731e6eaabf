// client-node's Watch with every object event converted before the informer sees it: raw
// JSON becomes the model object (typed.ts) reduced to what the proxy reads
// (compact-object.ts), so the informer caches the compact object and never the whole one.
// BOOKMARK and ERROR events pass untouched: the informer reads their resourceVersion and
// status code.

import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { toTyped, type SourceKind } from '../typed.js';
import { compactObject } from './compact-object.js';

const OBJECT_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/** Raw JSON (or a model object) of `kind` as the agent keeps it. */
export function toCompact(kind: SourceKind, obj: unknown): KubernetesObject {
  return compactObject(kind, toTyped(kind, obj));
}

export class CompactingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly kind: SourceKind,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // The third argument (the whole event, as parsed) is not passed on: the informer does
    // not read it, and nothing should hold on to the uncompacted object.
    return super.watch(path, queryParams, (phase, apiObj) => callback(phase, OBJECT_EVENTS.has(phase) ? toCompact(this.kind, apiObj) : apiObj), done);
  }
}
