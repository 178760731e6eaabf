// kube-proxy's change metrics, measured where the objects pass: a SourceSink that counts
// Service and EndpointSlice events, remembers each Service's
// `endpoints.kubernetes.io/last-change-trigger-time`, and hands the change tracker every
// event untouched.
//
// Network programming latency, as kube-proxy measures it: from the trigger time the
// EndpointSlice controller writes on a slice (when the Service or Pod change that made it
// rewrite the slice happened) to the end of the first sync that wrote the result. kpx
// also takes the annotation from a Service that carries it. A trigger time is recorded
// only when the object really changed, only when it is later than this agent's start (an
// agent that restarts would otherwise observe the age of every slice), and a deleted
// slice drops its Service's pending times (a deletion's annotation dates from its last
// update). Times are taken right before a sync and observed after it succeeds; a sync
// that fails or cannot run yet puts them back for the next one.

import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Counter, Histogram } from 'prom-client';
import { TRIGGER_TIME_ANNOTATION } from '../model/labels.js';
import { serviceKey, sliceServiceKey } from '../model/object-keys.js';
import type { SourceSink } from '../sources/types.js';
import { serviceSignature, sliceSignature } from '../tracker/signatures.js';

export { TRIGGER_TIME_ANNOTATION };

export interface ChangeMetricSet {
  readonly serviceChanges: Counter;
  readonly endpointChanges: Counter;
  readonly networkProgramming: Histogram;
}

/** Trigger times (ms since the epoch) per Service key, taken by beginSync(). */
export type TakenTriggerTimes = Map<string, number[]>;

export function triggerTimeOf(obj: { metadata?: { annotations?: Record<string, string> } } | undefined): number | undefined {
  const text = obj?.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

export class ChangeMetrics implements SourceSink {
  private pending: TakenTriggerTimes = new Map();
  private readonly startedMs: number;

  constructor(
    private readonly inner: SourceSink,
    private readonly m: ChangeMetricSet,
    private readonly now: () => number = Date.now,
  ) {
    this.startedMs = now();
  }

  service(prev: V1Service | undefined, cur: V1Service | undefined): void {
    const obj = cur ?? prev;
    if (obj) {
      this.m.serviceChanges.inc();
      if (cur) this.note(serviceKey(cur), prev, cur, serviceSignature);
    }
    this.inner.service(prev, cur);
  }

  endpointSlice(prev: V1EndpointSlice | undefined, cur: V1EndpointSlice | undefined): void {
    const obj = cur ?? prev;
    // kpx proxies IPv4 only: other families' slices are not its endpoint changes (S3).
    if (obj && obj.addressType === 'IPv4') {
      this.m.endpointChanges.inc();
      if (cur) {
        const key = sliceServiceKey(cur);
        if (key !== undefined) this.note(key, prev, cur, sliceSignature);
      } else {
        const key = sliceServiceKey(obj);
        if (key !== undefined) this.pending.delete(key);
      }
    }
    this.inner.endpointSlice(prev, cur);
  }

  node(cur: V1Node | undefined): void {
    this.inner.node(cur);
  }

  pod(prev: V1Pod | undefined, cur: V1Pod | undefined): void {
    this.inner.pod(prev, cur);
  }

  synced(): void {
    this.inner.synced();
  }

  /** Takes every trigger time recorded so far. Call right before a sync: the sync reads
   *  the tracker in the same turn, so it programs everything these times are about. */
  beginSync(): TakenTriggerTimes {
    const taken = this.pending;
    this.pending = new Map();
    return taken;
  }

  /** The sync that began with `taken` wrote its changes: one observation per time.
   *  Empties `taken`, so a later syncFailed(taken) puts nothing back. */
  syncSucceeded(taken: TakenTriggerTimes): void {
    const end = this.now();
    for (const times of taken.values()) for (const t of times) this.m.networkProgramming.observe(Math.max(0, end - t) / 1000);
    taken.clear();
  }

  /** It failed, or could not run yet: the times wait for the next sync. */
  syncFailed(taken: TakenTriggerTimes): void {
    for (const [key, times] of taken) {
      const now = this.pending.get(key);
      this.pending.set(key, now ? [...times, ...now] : times);
    }
  }

  /** Services with trigger times waiting for a sync (for tests and debugging). */
  pendingServices(): string[] {
    return [...this.pending.keys()].sort();
  }

  /** Records cur's trigger time when it is new: later than this agent's start, not the
   *  one prev already carried, and on an object whose content changed. */
  private note<T>(key: string, prev: T | undefined, cur: T, signature: (o: T) => string): void {
    const t = triggerTimeOf(cur as { metadata?: { annotations?: Record<string, string> } });
    if (t === undefined || t <= this.startedMs) return;
    if (prev !== undefined) {
      if (triggerTimeOf(prev as { metadata?: { annotations?: Record<string, string> } }) === t) return;
      if (signature(prev) === signature(cur)) return;
    }
    const list = this.pending.get(key);
    if (list) list.push(t);
    else this.pending.set(key, [t]);
  }
}
