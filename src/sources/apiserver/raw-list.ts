// One page of a list, fetched with the kubeconfig's credentials (client-node's
// applyToFetchOptions: token, client certificate, exec plugin, CA, proxy agent) and read
// item by item as it arrives (list-splitter.ts). The generated API client would read the
// whole response into one string, parse it whole and deserialize every item into model
// classes, a second whole copy of each object made only to be reduced right after; that
// took ~3 s and most of the garbage of listing 20,000 objects. Items are compacted from
// their JSON directly (compact-object.ts reads fields by their wire names).

import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ListItemSplitter } from './list-splitter.js';
import type { Page, PageRequest } from './paged-list.js';

/** An API error with its HTTP status (410 Expired is what paged-list.ts looks for). */
export class ListError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

interface FetchInit {
  agent?: Agent;
  headers?: { forEach(cb: (value: string, name: string) => void): void };
}

/** The response to a GET, its body not read yet. */
function get(url: URL, init: FetchInit): Promise<IncomingMessage> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  init.headers?.forEach((value, name) => (headers[name] = value));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', headers, ...(init.agent ? { agent: init.agent } : {}) }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** GET `collection` (e.g. /api/v1/services) with the selector and page asked for; every
 *  item is handed to `keep` as its JSON arrives (list-splitter.ts) and only what keep
 *  returns is kept. */
export async function listPage<T>(
  kc: KubeConfig,
  collection: string,
  fieldSelector: string | undefined,
  page: PageRequest,
  keep: (o: unknown) => T,
): Promise<Page<T>> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + collection);
  if (fieldSelector) url.searchParams.set('fieldSelector', fieldSelector);
  if (page.limit) url.searchParams.set('limit', String(page.limit));
  if (page.continue) url.searchParams.set('continue', page.continue);
  const init = (await kc.applyToFetchOptions({})) as FetchInit;
  const res = await get(url, init);
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    const body = await readText(res);
    let message = 'no message';
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      message = 'body is not JSON';
    }
    throw new ListError(`list ${collection}: HTTP ${status}: ${message}`, status);
  }
  const items: T[] = [];
  const splitter = new ListItemSplitter((json) => items.push(keep(JSON.parse(json))));
  for await (const chunk of res) splitter.push(chunk as Buffer);
  let envelope: { metadata?: { resourceVersion?: string; continue?: string } };
  try {
    envelope = splitter.end();
  } catch (err) {
    throw new ListError(`list ${collection}: ${err instanceof Error ? err.message : String(err)}`, status);
  }
  return { resourceVersion: envelope.metadata?.resourceVersion, continue: envelope.metadata?.continue, items };
}
