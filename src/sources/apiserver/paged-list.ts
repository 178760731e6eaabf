// A list in pages, as client-go's reflector lists: `limit` objects per request, following
// `continue` tokens, each page reduced by `keep` as it arrives. Unpaged, a 10,000-object
// list is one response parsed whole into model objects (tens of MB at once, for the
// informer to reduce afterwards); paged, at most one page of whole objects is alive.
// A token that expired mid-list (410: the server no longer holds the snapshot the pages
// come from) falls back to one unpaged list, as client-go's pager does: retrying in pages
// could expire again on a busy server.

import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

export interface PageRequest {
  limit?: number;
  _continue?: string;
}

export type ListPageFn = (page: PageRequest) => Promise<KubernetesListObject<KubernetesObject>>;

export interface ListResult<T> {
  readonly resourceVersion: string;
  readonly items: T[];
}

/** client-go's default page size. */
export const DEFAULT_PAGE_SIZE = 500;

function isExpired(err: unknown): boolean {
  const e = err as { code?: unknown; statusCode?: unknown };
  return e?.code === 410 || e?.statusCode === 410;
}

export async function listInPages<T>(fetch: ListPageFn, keep: (o: KubernetesObject) => T, pageSize = DEFAULT_PAGE_SIZE): Promise<ListResult<T>> {
  const items: T[] = [];
  let resourceVersion = '';
  let token: string | undefined;
  do {
    let page: KubernetesListObject<KubernetesObject>;
    try {
      page = await fetch(token === undefined ? { limit: pageSize } : { limit: pageSize, _continue: token });
    } catch (err) {
      if (token === undefined || !isExpired(err)) throw err;
      const whole = await fetch({});
      return { resourceVersion: whole.metadata?.resourceVersion ?? '', items: whole.items.map(keep) };
    }
    // Every page carries the resourceVersion of the first page's snapshot.
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    for (const o of page.items) items.push(keep(o));
    token = page.metadata?._continue || undefined;
  } while (token !== undefined);
  return { resourceVersion, items };
}
