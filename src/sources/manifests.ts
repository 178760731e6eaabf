// The manifest source: Kubernetes objects from YAML/JSON files in a directory, for running
// kpx without an API server (standalone). It plays the API server's part — defaulting,
// validation, ClusterIP and node-port allocation, Endpoints → EndpointSlice mirroring —
// and follows the directory (fs.watch with a debounce, plus a periodic rescan because
// fs.watch misses events on some filesystems and for ConfigMap symlink swaps), delivering
// only the differences as {prev, cur} pairs.
//
// Invalid objects are reported through onError as BadObjectError (file, document, field,
// reason) once per distinct problem, and skipped; everything else is still delivered.

import { randomUUID } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { EnvironmentError, type BadObjectError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { ManifestCompiler, type DesiredObject, type ScannedFile } from './manifests/compile.js';
import { readManifestDir } from './manifests/read-dir.js';
import { DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, parseNodePortRange, parseServiceCidr } from './manifests/settings.js';
import { toTyped } from './typed.js';
import type { Source, SourceSink } from './types.js';

export interface ManifestSourceOptions {
  /** Directory of *.yaml, *.yml and *.json files (top level only). */
  dir: string;
  /** This node: the Node of that name, and Pods with spec.nodeName equal to it. */
  nodeName: string;
  /** Where ClusterIPs are allocated from (default 10.96.0.0/12). */
  serviceCidr?: string;
  /** Where node ports are allocated from (default 30000-32767). */
  nodePortRange?: string;
  logger?: Logger;
  /** Each distinct invalid object (reported again only after it was fixed and broken anew). */
  onError?: (err: BadObjectError) => void;
  /** Quiet time after a change event before rescanning, ms (default 200). */
  debounceMs?: number;
  /** Rescan even without change events every this many ms (default 5000). */
  rescanIntervalMs?: number;
}

type DeliveredKind = DesiredObject['kind'];
type Typed = V1Service | V1EndpointSlice | V1Node | V1Pod;

interface Delivered {
  readonly kind: DeliveredKind;
  /** Canonical JSON of the object without server-set metadata: what "changed" means. */
  readonly content: string;
  readonly typed: Typed;
  readonly uid: string;
  readonly creationTimestamp: string;
}

/** Delivery order within one scan: what others refer to comes first. */
const KIND_ORDER: Record<DeliveredKind, number> = { Node: 0, Service: 1, EndpointSlice: 2, Pod: 3 };

/** JSON with object keys sorted, so equal objects compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export class ManifestSource implements Source {
  private readonly compiler: ManifestCompiler;
  private readonly logger: Logger;
  private readonly onError: (err: BadObjectError) => void;
  private delivered = new Map<string, Delivered>();
  private reported = new Set<string>();
  private resourceVersion = 0;
  private sink: SourceSink | undefined;
  private watcher: FSWatcher | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private stopped = false;

  /** Throws BadFlagError for a malformed serviceCidr or nodePortRange. */
  constructor(private readonly options: ManifestSourceOptions) {
    this.logger = options.logger ?? silentLogger;
    this.onError = options.onError ?? ((err) => this.logger.warn('invalid manifest object skipped', { error: err.message }));
    this.compiler = new ManifestCompiler({
      nodeName: options.nodeName,
      serviceCidr: parseServiceCidr(options.serviceCidr ?? DEFAULT_SERVICE_CIDR),
      nodePortRange: parseNodePortRange(options.nodePortRange ?? DEFAULT_NODE_PORT_RANGE),
      logger: this.logger,
    });
  }

  /** Delivers the directory's objects, then synced(), then follows changes. */
  async start(sink: SourceSink): Promise<void> {
    if (this.sink) throw new Error('ManifestSource already started');
    this.sink = sink;
    let files: ScannedFile[];
    try {
      files = await readManifestDir(this.options.dir);
    } catch (e) {
      throw new EnvironmentError(`cannot read manifest directory ${this.options.dir}: ${(e as Error).message}`, 'pass an existing, readable directory');
    }
    this.apply(files);
    this.guarded('synced', () => sink.synced());
    this.follow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.debounceTimer);
    clearInterval(this.rescanTimer);
    await this.chain;
  }

  /** Rescans now; resolves once the differences are delivered. Concurrent calls coalesce. */
  rescan(): Promise<void> {
    if (this.queued) return this.queued;
    const run = this.chain.then(async () => {
      this.queued = undefined;
      await this.scanOnce();
    });
    this.queued = run;
    this.chain = run.catch((e: unknown) => this.logger.error('manifest rescan failed', { error: e }));
    return run;
  }

  private follow(): void {
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, () => this.schedule());
      this.watcher.on('error', (e) => {
        this.logger.warn('watching the manifest directory failed; relying on periodic rescans', { error: e });
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.logger.warn('cannot watch the manifest directory; relying on periodic rescans', { error: e });
    }
    this.rescanTimer = setInterval(() => void this.rescan(), this.options.rescanIntervalMs ?? 5000);
    this.rescanTimer.unref();
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.rescan(), this.options.debounceMs ?? 200);
    this.debounceTimer.unref();
  }

  private async scanOnce(): Promise<void> {
    if (this.stopped) return;
    let files: ScannedFile[];
    try {
      files = await readManifestDir(this.options.dir);
    } catch (e) {
      // Keep serving what we have: a vanished directory is more likely an accident (or a
      // remount in progress) than a request to withdraw every Service.
      this.logger.warn('manifest directory unreadable; keeping the current objects', { dir: this.options.dir, error: e });
      return;
    }
    if (!this.stopped) this.apply(files);
  }

  private apply(files: ScannedFile[]): void {
    const { objects, errors } = this.compiler.compile(files);

    const messages = new Set(errors.map((e) => e.message));
    for (const err of errors) {
      if (!this.reported.has(err.message)) this.guarded('onError', () => this.onError(err));
    }
    this.reported = messages;

    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const next = new Map<string, Delivered>();
    const removed = [...this.delivered].filter(([key]) => !objects.has(key));
    const changed: Array<{ prev?: Delivered; cur: Delivered }> = [];
    for (const [key, d] of objects) {
      const content = canonical(d.obj);
      const prev = this.delivered.get(key);
      if (prev && prev.content === content) {
        next.set(key, prev);
        continue;
      }
      const uid = prev?.uid ?? randomUUID();
      const creationTimestamp = prev?.creationTimestamp ?? now;
      const metadata = { ...(d.obj['metadata'] as object), uid, creationTimestamp, resourceVersion: String(++this.resourceVersion) };
      const cur: Delivered = { kind: d.kind, content, uid, creationTimestamp, typed: toTyped(d.kind, { ...d.obj, kind: d.kind, metadata }) };
      next.set(key, cur);
      changed.push({ prev, cur });
    }
    this.delivered = next;

    removed.sort(([a, x], [b, y]) => KIND_ORDER[y.kind] - KIND_ORDER[x.kind] || a.localeCompare(b));
    for (const [, prev] of removed) this.emit(prev.kind, prev.typed, undefined);
    changed.sort((x, y) => KIND_ORDER[x.cur.kind] - KIND_ORDER[y.cur.kind]);
    for (const { prev, cur } of changed) this.emit(cur.kind, prev?.typed, cur.typed);
  }

  private emit(kind: DeliveredKind, prev: Typed | undefined, cur: Typed | undefined): void {
    const sink = this.sink;
    if (!sink || this.stopped) return;
    this.guarded(kind, () => {
      switch (kind) {
        case 'Service':
          return sink.service(prev as V1Service | undefined, cur as V1Service | undefined);
        case 'EndpointSlice':
          return sink.endpointSlice(prev as V1EndpointSlice | undefined, cur as V1EndpointSlice | undefined);
        case 'Node':
          return sink.node(cur as V1Node | undefined);
        case 'Pod':
          return sink.pod(prev as V1Pod | undefined, cur as V1Pod | undefined);
      }
    });
  }

  private guarded(what: string, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.logger.error('manifest source consumer threw', { call: what, error: err });
    }
  }
}
