// Structured JSON logs, one object per line, on stderr (or a file descriptor).

import { writeSync } from 'node:fs';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function serialise(v: unknown): unknown {
  if (v instanceof Error) {
    const e = v as Error & { code?: string };
    return { name: e.name, code: e.code, message: e.message };
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export function jsonLogger(level: Level = 'info', fd = 2, base: Record<string, unknown> = {}): Logger {
  const min = LEVELS.indexOf(level);
  const emit = (l: Level, msg: string, fields: Record<string, unknown> = {}): void => {
    if (LEVELS.indexOf(l) < min) return;
    const rec: Record<string, unknown> = { ts: new Date().toISOString(), level: l, msg, ...base };
    for (const [k, v] of Object.entries(fields)) rec[k] = serialise(v);
    writeSync(fd, JSON.stringify(rec) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
