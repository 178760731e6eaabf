// A list in pages, as client-go's reflector does: `limit` objects per request (0: one
// request for everything), following `continue` tokens, each page's items reduced as they
// arrive (raw-list.ts). A token that expired mid-list (410: the server no longer holds the
// snapshot the pages come from) falls back to one unpaged list, as client-go's pager
// does: retrying in pages could expire again on a busy server.

import { ListError } from './raw-list.js';

export interface PageRequest {
  limit?: number;
  continue?: string;
}

/** One page, its items already reduced to what the caller keeps. */
export interface Page<T> {
  resourceVersion?: string;
  continue?: string;
  items: T[];
}

export type ListPageFn<T> = (page: PageRequest) => Promise<Page<T>>;

export interface ListResult<T> {
  readonly resourceVersion: string;
  readonly items: T[];
}

/**
 * Objects per page: client-go's 500, which keeps each response the API server builds
 * bounded. The agent's memory does not depend on it: pages are read item by item
 * (list-splitter.ts). 10,000 Services x 10 endpoints with managedFields, measured with
 * bench/controlplane.ts: RSS after the first sync 219-223 MB with 500, 217-223 MB with 100,
 * 215-228 MB unpaged (0). Read whole, pages of 500 had left ~275 MB after listing.
 */
export const DEFAULT_PAGE_SIZE = 500;

function isExpired(err: unknown): boolean {
  return err instanceof ListError && err.statusCode === 410;
}

export async function listInPages<T>(fetch: ListPageFn<T>, pageSize = DEFAULT_PAGE_SIZE): Promise<ListResult<T>> {
  const items: T[] = [];
  let resourceVersion = '';
  let token: string | undefined;
  do {
    let page: Page<T>;
    try {
      page = await fetch(token === undefined ? { limit: pageSize } : { limit: pageSize, continue: token });
    } catch (err) {
      if (token === undefined || !isExpired(err) || !pageSize) throw err;
      const whole = await fetch({});
      return { resourceVersion: whole.resourceVersion ?? '', items: whole.items };
    }
    // Every page carries the resourceVersion of the first page's snapshot.
    resourceVersion = page.resourceVersion ?? resourceVersion;
    for (const o of page.items) items.push(o);
    token = page.continue || undefined;
  } while (token !== undefined);
  return { resourceVersion, items };
}
