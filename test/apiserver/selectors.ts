// Field and label selectors as kube-apiserver parses them (the subset tests need):
// fields: "a=b", "a==b", "a!=b", comma-separated; labels: additionally "k", "!k",
// "k in (a,b)", "k notin (a,b)".

import type { KubeObject, Resource } from './resources.js';

export type Matcher = (o: KubeObject) => boolean;

export class SelectorError extends Error {}

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

export function parseFieldSelector(text: string | null, resource: Resource): Matcher {
  if (!text) return () => true;
  const tests: Matcher[] = [];
  for (const term of splitTerms(text)) {
    const m = /^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector term ${JSON.stringify(term)}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    const get = resource.fields[field];
    if (!get) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    tests.push(op === '!=' ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return (o) => tests.every((t) => t(o));
}

export function parseLabelSelector(text: string | null): Matcher {
  if (!text) return () => true;
  const tests: Matcher[] = [];
  const labels = (o: KubeObject): Record<string, string> => o.metadata?.labels ?? {};
  for (const term of splitTerms(text)) {
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const key = m[1]!;
      const set = new Set(m[3]!.split(',').map((s) => s.trim()));
      const wantIn = m[2] === 'in';
      tests.push((o) => {
        const v = labels(o)[key];
        return wantIn ? v !== undefined && set.has(v) : v === undefined || !set.has(v);
      });
    } else if ((m = /^([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)$/.exec(term))) {
      const [key, op, value] = [m[1]!, m[2]!, m[3]!];
      tests.push(op === '!=' ? (o) => labels(o)[key] !== value : (o) => labels(o)[key] === value);
    } else if ((m = /^(!?)([\w./-]+)$/.exec(term))) {
      const negate = m[1] === '!';
      const key = m[2]!;
      tests.push((o) => (key in labels(o)) !== negate);
    } else {
      throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
    }
  }
  return (o) => tests.every((t) => t(o));
}
