// List pagination as kube-apiserver serves it (limit/continue): the first page of a paged
// list takes a snapshot of the resource, and every continued page is cut from that same
// snapshot, so objects changed after the first page never appear in or shift later pages.
// The server keeps only a few snapshots (etcd keeps old revisions only until compaction);
// a token whose snapshot is gone is answered 410 Expired.

import { keyOf } from './store.js';
import type { KubeObject, Resource } from './resources.js';
import type { Matcher } from './selectors.js';

/** Thrown for a limit or continue parameter the server cannot read (answered 400). */
export class PagingParamError extends Error {}

export interface ListSnapshot {
  readonly id: number;
  readonly resource: Resource;
  /** The resourceVersion the first page was served at; every page reports it. */
  readonly rv: number;
  /** Every object of the resource at `rv`, in key order. */
  readonly items: readonly KubeObject[];
}

export class ListSnapshots {
  private nextId = 1;
  private readonly kept = new Map<number, ListSnapshot>();

  constructor(private readonly keep = 8) {}

  take(resource: Resource, rv: number, items: readonly KubeObject[]): ListSnapshot {
    const snap: ListSnapshot = { id: this.nextId++, resource, rv, items };
    this.kept.set(snap.id, snap);
    // Map keeps insertion order: the first key is the oldest snapshot.
    while (this.kept.size > this.keep) this.kept.delete(this.kept.keys().next().value!);
    return snap;
  }

  find(id: number): ListSnapshot | undefined {
    return this.kept.get(id);
  }

  clear(): void {
    this.kept.clear();
  }
}

/** `limit`: absent or 0 means unpaged. */
export function parseLimit(text: string | null): number {
  if (text === null || text === '') return 0;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new PagingParamError(`limit must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

interface ContinueToken {
  /** The snapshot to read from. */
  readonly id: number;
  /** Key of the last object examined; the next page starts after it. */
  readonly after: string;
}

/** Opaque to clients, as kube-apiserver's (base64 of JSON there too, with different fields). */
export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'kpx-test/1', ...t })).toString('base64url');
}

export function decodeContinue(text: string): ContinueToken {
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    t = undefined;
  }
  const o = t as { v?: unknown; id?: unknown; after?: unknown } | undefined;
  if (o?.v !== 'kpx-test/1' || !Number.isSafeInteger(o.id) || typeof o.after !== 'string') {
    throw new PagingParamError('invalid continue token');
  }
  return { id: o.id as number, after: o.after };
}

export interface Page {
  readonly items: KubeObject[];
  /** Set when objects remain after this page (matching or not, as etcd's "more"). */
  readonly continueAfter?: string;
  /** Objects after this page; only without selectors (the server cannot count matches it has not read). */
  readonly remainingItemCount?: number;
}

/**
 * Cuts one page from `items` (in key order, already limited to the request's namespace):
 * starting after key `after`, up to `limit` objects that `selected` accepts (all when 0).
 */
export function pageOf(items: readonly KubeObject[], after: string | undefined, limit: number, selected: Matcher, countRemaining: boolean): Page {
  let i = after === undefined ? 0 : items.findIndex((o) => keyOf(o) > after);
  if (i < 0) i = items.length;
  const out: KubeObject[] = [];
  for (; i < items.length; i++) {
    if (limit > 0 && out.length >= limit) break;
    if (selected(items[i]!)) out.push(items[i]!);
  }
  if (i >= items.length) return { items: out };
  const continueAfter = keyOf(items[i - 1]!);
  return countRemaining ? { items: out, continueAfter, remainingItemCount: items.length - i } : { items: out, continueAfter };
}
