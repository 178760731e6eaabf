// What a sync that hit a full map reports: which map, and which Services were left out
// (each either fully absent or still at what it was before), while every other Service
// was written. The reconciler retries them on the next (full) sync.

import type { EncodedFrontend } from '../encoder/types.js';
import { MapFullError } from '../errors.js';

export class ServicesNotProgrammedError extends MapFullError {
  /** Every map that refused an entry, the first one also in `map`. */
  readonly maps: string[];
  /** Services (or hostPort pods) not programmed, sorted. */
  readonly services: string[];

  constructor(maps: string[], errno: number, services: string[]) {
    super(maps[0] ?? 'unknown', errno);
    this.maps = maps;
    this.services = services;
    const shown = services.slice(0, 20).join(', ') + (services.length > 20 ? `, … (${services.length - 20} more)` : '');
    this.message =
      `map ${maps.join(', ')} is full: ${services.length} Service(s) not programmed: ${shown}; ` +
      'every other Service is programmed; retried at the next sync (raise --map-size, see docs/upgrade.md)';
  }
}

/** The Service a frontend belongs to: its owner without the port part
 *  ("default/web:http" -> "default/web"; a hostPort's owner gives its pod). */
export function serviceOf(f: Pick<EncodedFrontend, 'owner'>): string {
  const i = f.owner.lastIndexOf(':');
  return i > 0 ? f.owner.slice(0, i) : f.owner;
}

/** Map entries a frontend needs: slot 0, its slots, its backends and its source ranges. */
export function entriesOf(f: EncodedFrontend | undefined): number {
  return f ? 1 + f.slots.length + f.backends.size + (f.sourceRanges?.length ?? 0) : 0;
}
