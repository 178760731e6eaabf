// What the change tracker hands the sync loop.

import type { NodeInfo, ServiceInput } from '../model/types.js';
import type { HostPort } from './signatures.js';

export interface TrackedChanges {
  /** True when this node's relevant Node fields changed: every Service must be recomputed
   *  and `services` holds every key the tracker knows. */
  readonly all: boolean;
  /** Service key -> its current Service and slices, for every key that may have changed
   *  (a deleted Service comes with `service: undefined`). */
  readonly services: ReadonlyMap<string, ServiceInput>;
  readonly node: NodeInfo | undefined;
  /** The set of host ports on this node changed. */
  readonly hostPortsChanged: boolean;
  readonly synced: boolean;
}

export interface TrackerSnapshot {
  readonly services: ReadonlyMap<string, ServiceInput>;
  readonly node: NodeInfo | undefined;
  readonly hostPorts: readonly HostPort[];
  readonly synced: boolean;
}
