// A small but real Kubernetes API server for tests: list and watch over HTTP with
// kube-apiserver's wire behaviour (list resourceVersion, newline-delimited watch events,
// bookmarks, 410 Gone after compaction, timeoutSeconds, field and label selectors, list
// pagination with limit/continue from a consistent snapshot).
// Tests drive it through plain methods (create/update/delete, compactHistory, stop/restart…),
// never through HTTP, so they can stage exactly the situation they need.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { routeOf, type KubeObject, type Resource } from './resources.js';
import { decodeContinue, encodeContinue, ListSnapshots, pageOf, PagingParamError, parseLimit, type ListSnapshot } from './pagination.js';
import { parseFieldSelector, parseLabelSelector, SelectorError, type Matcher } from './selectors.js';
import { ObjectStore, type StoreEvent } from './store.js';
import { writeKubeconfig } from './kubeconfig.js';

export interface TestApiServerOptions {
  /**
   * Listen on every address instead of 127.0.0.1. Node creates the socket synchronously
   * only when no host is given (a host goes through an asynchronous lookup), which the
   * traffic tests need to bind the server inside a network namespace.
   */
  bindAll?: boolean;
  /** When set, requests must carry `Authorization: Bearer <token>` (the kubeconfig does). */
  token?: string;
  /** Serve HTTPS with this key and certificate (PEM), as a real API server does; the
   *  kubeconfig then carries the certificate as its certificate authority. */
  tls?: { key: string; cert: string };
  /** Events kept for watches to resume from; older resume points get 410 Gone. */
  historyLimit?: number;
}

export interface RequestRecord {
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly watch: boolean;
}

interface WatchConn {
  readonly resource: Resource;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  /** Set by freeze(): the stream stays open but carries nothing more. */
  silent: boolean;
  close(how: 'end' | 'destroy'): void;
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details: {}, code };
}

/** Objects on the wire: watch events carry kind/apiVersion, list items do not (as the real server). */
function withType(r: Resource, o: KubeObject): KubeObject {
  return { ...o, kind: r.kind, apiVersion: r.apiVersion };
}

function withoutType(o: KubeObject): KubeObject {
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest;
}

export class TestApiServer {
  readonly store: ObjectStore;
  readonly requests: RequestRecord[] = [];
  private server: Server | undefined;
  private readonly watches = new Set<WatchConn>();
  /** Snapshots paged lists continue from (the last few, as etcd keeps revisions until compaction). */
  private readonly listSnapshots = new ListSnapshots();
  private portNumber = 0;
  /** Requests held unanswered while frozen. */
  private parked: Array<() => void> | undefined;

  private constructor(private readonly options: TestApiServerOptions) {
    this.store = new ObjectStore(options.historyLimit);
  }

  /** Starts on 127.0.0.1 with a random port. */
  static async start(options: TestApiServerOptions = {}): Promise<TestApiServer> {
    const s = new TestApiServer({ token: 'kpx-test-token', ...options });
    await s.listen(0);
    return s;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.portNumber}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  get activeWatches(): number {
    return this.watches.size;
  }

  /** Requests received so far whose path is `path` (list when watch is false). */
  requestsTo(path: string, watch?: boolean): RequestRecord[] {
    return this.requests.filter((r) => r.path === path && (watch === undefined || r.watch === watch));
  }

  // ---- test controls ---------------------------------------------------------------

  create(obj: object): KubeObject {
    return this.store.create(obj as KubeObject);
  }

  update(obj: object): KubeObject {
    return this.store.update(obj as KubeObject);
  }

  delete(kind: string, namespace: string | undefined, name: string): KubeObject {
    return this.store.delete(kind, namespace, name);
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(kind, namespace, name);
  }

  /**
   * Drops the watch history: watches resuming from an older resourceVersion get 410 Gone,
   * and so do list continue tokens issued before (their snapshots are dropped too).
   */
  compactHistory(): void {
    this.store.compact();
    this.listSnapshots.clear();
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that asked for them. */
  sendBookmark(): void {
    for (const w of this.watches) {
      if (!w.bookmarks || w.silent) continue;
      const object = { kind: w.resource.kind, apiVersion: w.resource.apiVersion, metadata: { resourceVersion: String(this.store.resourceVersion) } };
      w.res.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
    }
  }

  /**
   * The server hangs without closing anything (as behind a dead link): new requests get no
   * answer and open watch streams go silent, even past their timeout.
   */
  freeze(): void {
    this.parked ??= [];
    for (const w of this.watches) w.silent = true;
  }

  /** Ends freeze(): held requests are answered now, silent watch streams are cut. */
  thaw(): void {
    const parked = this.parked ?? [];
    this.parked = undefined;
    for (const w of [...this.watches]) if (w.silent) w.close('destroy');
    for (const serve of parked) serve();
  }

  /** Ends every watch stream cleanly (as the server does at its watch timeout). */
  closeAllWatches(): void {
    for (const w of [...this.watches]) w.close('end');
  }

  /** The API server goes down: connections are cut and new ones refused. State is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.parked = undefined;
    for (const w of [...this.watches]) w.close('destroy');
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Brings the API server back on the same port, with the same objects and history. */
  async restart(): Promise<void> {
    if (this.server) return;
    await this.listen(this.portNumber);
  }

  /** Final shutdown (idempotent). */
  async close(): Promise<void> {
    await this.stop();
  }

  /** Writes a kubeconfig pointing at this server; returns its path. */
  async writeKubeconfig(dir: string): Promise<string> {
    return writeKubeconfig(dir, this.url, this.options.token, this.options.tls?.cert);
  }

  // ---- HTTP --------------------------------------------------------------------------

  private async listen(port: number): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const tls = this.options.tls;
    const server: Server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, handler) : createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const ready = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (this.options.bindAll) server.listen(port, ready);
      else server.listen(port, '127.0.0.1', ready);
    });
    this.portNumber = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private send(res: ServerResponse, code: number, body: object): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const watch = query['watch'] === 'true' || query['watch'] === '1';
    this.requests.push({ path: url.pathname, query, watch });
    if (this.parked) this.parked.push(() => this.serve(req, res, url, watch));
    else this.serve(req, res, url, watch);
  }

  private serve(req: IncomingMessage, res: ServerResponse, url: URL, watch: boolean): void {
    if (res.destroyed) return;

    if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) {
      this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (req.method !== 'GET') {
      this.send(res, 405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
      return;
    }
    if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    if (url.pathname === '/version') {
      this.send(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0-kpx-test' });
      return;
    }
    const route = routeOf(url.pathname);
    if (!route) {
      this.send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const ns = route.namespace;
    const inScope: Matcher = (o) => ns === undefined || o.metadata?.namespace === ns;
    let selected: Matcher;
    try {
      const byField = parseFieldSelector(url.searchParams.get('fieldSelector'), route.resource);
      const byLabel = parseLabelSelector(url.searchParams.get('labelSelector'));
      selected = (o) => byField(o) && byLabel(o);
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      this.send(res, 400, status(400, 'BadRequest', e.message));
      return;
    }
    if (watch) this.serveWatch(route.resource, (o) => inScope(o) && selected(o), url.searchParams, res);
    else this.serveList(route.resource, inScope, selected, url.searchParams, res);
  }

  /**
   * Unpaged (no limit, no continue): everything at the current resourceVersion. Paged: the
   * first page takes a snapshot, continued pages read from it; limit counts objects that pass
   * the selectors, and remainingItemCount is only given without selectors (as kube-apiserver).
   */
  private serveList(resource: Resource, inScope: Matcher, selected: Matcher, params: URLSearchParams, res: ServerResponse): void {
    let limit: number;
    let snap: ListSnapshot | undefined;
    let after: string | undefined;
    try {
      limit = parseLimit(params.get('limit'));
      const token = params.get('continue') ?? '';
      if (token !== '') {
        const rv = params.get('resourceVersion') ?? '';
        if (rv !== '' && rv !== '0') throw new PagingParamError('resourceVersion may not be given together with continue');
        const cont = decodeContinue(token);
        snap = this.listSnapshots.find(cont.id);
        if (snap && snap.resource !== resource) throw new PagingParamError('continue token belongs to another resource');
        after = cont.after;
        if (!snap || snap.rv < this.store.compactedRevision) {
          const msg = 'the continue token has expired: the list snapshot it points into is no longer kept; start the list again without continue';
          this.send(res, 410, status(410, 'Expired', msg));
          return;
        }
      }
    } catch (e) {
      if (!(e instanceof PagingParamError)) throw e;
      this.send(res, 400, status(400, 'BadRequest', e.message));
      return;
    }
    const rv = snap?.rv ?? this.store.resourceVersion;
    const items = snap?.items ?? this.store.list(resource);
    const unselective = !params.get('fieldSelector') && !params.get('labelSelector');
    const page = pageOf(items.filter(inScope), after, limit, selected, unselective);
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (page.continueAfter !== undefined) {
      // A first page keeps its snapshot only when there is more to continue to.
      snap ??= this.listSnapshots.take(resource, rv, items);
      metadata['continue'] = encodeContinue({ id: snap.id, after: page.continueAfter });
      if (page.remainingItemCount !== undefined) metadata['remainingItemCount'] = page.remainingItemCount;
    }
    this.send(res, 200, { kind: `${resource.kind}List`, apiVersion: resource.apiVersion, metadata, items: page.items.map(withoutType) });
  }

  private serveWatch(resource: Resource, matches: Matcher, params: URLSearchParams, res: ServerResponse): void {
    const rvText = params.get('resourceVersion') ?? '';
    if (rvText !== '' && !/^\d+$/.test(rvText)) {
      this.send(res, 400, status(400, 'BadRequest', `invalid resource version: ${rvText}`));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    let conn: WatchConn | undefined;
    const write = (type: string, object: object): void => {
      if (!conn?.silent) res.write(JSON.stringify({ type, object }) + '\n');
    };

    let replay: StoreEvent[] = [];
    if (rvText === '' || rvText === '0') {
      // No resume point: the current state as synthetic ADDED events, then changes.
      for (const o of this.store.list(resource).filter(matches)) write('ADDED', withType(resource, o));
    } else {
      const since = this.store.eventsSince(resource, Number(rvText));
      if (since === 'expired') {
        const msg = `too old resource version: ${rvText} (${this.store.compactedRevision})`;
        write('ERROR', status(410, 'Expired', msg));
        res.end();
        return;
      }
      replay = since;
    }

    // Translates a store event through the selector, as the watch cache does: an object
    // that starts matching is ADDED, one that stops matching is DELETED.
    const deliver = (e: StoreEvent): void => {
      if (e.resource !== resource) return;
      const before = e.old !== undefined && matches(e.old);
      const after = matches(e.obj);
      const obj = withType(resource, e.obj);
      if (e.type === 'ADDED') {
        if (after) write('ADDED', obj);
      } else if (e.type === 'DELETED') {
        if (before) write('DELETED', obj);
      } else if (before && after) write('MODIFIED', obj);
      else if (after) write('ADDED', obj);
      else if (before) write('DELETED', obj);
    };
    for (const e of replay) deliver(e);
    const unsubscribe = this.store.subscribe(deliver);

    let timer: NodeJS.Timeout | undefined;
    const c: WatchConn = {
      resource,
      res,
      bookmarks: params.get('allowWatchBookmarks') === 'true',
      silent: false,
      close: (how) => {
        if (!this.watches.delete(c)) return;
        unsubscribe();
        if (timer) clearTimeout(timer);
        if (how === 'end') res.end();
        else res.destroy();
      },
    };
    conn = c;
    this.watches.add(c);
    res.on('close', () => c.close('destroy'));
    const timeout = Number(params.get('timeoutSeconds') ?? '0');
    if (timeout > 0) timer = setTimeout(() => !c.silent && c.close('end'), timeout * 1000);
  }
}


export type { KubeObject };
