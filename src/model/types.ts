// What the pure model hands the encoder: per Service, the frontends this node must
// program, each with the endpoint sets that kube-proxy's rules (SEMANTICS.md) select.
// Nothing here knows about maps, ids or byte order.

import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { BadObjectError } from '../errors.js';

export type Family = 'IPv4';

export interface ModelOptions {
  /** This node's name: endpoints with this nodeName are local (E2). */
  readonly nodeName: string;
  /** Trial mode (S2): handle only Services and slices labelled with this proxy name. */
  readonly proxyName?: string;
  /** `--nodeport-addresses` CIDRs (P4); unset or empty = every node address. */
  readonly nodePortAddresses?: readonly string[];
  readonly family: Family;
}

/** The parts of this node's Node object the model uses. */
export interface NodeInfo {
  readonly name: string;
  /** `topology.kubernetes.io/zone` label (E3). */
  readonly zone?: string;
  /** InternalIP and ExternalIP addresses in the order the Node lists them, any family. */
  readonly addresses: readonly string[];
}

/** One Service and its EndpointSlices, as the change tracker hands them over. */
export interface ServiceInput {
  /** "namespace/name". */
  readonly key: string;
  /** Undefined when the Service is deleted or not (yet) known. */
  readonly service: V1Service | undefined;
  readonly slices: readonly V1EndpointSlice[];
}

export type FrontendKind = 'ClusterIP' | 'NodePort' | 'ExternalIP' | 'LoadBalancer' | 'HostPort';
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

/** One endpoint of one Service port, after de-duplication across slices (E2). */
export interface ModelBackend {
  readonly addr: string;
  /** The endpoint's port for this Service port (P2). */
  readonly port: number;
  readonly nodeName?: string;
  readonly zone?: string;
  /** nodeName equals this node's name (E2). */
  readonly local: boolean;
  /** Condition `ready` true or unset, and `serving` not false. */
  readonly ready: boolean;
  /** Condition `serving` true or unset. */
  readonly serving: boolean;
  readonly terminating: boolean;
  /** hints.forZones names; empty when the endpoint carries no zone hints. */
  readonly zoneHints: readonly string[];
}

export interface BackendSet {
  /** May take new flows: the E1 (and, for Cluster policy, E3) selection. Sorted by address, port. */
  readonly usable: readonly ModelBackend[];
  /** Serving endpoints outside `usable`: they keep existing flows but get no new ones
   *  (terminating ones for C3; for Cluster policy also ready ones that zone hints left out, C1). */
  readonly kept: readonly ModelBackend[];
}

export interface ModelFrontend {
  /** "namespace/name" of the owning Service. */
  readonly serviceKey: string;
  /** "namespace/name:portName", or "namespace/name:port" when the port is unnamed. */
  readonly owner: string;
  readonly kind: FrontendKind;
  readonly addr: string;
  readonly port: number;
  readonly protocol: L4Protocol;
  /** ClientIP affinity timeout in seconds (A1); 0 when affinity is off (A2). */
  readonly affinityTimeoutS: number;
  /** eTP Local applies to this frontend: it takes external traffic (NodePort, externalIP, LB IP) (T1). */
  readonly etpLocal: boolean;
  /** iTP Local applies to this frontend: it is the ClusterIP frontend (T3). */
  readonly itpLocal: boolean;
  /** Cluster-policy selection: every usable endpoint in the cluster, zone hints applied (E1, E3). */
  readonly cluster: BackendSet;
  /** Local-policy selection: this node's endpoints only, E1 fallback computed on its own, no hints. */
  readonly local: BackendSet;
  /** LoadBalancer frontends only: allowed IPv4 source CIDRs (T5). Undefined = no restriction;
   *  empty = the Service restricts sources but lists no IPv4 range, so nothing is allowed. */
  readonly sourceRanges?: readonly string[];
  /** Set when the datapath cannot serve this frontend (SCTP); the encoder skips it and says so. */
  readonly unsupported?: string;
}

export interface ServiceModel {
  readonly key: string;
  readonly frontends: readonly ModelFrontend[];
  /** Normalised IPv4 loadBalancerSourceRanges of a LoadBalancer Service (T5); see ModelFrontend. */
  readonly sourceRanges?: readonly string[];
  /** spec.healthCheckNodePort of a LoadBalancer Service with eTP Local (T6). */
  readonly healthCheckNodePort?: number;
  /** Distinct local ready endpoints across the Service's ports: what the T6 check reports. */
  readonly localReadyEndpoints: number;
}

/** What a T6 health-check server needs of a Service: the sync engine keeps only this
 *  (not the whole model, whose backend sets are the size of the Service's endpoints). */
export interface HealthCheckTarget {
  readonly key: string;
  readonly healthCheckNodePort: number;
  readonly localReadyEndpoints: number;
}

export type ServiceOutcome =
  | { readonly key: string; readonly status: 'ok'; readonly model: ServiceModel; readonly warnings: readonly BadObjectError[] }
  | { readonly key: string; readonly status: 'skipped'; readonly rule: 'S1' | 'S2' | 'S3'; readonly reason: string }
  | { readonly key: string; readonly status: 'bad'; readonly errors: readonly BadObjectError[] }
  | { readonly key: string; readonly status: 'absent' };
