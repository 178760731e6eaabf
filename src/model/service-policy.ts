// Session affinity (A1, A2), traffic policies (T1, T3) and the health-check port (T6).

import type { V1Service } from '@kubernetes/client-node';
import { BadObjectError } from '../errors.js';
import { isPortNumber } from './service-ports.js';

/** kube-apiserver's default for sessionAffinityConfig.clientIP.timeoutSeconds. */
export const DEFAULT_AFFINITY_TIMEOUT_S = 10800;
/** The API server's upper bound (one day). */
export const MAX_AFFINITY_TIMEOUT_S = 86400;

export interface ServicePolicy {
  /** 0 when affinity is off. */
  readonly affinityTimeoutS: number;
  readonly externalLocal: boolean;
  readonly internalLocal: boolean;
  readonly healthCheckNodePort?: number;
}

export function parsePolicy(svc: V1Service, where: string): { policy: ServicePolicy; errors: BadObjectError[] } {
  const spec = svc.spec ?? {};
  const errors: BadObjectError[] = [];
  let affinityTimeoutS = 0;
  const affinity = spec.sessionAffinity ?? 'None';
  if (affinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_S;
    if (!Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT_S) {
      errors.push(new BadObjectError(where, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', `must be an integer in 1..${MAX_AFFINITY_TIMEOUT_S}, got ${JSON.stringify(t)}`));
    } else affinityTimeoutS = t;
  } else if (affinity !== 'None') {
    errors.push(new BadObjectError(where, 'spec.sessionAffinity', `must be ClientIP or None, got ${JSON.stringify(affinity)}`));
  }

  const externalLocal = spec.externalTrafficPolicy === 'Local';
  const internalLocal = spec.internalTrafficPolicy === 'Local';
  let healthCheckNodePort: number | undefined;
  // The API server allocates it only for LoadBalancer Services with eTP Local (T6).
  if (spec.type === 'LoadBalancer' && externalLocal && spec.healthCheckNodePort) {
    if (isPortNumber(spec.healthCheckNodePort)) healthCheckNodePort = spec.healthCheckNodePort;
    else errors.push(new BadObjectError(where, 'spec.healthCheckNodePort', `must be an integer in 1..65535, got ${JSON.stringify(spec.healthCheckNodePort)}`));
  }
  return {
    policy: { affinityTimeoutS, externalLocal, internalLocal, ...(healthCheckNodePort !== undefined ? { healthCheckNodePort } : {}) },
    errors,
  };
}
