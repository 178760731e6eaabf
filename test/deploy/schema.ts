// A small structural schema for the Kubernetes kinds kpx ships (deploy/), enough to catch
// a misspelt or misplaced field before a cluster does: required fields, their types, and
// no unknown fields where the shape is fixed. Not the OpenAPI schema — only what we use.

export type Schema =
  | { type: 'string' | 'number' | 'boolean' | 'any'; enum?: readonly unknown[] }
  | { type: 'array'; items: Schema }
  | { type: 'object'; required?: readonly string[]; props?: Record<string, Schema>; additional?: Schema | 'any' };

const str: Schema = { type: 'string' };
const num: Schema = { type: 'number' };
const bool: Schema = { type: 'boolean' };
const any: Schema = { type: 'any' };
const strMap: Schema = { type: 'object', additional: str };
const obj = (props: Record<string, Schema>, required: readonly string[] = [], additional?: Schema | 'any'): Schema =>
  additional === undefined ? { type: 'object', props, required } : { type: 'object', props, required, additional };
const arr = (items: Schema): Schema => ({ type: 'array', items });

const metadata = (namespaced: boolean): Schema =>
  obj({ name: str, namespace: str, labels: strMap, annotations: strMap }, namespaced ? ['name', 'namespace'] : ['name']);

const keyRef = obj({ name: str, key: str, optional: bool }, ['name', 'key']);
const envVar = obj(
  {
    name: str,
    value: str,
    valueFrom: obj({ fieldRef: obj({ fieldPath: str, apiVersion: str }, ['fieldPath']), configMapKeyRef: keyRef, secretKeyRef: keyRef }),
  },
  ['name'],
);
const httpProbe = obj(
  {
    httpGet: obj({ path: str, port: any, scheme: str, host: str }, ['port']),
    initialDelaySeconds: num,
    periodSeconds: num,
    timeoutSeconds: num,
    failureThreshold: num,
    successThreshold: num,
  },
  ['httpGet'],
);
const quantities = obj({ cpu: any, memory: any }, []);
const volumeMount = obj(
  { name: str, mountPath: str, readOnly: bool, mountPropagation: { type: 'string', enum: ['None', 'HostToContainer', 'Bidirectional'] }, subPath: str },
  ['name', 'mountPath'],
);
const container = obj(
  {
    name: str,
    image: str,
    command: arr(str),
    args: arr(str),
    env: arr(envVar),
    envFrom: arr(obj({ configMapRef: obj({ name: str, optional: bool }, ['name']), prefix: str })),
    ports: arr(obj({ name: str, containerPort: num, hostPort: num, protocol: { type: 'string', enum: ['TCP', 'UDP', 'SCTP'] } }, ['containerPort'])),
    readinessProbe: httpProbe,
    livenessProbe: httpProbe,
    resources: obj({ requests: quantities, limits: quantities }),
    securityContext: obj({
      privileged: bool,
      allowPrivilegeEscalation: bool,
      readOnlyRootFilesystem: bool,
      runAsUser: num,
      capabilities: obj({ add: arr(str), drop: arr(str) }),
      seccompProfile: obj({ type: { type: 'string', enum: ['RuntimeDefault', 'Unconfined', 'Localhost'] }, localhostProfile: str }, ['type']),
      appArmorProfile: obj({ type: { type: 'string', enum: ['RuntimeDefault', 'Unconfined', 'Localhost'] }, localhostProfile: str }, ['type']),
    }),
    volumeMounts: arr(volumeMount),
  },
  ['name', 'image'],
);
const volume = obj(
  {
    name: str,
    hostPath: obj({ path: str, type: { type: 'string', enum: ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'] } }, ['path']),
    emptyDir: obj({ medium: str, sizeLimit: any }),
    configMap: obj({ name: str }, ['name']),
  },
  ['name'],
);
const podSpec = obj(
  {
    serviceAccountName: str,
    priorityClassName: str,
    hostNetwork: bool,
    dnsPolicy: { type: 'string', enum: ['Default', 'ClusterFirst', 'ClusterFirstWithHostNet', 'None'] },
    terminationGracePeriodSeconds: num,
    tolerations: arr(obj({ key: str, operator: { type: 'string', enum: ['Exists', 'Equal'] }, value: str, effect: str, tolerationSeconds: num })),
    nodeSelector: strMap,
    initContainers: arr(container),
    containers: arr(container),
    volumes: arr(volume),
  },
  ['containers'],
);

const rbacSubject = obj({ kind: { type: 'string', enum: ['ServiceAccount', 'User', 'Group'] }, name: str, namespace: str, apiGroup: str }, ['kind', 'name']);

/** apiVersion and schema of every kind deploy/ may contain. */
export const KINDS: Record<string, { apiVersion: string; schema: Schema }> = {
  DaemonSet: {
    apiVersion: 'apps/v1',
    schema: obj(
      {
        apiVersion: str,
        kind: str,
        metadata: metadata(true),
        spec: obj(
          {
            selector: obj({ matchLabels: strMap }, ['matchLabels']),
            updateStrategy: obj({ type: { type: 'string', enum: ['RollingUpdate', 'OnDelete'] }, rollingUpdate: obj({ maxUnavailable: any, maxSurge: any }) }),
            template: obj({ metadata: obj({ labels: strMap, annotations: strMap }, ['labels']), spec: podSpec }, ['metadata', 'spec']),
          },
          ['selector', 'template'],
        ),
      },
      ['apiVersion', 'kind', 'metadata', 'spec'],
    ),
  },
  ServiceAccount: { apiVersion: 'v1', schema: obj({ apiVersion: str, kind: str, metadata: metadata(true) }, ['apiVersion', 'kind', 'metadata']) },
  ClusterRole: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    schema: obj(
      {
        apiVersion: str,
        kind: str,
        metadata: metadata(false),
        rules: arr(obj({ apiGroups: arr(str), resources: arr(str), verbs: arr(str), resourceNames: arr(str) }, ['apiGroups', 'resources', 'verbs'])),
      },
      ['apiVersion', 'kind', 'metadata', 'rules'],
    ),
  },
  ClusterRoleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    schema: obj(
      {
        apiVersion: str,
        kind: str,
        metadata: metadata(false),
        roleRef: obj({ apiGroup: str, kind: str, name: str }, ['apiGroup', 'kind', 'name']),
        subjects: arr(rbacSubject),
      },
      ['apiVersion', 'kind', 'metadata', 'roleRef', 'subjects'],
    ),
  },
  ConfigMap: {
    apiVersion: 'v1',
    schema: obj({ apiVersion: str, kind: str, metadata: metadata(true), data: strMap }, ['apiVersion', 'kind', 'metadata', 'data']),
  },
};

export const KUSTOMIZATION_SCHEMA: Schema = obj(
  {
    apiVersion: { type: 'string', enum: ['kustomize.config.k8s.io/v1beta1'] },
    kind: { type: 'string', enum: ['Kustomization'] },
    namespace: str,
    resources: arr(str),
    images: arr(obj({ name: str, newName: str, newTag: str }, ['name'])),
    patches: arr(obj({ target: obj({ kind: str, name: str }, ['kind', 'name']), patch: str }, ['target', 'patch'])),
  },
  ['apiVersion', 'kind'],
);

/** Every problem with `value` against `schema`, as "path: what". */
export function validate(value: unknown, schema: Schema, path = ''): string[] {
  const at = path || '(root)';
  switch (schema.type) {
    case 'any':
      return [];
    case 'string':
    case 'number':
    case 'boolean': {
      if (typeof value !== schema.type) return [`${at}: want ${schema.type}, got ${JSON.stringify(value)}`];
      if (schema.enum && !schema.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`];
      return [];
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: want a list`];
      return value.flatMap((v, i) => validate(v, schema.items, `${path}[${i}]`));
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${at}: want a mapping`];
      const rec = value as Record<string, unknown>;
      const out: string[] = [];
      for (const r of schema.required ?? []) if (!(r in rec)) out.push(`${at}: missing required field ${r}`);
      for (const [k, v] of Object.entries(rec)) {
        const sub = schema.props?.[k] ?? (schema.additional === 'any' ? { type: 'any' as const } : schema.additional);
        if (!sub) out.push(`${path ? `${path}.` : ''}${k}: unknown field`);
        else out.push(...validate(v, sub, path ? `${path}.${k}` : k));
      }
      return out;
    }
  }
}
