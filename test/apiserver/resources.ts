// The resources the test API server serves: where they live, what they are called on the
// wire, and which fields a fieldSelector may use (kube-apiserver only accepts a few per type).

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface Resource {
  /** Collection path for all namespaces, e.g. /api/v1/services. */
  readonly path: string;
  /** URL segment of the collection, e.g. "services"; used for namespaced paths. */
  readonly plural: string;
  /** Group/version prefix, e.g. /api/v1 or /apis/discovery.k8s.io/v1. */
  readonly prefix: string;
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespaced: boolean;
  /** Field-selector fields this resource supports, with how to read them from an object. */
  readonly fields: Readonly<Record<string, (o: KubeObject) => string>>;
}

const metaFields = {
  'metadata.name': (o: KubeObject) => o.metadata?.name ?? '',
  'metadata.namespace': (o: KubeObject) => o.metadata?.namespace ?? '',
};

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function spec(o: KubeObject): Record<string, unknown> {
  const s = o['spec'];
  return typeof s === 'object' && s !== null ? (s as Record<string, unknown>) : {};
}

export const RESOURCES: readonly Resource[] = [
  {
    path: '/api/v1/services',
    plural: 'services',
    prefix: '/api/v1',
    kind: 'Service',
    apiVersion: 'v1',
    namespaced: true,
    fields: { ...metaFields, 'spec.clusterIP': (o) => str(spec(o)['clusterIP']), 'spec.type': (o) => str(spec(o)['type']) },
  },
  {
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    plural: 'endpointslices',
    prefix: '/apis/discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    namespaced: true,
    fields: { ...metaFields, addressType: (o) => str(o['addressType']) },
  },
  {
    path: '/api/v1/nodes',
    plural: 'nodes',
    prefix: '/api/v1',
    kind: 'Node',
    apiVersion: 'v1',
    namespaced: false,
    fields: { ...metaFields, 'spec.unschedulable': (o) => String(spec(o)['unschedulable'] === true) },
  },
  {
    path: '/api/v1/pods',
    plural: 'pods',
    prefix: '/api/v1',
    kind: 'Pod',
    apiVersion: 'v1',
    namespaced: true,
    fields: { ...metaFields, 'spec.nodeName': (o) => str(spec(o)['nodeName']) },
  },
  {
    path: '/api/v1/endpoints',
    plural: 'endpoints',
    prefix: '/api/v1',
    kind: 'Endpoints',
    apiVersion: 'v1',
    namespaced: true,
    fields: metaFields,
  },
];

export function resourceByKind(kind: string): Resource {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`test API server: unsupported kind ${JSON.stringify(kind)}`);
  return r;
}

/**
 * Matches a request path to a resource: the all-namespaces collection
 * (/api/v1/services) or a namespaced one (/api/v1/namespaces/NS/services).
 */
export function routeOf(pathname: string): { resource: Resource; namespace?: string } | undefined {
  for (const r of RESOURCES) {
    if (pathname === r.path) return { resource: r };
    if (r.namespaced) {
      const m = /^\/namespaces\/([^/]+)\/([^/]+)$/.exec(pathname.startsWith(r.prefix) ? pathname.slice(r.prefix.length) : '');
      if (m && m[2] === r.plural) return { resource: r, namespace: decodeURIComponent(m[1]!) };
    }
  }
  return undefined;
}
