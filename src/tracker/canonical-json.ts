// Canonical JSON (object keys sorted at every level) written as UTF-8 bytes into one
// reusable buffer, for the tracker's signatures. It runs for every object delivered
// (20,000 at 10,000 Services with their slices): building the text as JS strings (a piece
// per value, then join) allocated ~240 MB of short-lived memory for those, most of the
// garbage of an agent's first sync. Here a value's text is hashed straight from the
// buffer; the only allocations left are the strings JSON.stringify makes for values that
// need escaping and non-integer numbers, and the result.

import { createHash } from 'node:crypto';

/** Scratch space, kept between calls (grown when a value's text does not fit; a text over
 *  MAX_KEPT does not keep its larger buffer). */
const INITIAL = 16 * 1024;
const MAX_KEPT = 1024 * 1024;
let scratch: Buffer = Buffer.allocUnsafe(INITIAL);
/** Object keys being sorted, a stack of runs shared by the nesting levels (no array per
 *  object): keyStack[0, top). The array never shrinks (truncating it would drop its
 *  backing store and make the next object allocate one); slots are cleared after use. */
const keyStack: Array<string | undefined> = [];
let top = 0;

function pushKey(k: string): void {
  if (top < keyStack.length) keyStack[top] = k;
  else keyStack.push(k);
  top++;
}

/** Pops the stack back to `base`, clearing the slots. */
function popKeys(base: number): void {
  for (let i = base; i < top; i++) keyStack[i] = undefined;
  top = base;
}
let busy = false;

class Writer {
  pos = 0;
  constructor(public buf: Buffer) {}

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Text as is, as UTF-8 (literals, and JSON.stringify's output). */
  raw(s: string): void {
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** A JSON string: what JSON.stringify(s) gives, as UTF-8. */
  string(s: string): void {
    const n = s.length;
    this.room(n * 3 + 2);
    const start = this.pos;
    const buf = this.buf;
    let p = start;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        // Escapes, non-ASCII (surrogates: JSON.stringify escapes lone ones): the slow way.
        this.pos = start;
        if (c >= 0x80 && !needsEscape(s, i)) {
          buf[this.pos++] = 0x22;
          this.pos += buf.write(s, this.pos, 'utf8');
          buf[this.pos++] = 0x22;
        } else {
          this.raw(JSON.stringify(s));
        }
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.pos = p;
  }

  number(v: number): void {
    // Whole numbers below 2^53 as digits, without a string; JSON.stringify for the rest
    // (fractions, exponents, NaN/Infinity -> null, -0 -> 0).
    if (v === 0) return this.byte(0x30); // -0 too, as JSON.stringify writes it
    if (Number.isSafeInteger(v) && v > 0) {
      let digits = 1;
      for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
      this.room(digits);
      let p = this.pos + digits;
      this.pos = p;
      for (let t = v; t > 0; t = Math.floor(t / 10)) this.buf[--p] = 0x30 + (t % 10);
      return;
    }
    this.raw(JSON.stringify(v));
  }
}

/** Whether JSON.stringify escapes something in s from index `from` on (a control
 *  character, a quote, a backslash or a lone surrogate). */
function needsEscape(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return true;
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) return true;
      i++;
    }
  }
  return false;
}

/** A key JavaScript enumerates as an integer index: "0", "1", …, up to 2^32 - 2. */
function isArrayIndex(k: string): boolean {
  if (k.length === 0 || k.length > 10 || (k.length > 1 && k.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return Number(k) < 4294967295;
}

function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

const hasOwn = Object.prototype.hasOwnProperty;

function writeValue(value: unknown, w: Writer): void {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  if (v === null) return w.raw('null');
  switch (typeof v) {
    case 'string':
      return w.string(v);
    case 'number':
      return w.number(v);
    case 'boolean':
      return w.raw(v ? 'true' : 'false');
    case 'object':
      break;
    default:
      // Top-level undefined (and the like) gives '', as JSON.stringify(...) ?? '' does;
      // a bigint throws, as in JSON.stringify.
      if (!omitted(v)) w.raw(JSON.stringify(v));
      return;
  }
  if (Array.isArray(v)) {
    w.byte(0x5b);
    for (let i = 0; i < v.length; i++) {
      if (i > 0) w.byte(0x2c);
      if (omitted(v[i])) w.raw('null');
      else writeValue(v[i], w);
    }
    w.byte(0x5d);
    return;
  }
  writeObject(v as Record<string, unknown>, w);
}

function writeObject(obj: Record<string, unknown>, w: Writer): void {
  // The own enumerable keys, in the order a sorted copy of the object has: integer-like
  // keys first in numeric order (JavaScript enumerates those first, as for-in lists them),
  // then the rest by UTF-16 code units (Array.prototype.sort's order), by insertion sort.
  const base = top;
  for (const k in obj) if (hasOwn.call(obj, k)) pushKey(k);
  const end = top;
  let start = base;
  while (start < end && isArrayIndex(keyStack[start]!)) start++;
  for (let i = start + 1; i < end; i++) {
    const k = keyStack[i]!;
    let j = i - 1;
    while (j >= start && keyStack[j]! > k) {
      keyStack[j + 1] = keyStack[j]!;
      j--;
    }
    keyStack[j + 1] = k;
  }
  w.byte(0x7b);
  let first = true;
  try {
    for (let i = base; i < end; i++) {
      const k = keyStack[i]!;
      const e = obj[k];
      if (omitted(e)) continue;
      if (!first) w.byte(0x2c);
      first = false;
      w.string(k);
      w.byte(0x3a);
      writeValue(e, w);
    }
  } finally {
    popKeys(base);
  }
  w.byte(0x7d);
}

/** Runs `use` on the canonical bytes of `value` (valid only during the call). */
function withCanonical<T>(value: unknown, use: (bytes: Buffer) => T): T {
  // A toJSON that itself asks for a signature gets a buffer of its own.
  const mine = !busy;
  const w = new Writer(mine ? scratch : Buffer.allocUnsafe(INITIAL));
  busy = true;
  const depth = top;
  try {
    writeValue(value, w);
    return use(w.buf.subarray(0, w.pos));
  } finally {
    popKeys(depth);
    if (mine) {
      busy = false;
      if (w.buf.length <= MAX_KEPT) scratch = w.buf;
    }
  }
}

/**
 * JSON with object keys sorted at every level, so key order never makes a difference:
 * the text JSON.stringify gives for the same value with every object's keys sorted
 * (toJSON honoured; undefined, functions and symbols left out of objects and null in
 * arrays; '' for a top-level value JSON.stringify leaves out).
 */
export function stableStringify(value: unknown): string {
  return withCanonical(value, (bytes) => bytes.toString('utf8'));
}

/** SHA-256 of stableStringify(value) as UTF-8, base64, without building the text. */
export function canonicalDigest(value: unknown): string {
  return withCanonical(value, (bytes) => createHash('sha256').update(bytes).digest('base64'));
}
