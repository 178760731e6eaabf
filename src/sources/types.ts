// The boundary between where Kubernetes objects come from (API server informers or
// manifest files) and the change tracker. Sources only report {previous, current}
// pairs; they never compute anything a proxy programs.

import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

export interface SourceSink {
  /** A Service was added (prev undefined), updated, or deleted (cur undefined). */
  service(prev: V1Service | undefined, cur: V1Service | undefined): void;
  /** An EndpointSlice was added, updated or deleted. */
  endpointSlice(prev: V1EndpointSlice | undefined, cur: V1EndpointSlice | undefined): void;
  /** This node's Node object changed (undefined: deleted or not found). */
  node(cur: V1Node | undefined): void;
  /** A Pod scheduled on this node changed (hostPort). */
  pod(prev: V1Pod | undefined, cur: V1Pod | undefined): void;
  /** Every initial list has been delivered; until then the proxy is not ready. */
  synced(): void;
}

export interface Source {
  /** Starts delivering to the sink; resolves once started (not necessarily synced). */
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
}
