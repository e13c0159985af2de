/**
 * Generated manifests for benchmarks: a realistic mix of kinds (ConfigMaps, Services, Secrets,
 * ServiceAccounts, RBAC), ten objects per multi-document file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

export interface GenerateOptions {
  /** Add the Namespace object itself. */
  withNamespace?: boolean;
  /** Change every n-th object's content (a "git change" relative to variant 0). */
  changeEvery?: number;
  variant?: number;
  /** Directory the files go under (default `manifests`). */
  dir?: string;
  /** Object name prefix (default `obj`). */
  prefix?: string;
}

function objectAt(i: number, namespace: string, changed: boolean, prefix: string): Record<string, unknown> {
  const nameOf = (n: number): string => `${prefix}-${String(n).padStart(4, '0')}`;
  const name = nameOf(i);
  const metadata = { name, namespace, labels: { 'app.kubernetes.io/part-of': 'bench', index: String(i) } };
  const version = changed ? 'v2' : 'v1';
  switch (i % 20) {
    case 0:
    case 1:
    case 2:
    case 3:
      return {
        apiVersion: 'v1',
        kind: 'Service',
        metadata,
        spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      };
    case 4:
    case 5:
      return { apiVersion: 'v1', kind: 'ServiceAccount', metadata };
    case 6:
      return {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata,
        stringData: { token: `bench-${name}-${version}` },
      };
    case 7:
    case 8:
      return {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata,
        rules: [
          {
            apiGroups: [''],
            resources: ['configmaps'],
            verbs: ['get', 'list', changed ? 'watch' : 'get'].filter((v, j, a) => a.indexOf(v) === j),
          },
        ],
      };
    case 9:
      return {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: nameOf(i - 1) },
        subjects: [{ kind: 'ServiceAccount', name: nameOf(i - 4), namespace }],
      };
    default:
      return {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata,
        data: {
          'app.properties': `name=${name}\nversion=${version}\nfeature.flags=a,b,c\n`,
          LOG_LEVEL: 'info',
        },
      };
  }
}

/** `count` objects in `namespace` as files (relative path → content). */
export function generateObjects(
  count: number,
  namespace: string,
  opts: GenerateOptions = {},
): Map<string, string> {
  const dir = opts.dir ?? 'manifests';
  const files = new Map<string, string>();
  if (opts.withNamespace) {
    files.set(
      `${dir}/namespace.yaml`,
      stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }),
    );
  }
  for (let start = 0; start < count; start += 10) {
    const docs: string[] = [];
    for (let i = start; i < Math.min(count, start + 10); i++) {
      const changed = opts.changeEvery !== undefined && (opts.variant ?? 0) > 0 && i % opts.changeEvery === 0;
      docs.push(stringify(objectAt(i, namespace, changed, opts.prefix ?? 'obj')));
    }
    files.set(`${dir}/group-${String(start / 10).padStart(3, '0')}.yaml`, docs.join('---\n'));
  }
  return files;
}

/** Writes generated files under `root`. */
export function writeManifests(root: string, files: Map<string, string>): void {
  for (const [rel, content] of files) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}
