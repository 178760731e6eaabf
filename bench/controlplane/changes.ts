// The single-EndpointSlice changes the latency measurement applies: one endpoint added,
// one removed, or one endpoint's readiness flipped, in one slice, each producing a new
// slice object (as an informer update would) from the previous one.

import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { formatIpv4 } from '../../src/net/ipv4.js';
import { readyEndpoint } from './cluster.js';

export type ChangeKind = 'add' | 'remove' | 'flip';
export const CHANGE_KINDS: readonly ChangeKind[] = ['add', 'remove', 'flip'];

/** A Service whose slice the changes rewrite; its current slice is replaced by each one. */
export interface ChangeTarget {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  slice: V1EndpointSlice;
}

export interface SliceChange {
  readonly kind: ChangeKind;
  readonly svc: ChangeTarget;
  readonly prev: V1EndpointSlice;
  readonly cur: V1EndpointSlice;
}

/** A small seeded PRNG (mulberry32) so the change sequence is the same every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bumped(prev: V1EndpointSlice, endpoints: V1Endpoint[]): V1EndpointSlice {
  const rv = Number(prev.metadata?.resourceVersion ?? '0') + 1;
  return { ...prev, metadata: { ...prev.metadata, resourceVersion: String(rv), generation: (prev.metadata?.generation ?? 1) + 1 }, endpoints };
}

/** Builds the next version of `svc`'s slice for a change of `kind` and makes it current.
 *  A removal never empties a slice (it becomes an add), so every change is a real
 *  backend-set change of a Service that keeps endpoints. */
export function nextChange(pods: { nextPodIp: number }, svc: ChangeTarget, kind: ChangeKind, pick: () => number): SliceChange {
  const prev = svc.slice;
  const eps = prev.endpoints ?? [];
  let endpoints: V1Endpoint[];
  let actual = kind;
  if (kind === 'remove' && eps.length <= 1) actual = 'add';
  if (actual === 'add') {
    const n = pods.nextPodIp++;
    endpoints = [...eps, readyEndpoint(svc.namespace, `${svc.name}-x${n}`, formatIpv4(n), n)];
  } else if (actual === 'remove') {
    const at = Math.floor(pick() * eps.length);
    endpoints = eps.filter((_, i) => i !== at);
  } else {
    const at = Math.floor(pick() * eps.length);
    endpoints = eps.map((e, i) => {
      if (i !== at) return e;
      // A failing readiness probe: not ready, not serving, not terminating.
      const ready = e.conditions?.ready === false;
      return { ...e, conditions: { ready, serving: ready, terminating: false } };
    });
  }
  const cur = bumped(prev, endpoints);
  svc.slice = cur;
  return { kind: actual, svc, prev, cur };
}
