// What the API-server source watches: for each resource its watch path (with the query the
// informer cannot pass itself) and the list call that seeds it, one page per call.

import { CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { SourceKind } from '../typed.js';
import type { ListPageFn } from './paged-list.js';

export interface WatchedResource {
  /** For logs: "services", "endpointslices", "node", "pods". */
  readonly name: string;
  readonly kind: SourceKind;
  /** Collection path without query, e.g. /api/v1/services. */
  readonly collection: string;
  readonly fieldSelector?: string;
  /** One page of the list (paged-list.ts follows the continue tokens). */
  readonly list: ListPageFn;
}

export function watchedResources(kc: KubeConfig, nodeName: string, watchPods: boolean): WatchedResource[] {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const nodeSelector = `metadata.name=${nodeName}`;
  const podSelector = `spec.nodeName=${nodeName}`;
  const resources: WatchedResource[] = [
    {
      name: 'services',
      kind: 'Service',
      collection: '/api/v1/services',
      list: (page) => core.listServiceForAllNamespaces(page),
    },
    {
      name: 'endpointslices',
      kind: 'EndpointSlice',
      collection: '/apis/discovery.k8s.io/v1/endpointslices',
      list: (page) => discovery.listEndpointSliceForAllNamespaces(page),
    },
    {
      name: 'node',
      kind: 'Node',
      collection: '/api/v1/nodes',
      fieldSelector: nodeSelector,
      list: (page) => core.listNode({ fieldSelector: nodeSelector, ...page }),
    },
  ];
  if (watchPods) {
    resources.push({
      name: 'pods',
      kind: 'Pod',
      collection: '/api/v1/pods',
      fieldSelector: podSelector,
      list: (page) => core.listPodForAllNamespaces({ fieldSelector: podSelector, ...page }),
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
