// From the files of one scan to the objects the API server would hold: parse, validate and
// default, drop duplicates, allocate ClusterIPs and node ports, mirror Endpoints into
// EndpointSlices. Keeps what it must remember between scans: parse results per file
// content, the last valid version of every object, and the allocator's sticky state.
//
// An invalid edit of an object that was valid before keeps the last valid version (the API
// server would have refused the update and kept the old object). While a file cannot be
// read or has a YAML syntax error, the objects it held keep their last valid versions too,
// so a half-written file never withdraws Services.

import { BadObjectError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Cidr } from '../../net/ipv4.js';
import type { SourceKind } from '../typed.js';
import { ServiceAllocator } from './allocate.js';
import { endpointsToSlices } from './endpoints-to-slices.js';
import type { JsonObject } from './fields.js';
import { describeRef, parseManifest, type DocRef, type ParsedDoc } from './parse.js';
import { describeIdentity, identityKey, validateObject, type Identity } from './validate.js';

export interface ScannedFile {
  /** Name relative to the manifest directory. */
  readonly name: string;
  readonly text?: string;
  /** Why the file could not be read (then `text` is absent). */
  readonly readError?: string;
}

/** An object as delivered: kinds a sink receives, keyed `${kind}/${namespace}/${name}`. */
export interface DesiredObject {
  readonly kind: Exclude<SourceKind, 'Endpoints'>;
  readonly obj: JsonObject;
}

export interface CompileResult {
  readonly objects: Map<string, DesiredObject>;
  readonly errors: BadObjectError[];
}

export interface CompileOptions {
  readonly nodeName: string;
  readonly serviceCidr: Cidr;
  readonly nodePortRange: { readonly min: number; readonly max: number };
  readonly logger: Logger;
}

interface Candidate {
  readonly id: Identity;
  readonly obj: JsonObject;
  readonly ref: DocRef;
}

function whereOf(ref: DocRef, id?: Identity): string {
  return id ? `${describeRef(ref)} (${describeIdentity(id)})` : describeRef(ref);
}

export class ManifestCompiler {
  private readonly parsed = new Map<string, { text: string; docs: ParsedDoc[] }>();
  private lastGood = new Map<string, Candidate>();
  private readonly allocator: ServiceAllocator;

  constructor(private readonly options: CompileOptions) {
    this.allocator = new ServiceAllocator(options.serviceCidr, options.nodePortRange);
  }

  compile(files: readonly ScannedFile[]): CompileResult {
    const errors: BadObjectError[] = [];
    const candidates = new Map<string, Candidate>();
    const brokenFiles = new Set<string>();
    const carried = new Set<string>();
    const seenFiles = new Set<string>();

    for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
      seenFiles.add(file.name);
      if (file.text === undefined) {
        brokenFiles.add(file.name);
        errors.push(new BadObjectError(file.name, '(file)', `cannot be read: ${file.readError ?? 'unknown error'}`));
        continue;
      }
      const { docs, fresh } = this.parse(file.name, file.text);
      for (const doc of docs) {
        if ('syntaxError' in doc) {
          brokenFiles.add(file.name);
          errors.push(new BadObjectError(describeRef(doc.ref), file.name.endsWith('.json') ? '(json)' : '(yaml)', `syntax error: ${doc.syntaxError}`));
          continue;
        }
        const v = validateObject(doc.value, this.options);
        if (v.status === 'ignored') {
          if (fresh) this.options.logger.debug('manifest object ignored', { where: describeRef(doc.ref), kind: v.kind, reason: v.reason });
          continue;
        }
        if (v.status === 'invalid') {
          const kept = v.id && this.lastGood.get(identityKey(v.id));
          const suffix = kept ? ' (keeping its last valid version)' : '';
          for (const p of v.problems) errors.push(new BadObjectError(whereOf(doc.ref, v.id), p.field, p.reason + suffix));
          if (kept && !candidates.has(identityKey(kept.id))) {
            candidates.set(identityKey(kept.id), kept);
            carried.add(identityKey(kept.id));
          }
          continue;
        }
        const key = identityKey(v.id);
        const first = candidates.get(key);
        if (first && !carried.has(key)) {
          errors.push(new BadObjectError(whereOf(doc.ref, v.id), 'metadata.name', `duplicate: already defined in ${describeRef(first.ref)}`));
          continue;
        }
        carried.delete(key);
        candidates.set(key, { id: v.id, obj: v.obj, ref: doc.ref });
      }
    }
    // Objects of files that are unreadable or half-written stay as they were.
    for (const [key, c] of this.lastGood) {
      if (brokenFiles.has(c.ref.file) && !candidates.has(key)) candidates.set(key, c);
    }
    for (const name of this.parsed.keys()) if (!seenFiles.has(name)) this.parsed.delete(name);
    this.lastGood = new Map(candidates);

    const objects = new Map<string, DesiredObject>();
    this.allocateServices([...candidates.values()].filter((c) => c.id.kind === 'Service'), objects, errors);
    for (const c of candidates.values()) {
      if (c.id.kind === 'Node' || c.id.kind === 'Pod' || c.id.kind === 'EndpointSlice') {
        objects.set(identityKey(c.id), { kind: c.id.kind, obj: c.obj });
      }
    }
    for (const c of candidates.values()) {
      if (c.id.kind !== 'Endpoints') continue;
      for (const slice of endpointsToSlices(c.obj)) {
        const meta = slice['metadata'] as JsonObject;
        const key = identityKey({ kind: 'EndpointSlice', namespace: String(meta['namespace']), name: String(meta['name']) });
        if (objects.has(key)) {
          errors.push(new BadObjectError(whereOf(c.ref, c.id), 'metadata.name', `mirrored EndpointSlice ${String(meta['name'])} clashes with an EndpointSlice of that name`));
          continue;
        }
        objects.set(key, { kind: 'EndpointSlice', obj: slice });
      }
    }
    return { objects, errors };
  }

  /** Parses a file, reusing the last result while its text is unchanged. */
  private parse(name: string, text: string): { docs: ParsedDoc[]; fresh: boolean } {
    const cached = this.parsed.get(name);
    if (cached?.text === text) return { docs: cached.docs, fresh: false };
    const docs = parseManifest(name, text);
    this.parsed.set(name, { text, docs });
    return { docs, fresh: true };
  }

  private allocateServices(services: Candidate[], out: Map<string, DesiredObject>, errors: BadObjectError[]): void {
    // Allocation writes into the spec: work on copies, so lastGood keeps what the file said.
    const copies = services.map((c) => ({ c, obj: structuredClone(c.obj) }));
    const requests = copies.map(({ c, obj }) => ({ key: `${c.id.namespace}/${c.id.name}`, spec: obj['spec'] as JsonObject }));
    const problems = this.allocator.allocate(requests);
    const failed = new Set(problems.map((p) => p.key));
    for (const p of problems) {
      const c = services.find((s) => `${s.id.namespace}/${s.id.name}` === p.key)!;
      errors.push(new BadObjectError(whereOf(c.ref, c.id), p.field, p.reason));
    }
    for (const { c, obj } of copies) {
      if (!failed.has(`${c.id.namespace}/${c.id.name}`)) out.set(identityKey(c.id), { kind: 'Service', obj });
    }
  }
}
