// The test API server's "etcd": objects per resource, one global resourceVersion counter
// shared by every resource (as etcd's revision is), and a bounded history of change events
// that watches replay from. Everything is synchronous, so replaying history and subscribing
// to live events happen without a gap.

import { randomUUID } from 'node:crypto';
import { resourceByKind, type KubeObject, type Resource } from './resources.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly resource: Resource;
  readonly type: EventType;
  /** The object after the change (for DELETED: its last state, stamped with the deletion's rv). */
  readonly obj: KubeObject;
  /** The object before the change (MODIFIED, DELETED). */
  readonly old?: KubeObject;
}

type Listener = (e: StoreEvent) => void;

function clone<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

/** The object's key in the store ("namespace/name", "/name" when cluster-scoped). */
export function keyOf(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** RFC 3339 without fractions, as Kubernetes writes metav1.Time. */
function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export class ObjectStore {
  private rv = 1;
  private readonly objects = new Map<Resource, Map<string, KubeObject>>();
  private history: StoreEvent[] = [];
  /** A watch may start from any rv >= this; older ones get 410 Gone. */
  private oldestWatchableRv = 1;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly historyLimit = 10_000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  get compactedRevision(): number {
    return this.oldestWatchableRv;
  }

  /** Every object of the resource in key order, as an etcd range read returns them. */
  list(resource: Resource): KubeObject[] {
    const byKey = [...(this.objects.get(resource)?.entries() ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return byKey.map(([, o]) => clone(o));
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = resourceByKind(kind);
    const o = this.objects.get(r)?.get(`${r.namespaced ? namespace ?? 'default' : ''}/${name}`);
    return o && clone(o);
  }

  create(input: KubeObject): KubeObject {
    const resource = resourceByKind(input.kind ?? '');
    const obj = clone(input);
    obj.apiVersion = resource.apiVersion;
    const meta = (obj.metadata ??= {});
    if (!meta.name) throw new Error('test API server: metadata.name is required');
    if (resource.namespaced) meta.namespace ??= 'default';
    else delete meta.namespace;
    const bucket = this.bucket(resource);
    if (bucket.has(keyOf(obj))) throw new Error(`test API server: ${resource.kind} ${keyOf(obj)} already exists`);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    meta.resourceVersion = String(++this.rv);
    bucket.set(keyOf(obj), obj);
    this.record({ rv: this.rv, resource, type: 'ADDED', obj: clone(obj) });
    return clone(obj);
  }

  /** Replaces an existing object; uid and creationTimestamp are kept, as the server does. */
  update(input: KubeObject): KubeObject {
    const resource = resourceByKind(input.kind ?? '');
    const obj = clone(input);
    obj.apiVersion = resource.apiVersion;
    const meta = (obj.metadata ??= {});
    if (resource.namespaced) meta.namespace ??= 'default';
    const bucket = this.bucket(resource);
    const old = bucket.get(keyOf(obj));
    if (!old) throw new Error(`test API server: ${resource.kind} ${keyOf(obj)} not found`);
    meta.uid = old.metadata?.uid;
    meta.creationTimestamp = old.metadata?.creationTimestamp;
    meta.resourceVersion = String(++this.rv);
    bucket.set(keyOf(obj), obj);
    this.record({ rv: this.rv, resource, type: 'MODIFIED', obj: clone(obj), old: clone(old) });
    return clone(obj);
  }

  delete(kind: string, namespace: string | undefined, name: string): KubeObject {
    const resource = resourceByKind(kind);
    const bucket = this.bucket(resource);
    const key = `${resource.namespaced ? namespace ?? 'default' : ''}/${name}`;
    const old = bucket.get(key);
    if (!old) throw new Error(`test API server: ${kind} ${key} not found`);
    bucket.delete(key);
    const last = clone(old);
    last.metadata!.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, resource, type: 'DELETED', obj: last, old: clone(old) });
    return clone(last);
  }

  /** Events of one resource newer than `rv`, or 'expired' when history no longer reaches back. */
  eventsSince(resource: Resource, rv: number): StoreEvent[] | 'expired' {
    if (rv < this.oldestWatchableRv) return 'expired';
    return this.history.filter((e) => e.resource === resource && e.rv > rv);
  }

  /** Forgets all history: any watch from an rv older than now gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.oldestWatchableRv = this.rv;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private bucket(r: Resource): Map<string, KubeObject> {
    let b = this.objects.get(r);
    if (!b) this.objects.set(r, (b = new Map()));
    return b;
  }

  private record(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.oldestWatchableRv = dropped[dropped.length - 1]!.rv;
    }
    for (const l of [...this.listeners]) l(e);
  }
}
