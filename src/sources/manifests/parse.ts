// Turns a manifest file's text into documents: multi-document YAML (or one JSON value),
// with `kind: List` expanded into its items. A document that fails to parse becomes an
// error entry; the other documents of the file are still returned.

import { parseAllDocuments } from 'yaml';
import { isObject } from './fields.js';

export interface DocRef {
  /** File name relative to the manifest directory. */
  readonly file: string;
  /** 1-based document number within the file. */
  readonly doc: number;
  /** 1-based item number when the document is a List. */
  readonly item?: number;
}

export type ParsedDoc =
  | { readonly ref: DocRef; readonly value: unknown }
  | { readonly ref: DocRef; readonly syntaxError: string };

/** "web.yaml document 2", "all.json document 1 item 3". */
export function describeRef(ref: DocRef): string {
  return `${ref.file} document ${ref.doc}${ref.item === undefined ? '' : ` item ${ref.item}`}`;
}

/** Bounds alias expansion so a hostile file cannot blow up memory ("billion laughs"). */
const MAX_ALIAS_COUNT = 1000;

export function parseManifest(file: string, text: string): ParsedDoc[] {
  const values: Array<{ doc: number; value: unknown } | { doc: number; syntaxError: string }> = [];
  if (file.endsWith('.json')) {
    try {
      values.push({ doc: 1, value: JSON.parse(text) as unknown });
    } catch (e) {
      values.push({ doc: 1, syntaxError: (e as Error).message });
    }
  } else {
    parseAllDocuments(text, { prettyErrors: true }).forEach((d, i) => {
      if (d.errors.length > 0) {
        // prettyErrors gives "… at line L, column C:" followed by a code frame; keep the first line.
        const messages = d.errors.map((e) => (e.message.split('\n')[0] ?? '').replace(/:$/, ''));
        values.push({ doc: i + 1, syntaxError: messages.join('; ') });
        return;
      }
      try {
        const value: unknown = d.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
        if (value !== null && value !== undefined) values.push({ doc: i + 1, value });
      } catch (e) {
        values.push({ doc: i + 1, syntaxError: (e as Error).message });
      }
    });
  }

  const out: ParsedDoc[] = [];
  for (const v of values) {
    if ('syntaxError' in v) {
      out.push({ ref: { file, doc: v.doc }, syntaxError: v.syntaxError });
    } else if (isList(v.value)) {
      // `kubectl get -o yaml` output: a v1 List, or a typed list (ServiceList…) whose items
      // carry no kind/apiVersion of their own.
      const list = v.value;
      const itemKind = list.kind === 'List' ? undefined : list.kind.slice(0, -'List'.length);
      list.items.forEach((item, i) => {
        const value = itemKind !== undefined && isObject(item) && item['kind'] === undefined ? { kind: itemKind, apiVersion: list.apiVersion, ...item } : item;
        out.push({ ref: { file, doc: v.doc, item: i + 1 }, value });
      });
    } else {
      out.push({ ref: { file, doc: v.doc }, value: v.value });
    }
  }
  return out;
}

function isList(v: unknown): v is { kind: string; apiVersion?: unknown; items: unknown[] } {
  return isObject(v) && typeof v['kind'] === 'string' && v['kind'].endsWith('List') && Array.isArray(v['items']);
}
