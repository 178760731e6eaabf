// Runs one golden case: input.yaml (Services, EndpointSlices, a Node and optionally a
// `kind: KpxModelOptions` document) through the whole pure pipeline — change tracker,
// model, encoder — and renders the canonical map dump plus notes about skipped, bad and
// unsupported objects and the model-only fields (source ranges, health-check port).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { canonicalDump } from '../../src/encoder/canonical-dump.js';
import { desiredState } from '../../src/encoder/desired-state.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import type { ModelOptions } from '../../src/model/types.js';
import { ChangeTracker } from '../../src/tracker/change-tracker.js';

interface CaseOptions {
  proxyName?: string;
  nodePortAddresses?: string[];
  nodeName?: string;
}

/** Applied to every Service, EndpointSlice and Node before the tracker sees it (the
 *  compaction test runs every case through what the API-server source keeps). */
export type ObjectConversion = (kind: 'Service' | 'EndpointSlice' | 'Node', obj: object) => object;

export function runCase(dir: string, convert: ObjectConversion = (_kind, obj) => obj): string {
  const text = readFileSync(join(dir, 'input.yaml'), 'utf8');
  const tracker = new ChangeTracker();
  let options: CaseOptions = {};
  let nodeName: string | undefined;
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${dir}/input.yaml: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as { kind?: string } | null;
    if (!obj) continue;
    switch (obj.kind) {
      case 'Service':
        tracker.service(undefined, convert('Service', obj) as V1Service);
        break;
      case 'EndpointSlice':
        tracker.endpointSlice(undefined, convert('EndpointSlice', obj) as V1EndpointSlice);
        break;
      case 'Node':
        tracker.node(convert('Node', obj) as V1Node);
        nodeName = (obj as V1Node).metadata?.name;
        break;
      case 'KpxModelOptions':
        options = obj as CaseOptions;
        break;
      default:
        throw new Error(`${dir}/input.yaml: unexpected kind ${String(obj.kind)}`);
    }
  }
  tracker.synced();

  const snap = tracker.snapshot();
  const opts: ModelOptions = {
    nodeName: options.nodeName ?? nodeName ?? 'node-a',
    family: 'IPv4',
    ...(options.proxyName ? { proxyName: options.proxyName } : {}),
    ...(options.nodePortAddresses ? { nodePortAddresses: options.nodePortAddresses } : {}),
  };
  const result = desiredState(snap.services.values(), snap.node, opts, new IdAllocator());
  const notes: string[] = [];
  for (const o of result.outcomes) {
    if (o.status === 'skipped') notes.push(`# skipped ${o.key} (${o.rule}): ${o.reason}`);
    else if (o.status === 'bad') for (const e of o.errors) notes.push(`# bad ${e.message}`);
    else if (o.status === 'absent') notes.push(`# absent ${o.key}: slices without a Service`);
    else {
      for (const w of o.warnings) notes.push(`# warning ${w.message}`);
      const m = o.model;
      if (m.sourceRanges || m.healthCheckNodePort !== undefined) {
        const parts = [`localReadyEndpoints=${m.localReadyEndpoints}`];
        if (m.sourceRanges) parts.unshift(`sourceRanges=[${m.sourceRanges.join(', ')}]`);
        if (m.healthCheckNodePort !== undefined) parts.unshift(`healthCheckNodePort=${m.healthCheckNodePort}`);
        notes.push(`# model ${m.key}: ${parts.join(' ')}`);
      }
    }
  }
  for (const u of result.unsupported) notes.push(`# unsupported ${u.owner} ${u.frontend}: ${u.reason}`);
  for (const e of result.errors) notes.push(`# error ${e.message}`);
  const dump = canonicalDump(result.state);
  return dump + (notes.length ? (dump ? '\n' : '') + notes.join('\n') + '\n' : '');
}
