// What the API-server source watches: for each resource its collection, the field selector
// its list and watch use, and the watch path (with the query the informer cannot pass
// itself).

import type { SourceKind } from '../typed.js';

export interface WatchedResource {
  /** For logs: "services", "endpointslices", "node", "pods". */
  readonly name: string;
  readonly kind: SourceKind;
  /** Collection path without query, e.g. /api/v1/services. */
  readonly collection: string;
  readonly fieldSelector?: string;
}

export function watchedResources(nodeName: string, watchPods: boolean): WatchedResource[] {
  const nodeSelector = `metadata.name=${nodeName}`;
  const podSelector = `spec.nodeName=${nodeName}`;
  const resources: WatchedResource[] = [
    {
      name: 'services',
      kind: 'Service',
      collection: '/api/v1/services',
    },
    {
      name: 'endpointslices',
      kind: 'EndpointSlice',
      collection: '/apis/discovery.k8s.io/v1/endpointslices',
    },
    {
      name: 'node',
      kind: 'Node',
      collection: '/api/v1/nodes',
      fieldSelector: nodeSelector,
    },
  ];
  if (watchPods) {
    resources.push({
      name: 'pods',
      kind: 'Pod',
      collection: '/api/v1/pods',
      fieldSelector: podSelector,
    });
  }
  return resources;
}

/**
 * The path handed to the informer. client-node's informer only adds watch and
 * resourceVersion to the URL, so everything else rides in the path: the field selector,
 * bookmarks (so resuming after a quiet period does not need an old resourceVersion), and
 * a server-side timeout so watches are re-established regularly, as client-go does.
 */
export function watchPath(r: WatchedResource, timeoutSeconds: number): string {
  const q = new URLSearchParams();
  if (r.fieldSelector) q.set('fieldSelector', r.fieldSelector);
  q.set('allowWatchBookmarks', 'true');
  q.set('timeoutSeconds', String(timeoutSeconds));
  return `${r.collection}?${q.toString()}`;
}
