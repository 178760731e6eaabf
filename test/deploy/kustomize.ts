// Just enough of `kustomize build` for deploy/: resources (files, or directories holding
// a kustomization.yaml), the namespace transformer, image overrides, and JSON 6902
// patches (add / replace / remove) selected by kind and name. Anything else in a
// kustomization is refused, so the test cannot silently render less than kustomize would.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

export interface Kustomization {
  apiVersion: string;
  kind: string;
  namespace?: string;
  resources?: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  patches?: Array<{ target: { kind: string; name: string }; patch: string }>;
}

const KNOWN_KEYS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images', 'patches']);

/** Every YAML document of a file; throws on a syntax error. */
export function readYamlDocs(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return docs
    .map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

export function readKustomization(dir: string): Kustomization {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  for (const key of Object.keys(k)) if (!KNOWN_KEYS.has(key)) throw new Error(`${dir}/kustomization.yaml: ${key} is not supported by this renderer`);
  return k;
}

/** Where a resource entry points: a file, or a directory with a kustomization. */
export function resolveResource(dir: string, entry: string): { kind: 'file' | 'dir'; path: string } | undefined {
  const path = join(dir, entry);
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) return existsSync(join(path, 'kustomization.yaml')) ? { kind: 'dir', path } : undefined;
  return { kind: 'file', path };
}

export function build(dir: string): Obj[] {
  const k = readKustomization(dir);
  let objs: Obj[] = [];
  for (const entry of k.resources ?? []) {
    const r = resolveResource(dir, entry);
    if (!r) throw new Error(`${dir}/kustomization.yaml: resource ${entry} does not exist`);
    objs.push(...(r.kind === 'dir' ? build(r.path) : (readYamlDocs(r.path) as Obj[])));
  }
  objs = structuredClone(objs);
  if (k.namespace) for (const o of objs) setNamespace(o, k.namespace);
  for (const img of k.images ?? []) for (const o of objs) retag(o, img);
  for (const p of k.patches ?? []) {
    const targets = objs.filter((o) => o.kind === p.target.kind && o.metadata.name === p.target.name);
    if (targets.length !== 1) throw new Error(`${dir}: patch target ${p.target.kind}/${p.target.name} matches ${targets.length} objects`);
    for (const op of parse(p.patch) as Array<{ op: string; path: string; value?: unknown }>) applyOp(targets[0]!, op);
  }
  return objs;
}

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace']);

function setNamespace(o: Obj, ns: string): void {
  if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = ns;
  if (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') {
    for (const s of (o['subjects'] as Array<{ kind: string; namespace?: string }>) ?? []) if (s.kind === 'ServiceAccount') s.namespace = ns;
  }
}

function retag(o: Obj, img: { name: string; newName?: string; newTag?: string }): void {
  const spec = (o['spec'] as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  if (!spec) return;
  for (const list of ['initContainers', 'containers']) {
    for (const c of (spec[list] as Array<{ image: string }>) ?? []) {
      const [name, tag] = c.image.split(':');
      if (name !== img.name) continue;
      c.image = `${img.newName ?? name}:${img.newTag ?? tag}`;
    }
  }
}

function applyOp(target: unknown, op: { op: string; path: string; value?: unknown }): void {
  const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop();
  if (last === undefined) throw new Error(`bad patch path ${op.path}`);
  let cur = target as Record<string, unknown>;
  for (const p of parts) {
    const next = cur[p];
    if (next === null || typeof next !== 'object') throw new Error(`patch path ${op.path}: ${p} does not exist`);
    cur = next as Record<string, unknown>;
  }
  const exists = Array.isArray(cur) ? Number(last) < cur.length : last in cur;
  if (op.op === 'replace' || op.op === 'remove') {
    if (!exists) throw new Error(`patch ${op.op} ${op.path}: no such field`);
    if (op.op === 'remove') {
      if (Array.isArray(cur)) cur.splice(Number(last), 1);
      else delete cur[last];
    } else cur[last] = op.value;
  } else if (op.op === 'add') {
    if (Array.isArray(cur) && last === '-') cur.push(op.value);
    else if (Array.isArray(cur)) cur.splice(Number(last), 0, op.value);
    else cur[last] = op.value;
  } else {
    throw new Error(`patch op ${op.op} is not supported by this renderer`);
  }
}
