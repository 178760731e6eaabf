// One page of a list, fetched with the kubeconfig's credentials (client-node's
// applyToFetchOptions: token, client certificate, exec plugin, CA, proxy agent) and parsed
// as plain JSON. The generated API client would also deserialize every item into model
// classes, a second whole copy of each object made only to be reduced right after; that
// took ~3 s and most of the garbage of listing 20,000 objects. Items are compacted from
// the JSON directly (compact-object.ts reads fields by their wire names).

import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { PageRequest, RawPage } from './paged-list.js';

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

function get(url: URL, init: FetchInit): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  init.headers?.forEach((value, name) => (headers[name] = value));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', headers, ...(init.agent ? { agent: init.agent } : {}) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET `collection` (e.g. /api/v1/services) with the selector and page asked for. */
export async function listPage(kc: KubeConfig, collection: string, fieldSelector: string | undefined, page: PageRequest): Promise<RawPage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + collection);
  if (fieldSelector) url.searchParams.set('fieldSelector', fieldSelector);
  if (page.limit) url.searchParams.set('limit', String(page.limit));
  if (page.continue) url.searchParams.set('continue', page.continue);
  const init = (await kc.applyToFetchOptions({})) as FetchInit;
  const { status, body } = await get(url, init);
  let parsed: { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[]; message?: string };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new ListError(`list ${collection}: HTTP ${status}, body is not JSON`, status);
  }
  if (status !== 200) throw new ListError(`list ${collection}: HTTP ${status}: ${parsed.message ?? 'no message'}`, status);
  return { resourceVersion: parsed.metadata?.resourceVersion, continue: parsed.metadata?.continue, items: parsed.items ?? [] };
}
