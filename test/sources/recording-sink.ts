// A SourceSink that records every call and keeps the state those calls imply, checking on
// the way that each {prev, cur} pair is consistent with what it delivered before (an add
// for a new key, prev equal to the last cur, a delete only of something known).

import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { SourceSink } from '../../src/sources/types.js';

export type RecordedKind = 'service' | 'endpointSlice' | 'node' | 'pod';

type AnyObject = V1Service | V1EndpointSlice | V1Node | V1Pod;

export interface Recorded {
  kind: RecordedKind | 'synced';
  /** "namespace/name" ('' namespace for Nodes; '' for synced). */
  key: string;
  prev?: AnyObject;
  cur?: AnyObject;
}

type Meta = { metadata?: { namespace?: string; name?: string; resourceVersion?: string } };

function keyOf(o: Meta | undefined): string {
  return `${o?.metadata?.namespace ?? ''}/${o?.metadata?.name ?? ''}`;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class RecordingSink implements SourceSink {
  readonly events: Recorded[] = [];
  /** Calls that did not fit the state delivered so far; tests expect this to stay empty. */
  readonly violations: string[] = [];
  readonly services = new Map<string, V1Service>();
  readonly slices = new Map<string, V1EndpointSlice>();
  readonly pods = new Map<string, V1Pod>();
  nodeObj: V1Node | undefined;
  syncedCount = 0;

  service(prev: V1Service | undefined, cur: V1Service | undefined): void {
    const key = keyOf(cur ?? prev);
    this.events.push({ kind: 'service', key, prev, cur });
    this.apply('service', this.services, prev, cur);
  }

  endpointSlice(prev: V1EndpointSlice | undefined, cur: V1EndpointSlice | undefined): void {
    const key = keyOf(cur ?? prev);
    this.events.push({ kind: 'endpointSlice', key, prev, cur });
    this.apply('endpointSlice', this.slices, prev, cur);
  }

  node(cur: V1Node | undefined): void {
    this.events.push({ kind: 'node', key: keyOf(cur ?? this.nodeObj), prev: this.nodeObj, cur });
    if (cur === undefined && this.nodeObj === undefined) this.violations.push('node(undefined) with no node known');
    this.nodeObj = cur;
  }

  pod(prev: V1Pod | undefined, cur: V1Pod | undefined): void {
    const key = keyOf(cur ?? prev);
    this.events.push({ kind: 'pod', key, prev, cur });
    this.apply('pod', this.pods, prev, cur);
  }

  synced(): void {
    this.syncedCount++;
    this.events.push({ kind: 'synced', key: '' });
  }

  /** Events of one kind (and key "ns/name", when given). */
  of(kind: RecordedKind, key?: string): Recorded[] {
    return this.events.filter((e) => e.kind === kind && (key === undefined || e.key === key));
  }

  deletes(kind: RecordedKind, since = 0): string[] {
    return this.events
      .slice(since)
      .filter((e) => e.kind === kind && 'cur' in e && e.cur === undefined)
      .map((e) => e.key);
  }

  private apply<T extends Meta>(what: string, map: Map<string, T>, prev: T | undefined, cur: T | undefined): void {
    const key = keyOf(cur ?? prev);
    const known = map.get(key);
    if (prev === undefined && cur === undefined) this.violations.push(`${what} ${key}: prev and cur both undefined`);
    if (prev === undefined && known !== undefined) this.violations.push(`${what} ${key}: add of a known object`);
    if (prev !== undefined && !same(prev, known)) this.violations.push(`${what} ${key}: prev is not the last delivered object`);
    if (prev !== undefined && cur !== undefined && same(prev, cur)) this.violations.push(`${what} ${key}: update without change`);
    if (cur === undefined) map.delete(key);
    else map.set(key, cur);
  }
}
