// One resource kept in sync with the API server through a client-node informer, made
// robust where the informer (client-node 1.4.0) is not:
//
// - On a 410 Gone (watch ERROR event or HTTP status) the informer relists by itself and
//   reports objects that vanished meanwhile as deletes. On any other failure — list error,
//   connection refused, connection cut ("Premature close"), HTTP 5xx — it emits 'error'
//   and stops for good. We restart it with capped exponential backoff; it keeps its
//   resourceVersion, so it resumes the watch where it was (or relists on 410).
// - Its watch has no client-side timeout, so a connection that silently dies would hang it
//   forever. We ask for a server-side watch timeout (the server ends the watch, the
//   informer reconnects and emits 'connect') and replace the informer when nothing at all
//   happened for twice that long.
// - It reports only the new object on update. We keep the last object per key to hand
//   the sink {prev, cur}, and after every list we reconcile that map with the list so a
//   replacement informer (empty cache) still reports vanished objects.
// - Its list is ours to give. Ours lists in pages (paged-list.ts), as client-go does, and
//   reads each response item by item as plain JSON (raw-list.ts, list-splitter.ts), not
//   whole and as the API client's model objects.
// - It caches whole objects. Ours holds compacted ones (compact-object.ts): list items are
//   compacted in the list function, watch events by CompactingWatch, so the informer's
//   cache, our previous-object map and the change tracker share one small copy.
//
// Errors are never passed on: the datapath keeps serving the last known state.

import { ListWatch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../log.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { compactObject } from './compact-object.js';
import { CompactingWatch } from './compacting-watch.js';
import { listInPages, type Page, type PageRequest } from './paged-list.js';
import { listPage } from './raw-list.js';
import { watchPath, type WatchedResource } from './resources.js';

export interface ResourceWatcherOptions {
  kubeConfig: KubeConfig;
  resource: WatchedResource;
  logger: Logger;
  backoff?: BackoffOptions;
  /** Objects per list request; default paged-list.ts's DEFAULT_PAGE_SIZE. */
  listPageSize?: number;
  /** Server-side watch timeout, seconds. */
  watchTimeoutSeconds: number;
  /** A change, objects already normalised and compacted (typed.ts, compact-object.ts).
   *  Must not throw (it is guarded anyway). */
  onChange(prev: KubernetesObject | undefined, cur: KubernetesObject | undefined): void;
  /** The first list has been delivered (called once). */
  onSynced(): void;
}

type Informer = ListWatch<KubernetesObject>;

function keyOf(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown; statusCode?: unknown }).statusCode ?? (err as { code?: unknown }).code;
    return code === undefined ? err.message : `${err.message} (${String(code)})`;
  }
  return String(err);
}

export class ResourceWatcher {
  private readonly known = new Map<string, KubernetesObject>();
  private readonly backoff: Backoff;
  private informer: Informer | undefined;
  /** Bumped whenever an informer is replaced or stopped; callbacks of older ones are ignored. */
  private generation = 0;
  private running = false;
  private synced = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private lastActivity = 0;
  private failures = 0;

  constructor(private readonly options: ResourceWatcherOptions) {
    this.backoff = new Backoff(options.backoff);
  }

  get name(): string {
    return this.options.resource.name;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.launch(this.newInformer());
    const silenceMs = 2 * this.options.watchTimeoutSeconds * 1000;
    this.watchdogTimer = setInterval(() => this.checkAlive(silenceMs), Math.max(250, silenceMs / 4));
    this.watchdogTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdogTimer);
    this.retryTimer = this.watchdogTimer = undefined;
    const inf = this.informer;
    this.informer = undefined;
    // Stopping aborts the watch request; the informer then reports the abort as an error,
    // which the generation check above discards.
    await inf?.stop().catch(() => undefined);
  }

  private newInformer(): Informer {
    const gen = ++this.generation;
    const { resource, kubeConfig, watchTimeoutSeconds } = this.options;
    const current = (): boolean => this.running && gen === this.generation;
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const keep = (o: unknown): KubernetesObject => compactObject(resource.kind, o);
      const fetchPage = (page: PageRequest): Promise<Page<KubernetesObject>> => listPage(kubeConfig, resource.collection, resource.fieldSelector, page, keep);
      const { resourceVersion, items } = await listInPages(fetchPage, this.options.listPageSize);
      // A retired informer (stopped or replaced while listing) would otherwise go on to
      // open a watch; failing its list makes it stop there.
      if (!current()) throw new Error(`${resource.name} informer retired`);
      // Runs before the informer hands the list to its callbacks (they run right after this
      // promise settles, synchronously), so vanished objects are reported first, then
      // adds/updates, and the setImmediate below fires after all of them.
      this.reconcile(items);
      setImmediate(() => {
        if (current() && !this.synced) {
          this.synced = true;
          this.options.onSynced();
        }
      });
      return { metadata: { resourceVersion }, items };
    };
    const watch = new CompactingWatch(kubeConfig, resource.kind);
    const inf = new ListWatch<KubernetesObject>(watchPath(resource, watchTimeoutSeconds), watch, list, false);
    inf.on('add', (o) => current() && this.upsert(o));
    inf.on('update', (o) => current() && this.upsert(o));
    inf.on('delete', (o) => current() && this.remove(o));
    inf.on('connect', () => {
      if (current()) this.lastActivity = Date.now();
    });
    inf.on('error', (err) => {
      if (current()) this.failed(err);
    });
    this.informer = inf;
    return inf;
  }

  /** Starts (or restarts after an error) the informer; a clean start resets the backoff. */
  private launch(inf: Informer): void {
    const gen = this.generation;
    const failuresBefore = this.failures;
    this.lastActivity = Date.now();
    inf.start().then(
      () => {
        if (!this.running || gen !== this.generation) {
          // Retired while its watch request was in flight: the informer's stop() could not
          // abort a request it had not stored yet; now it has, so stop it again.
          void inf.stop().catch(() => undefined);
          return;
        }
        // start() resolves once the list succeeded and the watch request was answered —
        // or after an error was emitted; only the former counts as recovery.
        if (this.failures === failuresBefore && failuresBefore > 0) {
          this.options.logger.info('watch re-established', { resource: this.name });
          this.failures = 0;
          this.backoff.reset();
        }
      },
      (err: unknown) => {
        if (this.running && gen === this.generation) this.failed(err);
      },
    );
  }

  private failed(err: unknown): void {
    if (this.retryTimer) return;
    this.failures++;
    const delay = this.backoff.next();
    this.options.logger.warn('list/watch failed; retrying', {
      resource: this.name,
      error: describe(err),
      attempt: this.failures,
      retryInMs: delay,
    });
    const gen = this.generation;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running && gen === this.generation && this.informer) this.launch(this.informer);
    }, delay);
  }

  /** Replaces an informer that has heard nothing for too long (a silently dead connection). */
  private checkAlive(silenceMs: number): void {
    if (!this.running || this.retryTimer || Date.now() - this.lastActivity < silenceMs) return;
    this.options.logger.warn('watch silent for too long; restarting it with a fresh list', {
      resource: this.name,
      silentForMs: Date.now() - this.lastActivity,
    });
    const old = this.informer;
    const fresh = this.newInformer(); // bumps the generation first: the old one goes quiet
    void old?.stop().catch(() => undefined);
    this.launch(fresh);
  }

  private reconcile(items: KubernetesObject[]): void {
    this.lastActivity = Date.now();
    const present = new Set(items.map(keyOf));
    for (const [key, prev] of [...this.known]) {
      if (!present.has(key)) {
        this.known.delete(key);
        this.emit(prev, undefined);
      }
    }
  }

  private upsert(obj: KubernetesObject): void {
    this.lastActivity = Date.now();
    const key = keyOf(obj);
    const prev = this.known.get(key);
    const rv = obj.metadata?.resourceVersion;
    if (prev && rv !== undefined && prev.metadata?.resourceVersion === rv) return;
    this.known.set(key, obj);
    this.emit(prev, obj);
  }

  private remove(obj: KubernetesObject): void {
    this.lastActivity = Date.now();
    const key = keyOf(obj);
    const prev = this.known.get(key);
    if (!prev) return; // already reported by reconcile()
    this.known.delete(key);
    this.emit(prev, undefined);
  }

  private emit(prev: KubernetesObject | undefined, cur: KubernetesObject | undefined): void {
    try {
      this.options.onChange(prev, cur);
    } catch (err) {
      // A throwing consumer must not break the informer's callback loop.
      this.options.logger.error('change handler threw', { resource: this.name, error: describe(err) });
    }
  }
}
