// The pure middle of a sync in one call: Services -> model -> encoded desired state.

import { modelServices } from '../model/model-services.js';
import type { ModelOptions, NodeInfo, ServiceInput, ServiceModel, ServiceOutcome } from '../model/types.js';
import { encodeServices, type EncodeOptions, type EncodeResult } from './encode-state.js';
import type { IdAllocator } from './id-allocator.js';

export interface DesiredState extends EncodeResult {
  /** One per input Service, sorted by key: ok, skipped (S1-S3), bad, or absent. */
  readonly outcomes: ServiceOutcome[];
  readonly models: ServiceModel[];
}

export function desiredState(
  inputs: Iterable<ServiceInput>,
  node: NodeInfo | undefined,
  modelOpts: ModelOptions,
  ids: IdAllocator,
  encodeOpts: EncodeOptions = {},
): DesiredState {
  const outcomes = modelServices(inputs, node, modelOpts);
  const models = outcomes.flatMap((o) => (o.status === 'ok' ? [o.model] : []));
  return { ...encodeServices(models, ids, encodeOpts), outcomes, models };
}
