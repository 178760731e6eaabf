// Checks one manifest object as the API server would on create, and returns a private,
// defaulted copy. Kinds kpx does not read are reported as ignored; Nodes other than this
// node and Pods scheduled elsewhere are ignored too (an API-server source never sees them,
// thanks to its field selectors).

import { API_VERSIONS, type SourceKind } from '../typed.js';
import { Checker, isObject, PROTOCOLS, type JsonObject, type Problem } from './fields.js';
import { validateEndpointSlice, validateEndpoints } from './validate-endpoints.js';
import { validateService, type ServiceRules } from './validate-service.js';

export interface ValidateContext extends ServiceRules {
  readonly nodeName: string;
}

export interface Identity {
  readonly kind: SourceKind;
  readonly namespace: string; // '' for Nodes
  readonly name: string;
}

export type Validated =
  | { readonly status: 'ok'; readonly id: Identity; readonly obj: JsonObject }
  | { readonly status: 'invalid'; readonly id?: Identity; readonly kind?: string; readonly problems: readonly Problem[] }
  | { readonly status: 'ignored'; readonly kind: string; readonly reason: string };

const KINDS = Object.keys(API_VERSIONS) as SourceKind[];

/** "Service default/web", "Node n1". */
export function describeIdentity(id: Identity): string {
  return `${id.kind} ${id.namespace === '' ? '' : `${id.namespace}/`}${id.name}`;
}

export function identityKey(id: Identity): string {
  return `${id.kind}/${id.namespace}/${id.name}`;
}

/** Metadata the server owns; a manifest's copy (e.g. from `kubectl get -o yaml`) is dropped. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp'];

export function validateObject(input: unknown, ctx: ValidateContext): Validated {
  if (!isObject(input)) {
    return { status: 'invalid', problems: [{ field: '(document)', reason: 'must be a mapping with apiVersion, kind and metadata' }] };
  }
  const c = new Checker();
  const kindText = c.string(input['kind'], 'kind', true);
  if (kindText === undefined || kindText === '') {
    if (kindText === '') c.fail('kind', 'required value');
    return { status: 'invalid', problems: c.problems };
  }
  if (!(KINDS as string[]).includes(kindText)) {
    return { status: 'ignored', kind: kindText, reason: 'kind not used by kpx' };
  }
  const kind = kindText as SourceKind;
  const obj = structuredClone(input);

  const apiVersion = c.string(obj['apiVersion'], 'apiVersion', true);
  if (apiVersion !== undefined && apiVersion !== API_VERSIONS[kind]) {
    c.fail('apiVersion', `${JSON.stringify(apiVersion)} is not supported for ${kind}: use ${API_VERSIONS[kind]}`);
  }
  const meta = c.object(obj['metadata'], 'metadata', true);
  if (!meta) return { status: 'invalid', kind, problems: c.problems };
  const name = c.name(meta['name'], 'metadata.name', kind === 'Service' ? 'dns1035Label' : 'dns1123Subdomain');
  let namespace = '';
  if (kind === 'Node') delete meta['namespace'];
  else namespace = c.name(meta['namespace'] ?? 'default', 'metadata.namespace', 'dns1123Label') ?? 'default';
  if (kind !== 'Node') meta['namespace'] = namespace;
  c.stringMap(meta['labels'], 'metadata.labels');
  c.stringMap(meta['annotations'], 'metadata.annotations');
  for (const k of SERVER_METADATA) delete meta[k];
  const id: Identity | undefined = name === undefined ? undefined : { kind, namespace, name };

  if (kind === 'Node' && name !== undefined && name !== ctx.nodeName) {
    return { status: 'ignored', kind, reason: `Node ${name} is not this node (${ctx.nodeName})` };
  }
  if (kind === 'Pod') {
    const nodeName = isObject(obj['spec']) ? obj['spec']['nodeName'] : undefined;
    if (nodeName !== ctx.nodeName) return { status: 'ignored', kind, reason: 'Pod not scheduled on this node' };
  }

  switch (kind) {
    case 'Service':
      validateService(c, obj, ctx);
      break;
    case 'Endpoints':
      validateEndpoints(c, obj);
      break;
    case 'EndpointSlice':
      validateEndpointSlice(c, obj);
      break;
    case 'Pod':
      validatePod(c, obj);
      break;
    case 'Node':
      break;
  }
  if (!c.ok || id === undefined) return { status: 'invalid', id, kind, problems: c.problems };
  obj['apiVersion'] = API_VERSIONS[kind];
  return { status: 'ok', id, obj };
}

/** Only what hostPort handling reads: container ports. */
function validatePod(c: Checker, pod: JsonObject): void {
  const spec = c.object(pod['spec'], 'spec', true) ?? {};
  c.array(spec['containers'], 'spec.containers').forEach((raw, i) => {
    const ctr = c.object(raw, `spec.containers[${i}]`, true);
    c.array(ctr?.['ports'], `spec.containers[${i}].ports`).forEach((rp, j) => {
      const f = `spec.containers[${i}].ports[${j}]`;
      const p = c.object(rp, f, true);
      if (!p) return;
      c.int(p['containerPort'], `${f}.containerPort`, 1, 65535, true);
      c.int(p['hostPort'], `${f}.hostPort`, 1, 65535);
      const protocol = c.oneOf(p['protocol'], `${f}.protocol`, PROTOCOLS, 'TCP');
      if (protocol) p['protocol'] = protocol;
    });
  });
}
