// client-node's Watch with every object event reduced to what the proxy reads
// (compact-object.ts) before the informer sees it, so the informer caches the compact
// object and never the whole one.
// BOOKMARK and ERROR events pass untouched: the informer reads their resourceVersion and
// status code.

import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { SourceKind } from '../typed.js';
import { compactObject } from './compact-object.js';

const OBJECT_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);

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
    return super.watch(path, queryParams, (phase, apiObj) => callback(phase, OBJECT_EVENTS.has(phase) ? compactObject(this.kind, apiObj) : apiObj), done);
  }
}
