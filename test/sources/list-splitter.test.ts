// The list splitter (src/sources/apiserver/list-splitter.ts) against JSON.parse of the
// same bytes, cut into chunks every way that matters: one byte at a time, at random, and
// with awkward content (braces and brackets in strings, escaped quotes, "items" as a
// value and inside items, multi-byte characters split across chunks, metadata after the
// items, empty lists).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListItemSplitter } from '../../src/sources/apiserver/list-splitter.js';

function split(text: string, cuts: (len: number) => number[]): { items: unknown[]; envelope: Record<string, unknown> } {
  const bytes = Buffer.from(text, 'utf8');
  const items: unknown[] = [];
  const s = new ListItemSplitter((json) => items.push(JSON.parse(json)));
  let at = 0;
  for (const cut of [...cuts(bytes.length), bytes.length]) {
    s.push(bytes.subarray(at, cut));
    at = cut;
  }
  return { items, envelope: s.end() };
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const every = (len: number): number[] => Array.from({ length: len }, (_, i) => i);
const none = (): number[] => [];
const randomCuts = (seed: number) => (len: number): number[] => {
  const r = rng(seed);
  const out: number[] = [];
  for (let at = 0; at < len; at += 1 + Math.floor(r() * 40)) out.push(at);
  return out;
};

const AWKWARD = {
  kind: 'ServiceList',
  apiVersion: 'v1',
  note: 'items',
  metadata: { resourceVersion: '4711', continue: 'eyJ9"}]', remainingItemCount: 3 },
  items: [
    { metadata: { name: 'a', annotations: { x: '{"items": [1, 2]}', y: 'quote \\" and \\\\ backslash ]}' } }, spec: { ports: [{ port: 80 }] } },
    { metadata: { name: 'b', labels: { items: 'items' } }, items: [{ items: [] }], text: 'ünïcödé ✓ 𝄞 — ✓' },
    { metadata: { name: 'c' }, empty: {}, list: [], nested: [[[{}]]] },
  ],
  after: { items: ['not', 'these'] },
};

test('items and envelope equal JSON.parse, however the bytes are cut', () => {
  const text = JSON.stringify(AWKWARD);
  const want = { items: AWKWARD.items, envelope: { ...AWKWARD, items: [] } };
  assert.deepEqual(split(text, none), want);
  assert.deepEqual(split(text, every), want, 'one byte at a time (multi-byte characters split)');
  for (let seed = 1; seed <= 50; seed++) assert.deepEqual(split(text, randomCuts(seed)), want, `seed ${seed}`);
});

test('pretty-printed JSON (whitespace everywhere), an empty list, and metadata after the items', () => {
  const pretty = JSON.stringify(AWKWARD, null, 2);
  assert.deepEqual(split(pretty, randomCuts(7)).items, AWKWARD.items);
  assert.deepEqual(split('{"kind":"ServiceList","metadata":{"resourceVersion":"9"},"items":[]}', every), {
    items: [],
    envelope: { kind: 'ServiceList', metadata: { resourceVersion: '9' }, items: [] },
  });
  assert.deepEqual(split('{"items" : [ {"a":1} , {"b":[2]} ] , "metadata":{"resourceVersion":"3"}}', every), {
    items: [{ a: 1 }, { b: [2] }],
    envelope: { items: [], metadata: { resourceVersion: '3' } },
  });
});

test('a response cut short is an error, not a partial list', () => {
  const text = JSON.stringify(AWKWARD);
  const s = new ListItemSplitter(() => {});
  s.push(Buffer.from(text.slice(0, text.length - 20)));
  assert.throws(() => s.end(), /middle of a JSON value/);
});

test('a Status (an error body) has no items: it comes back whole as the envelope', () => {
  const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'the continue token has expired', reason: 'Expired', code: 410 };
  assert.deepEqual(split(JSON.stringify(status), randomCuts(3)), { items: [], envelope: status });
});
