// A Logger that keeps what it was told, so tests can wait for "retrying" and the like.

import type { Logger } from '../../src/log.js';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

export class CaptureLogger implements Logger {
  readonly records: LogRecord[] = [];
  debug(msg: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: 'debug', msg, fields });
  }
  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: 'info', msg, fields });
  }
  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: 'warn', msg, fields });
  }
  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: 'error', msg, fields });
  }
  count(msg: string, resource?: string): number {
    return this.records.filter((r) => r.msg === msg && (resource === undefined || r.fields['resource'] === resource)).length;
  }
}
