// Flag parsing shared by every subcommand: node's parseArgs, with its errors turned into
// BadFlagError so the user sees which flag and why.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BadFlagError } from '../errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  multiple?: boolean;
  help: string;
  arg?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export function parseFlags<T extends FlagSpecs>(
  argv: string[],
  specs: T,
): { values: { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string | undefined }; positionals: string[] } {
  const options: ParseArgsConfig['options'] = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.default !== undefined ? { default: s.default } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as never, positionals };
  } catch (err) {
    const msg = (err as Error).message;
    const flag = /'(-{1,2}[^' ]+)/.exec(msg)?.[1] ?? '(flags)';
    throw new BadFlagError(flag, msg.replace(/\. To specify.*$/s, ''));
  }
}

export function helpText(usage: string, specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `  --${name}${s.type === 'string' ? ` ${s.arg ?? 'VALUE'}` : ''}`;
    const def = s.default !== undefined && s.default !== false ? ` (default: ${String(s.default)})` : '';
    return `${left.padEnd(34)} ${s.help}${def}`;
  });
  return `${usage}\n\nFlags:\n${rows.join('\n')}\n`;
}

/** Parses a duration like "1s", "250ms", "30m", "1h" into milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new BadFlagError(flag, `not a duration: "${text}" (use e.g. 1s, 250ms, 30m)`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return n * unit;
}
