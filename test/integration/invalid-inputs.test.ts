// Every broken input of fixtures/invalid/cases.json through the real CLI against the real cluster:
// `nopea diff` exits 2 naming file, line and what is wrong, and writes nothing anywhere.
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { apiRequest, kubectl, testCluster, useNamespace } from '../helpers/cluster.js';
import { git, makeRepo, type TestRepo } from '../helpers/git.js';
import { runNopea } from '../helpers/nopea.js';
import { CASES, REPO } from '../helpers/invalid-cases.js';

const run = promisify(execFile);

/** What the identify stage suggests for misspellings, beyond the message cases.json checks. */
const HINTS: Record<string, string> = {
  'unknown-api-group': 'hint: the cluster serves Deployment as apps/v1: check apiVersion',
  'unknown-kind': 'hint: did you mean kind Deployment (apiVersion apps/v1)?',
};

/** Kind, namespace and name of every object the fixtures describe, as far as they parse. */
async function fixtureObjects(): Promise<{ kind: string; namespace?: string; name: string }[]> {
  const out: { kind: string; namespace?: string; name: string }[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && /\.(ya?ml|json)$/.test(e.name)) {
        for (const doc of parseAllDocuments(await readFile(full, 'utf8'), {
          uniqueKeys: false,
          logLevel: 'error',
        })) {
          let value: unknown;
          try {
            value = doc.toJS({ maxAliasCount: 10 });
          } catch {
            continue; // a fixture that does not parse describes no object
          }
          const items = Array.isArray(value) ? value : [value];
          for (const o of items as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }[]) {
            if (typeof o?.kind !== 'string' || typeof o.metadata?.name !== 'string') continue;
            const ns = o.metadata.namespace;
            out.push({
              kind: o.kind,
              name: o.metadata.name,
              ...(typeof ns === 'string' ? { namespace: ns } : {}),
            });
          }
        }
      }
    }
  };
  await walk(path.join(REPO, 'fixtures/invalid'));
  return out;
}

describe('nopea diff on invalid inputs', () => {
  const ns = useNamespace('diff-invalid', { scope: 'all' });
  const repos: TestRepo[] = [];
  let objects: { kind: string; namespace?: string; name: string }[] = [];
  const before = new Map<string, string>();

  /** `kubectl get` of one fixture object: its uid and resourceVersion, or why there is none. */
  async function observe(o: { kind: string; namespace?: string; name: string }): Promise<string> {
    const res = await kubectl([
      'get',
      o.kind,
      o.name,
      '-n',
      o.namespace ?? ns.name,
      '-o',
      'jsonpath={.metadata.uid} {.metadata.resourceVersion}',
    ]);
    if (res.code === 0) return `exists ${res.stdout}`;
    if (/NotFound|not found/.test(res.stderr)) return 'absent';
    // Kinds the cluster does not know (the unknown-kind fixtures) cannot have objects.
    if (/doesn't have a resource type/.test(res.stderr)) return 'no such kind';
    throw new Error(`kubectl get ${o.kind} ${o.name}: ${res.stderr}`);
  }

  beforeAll(async () => {
    objects = await fixtureObjects();
    // The fixtures name cluster-scoped objects (Namespace team-a, ClusterRole reader) that another test
    // could own: what matters is that this run does not touch them, so compare before and after.
    const seen = await Promise.all(objects.map(observe));
    objects.forEach((o, i) => before.set(JSON.stringify(o), seen[i]!));
  });

  afterAll(async () => {
    // Nothing was written: no fixture object was created or changed, no state branch appeared.
    const seen = await Promise.all(objects.map(observe));
    const after = new Map(objects.map((o, i) => [JSON.stringify(o), seen[i]!]));
    try {
      expect(after).toEqual(before);
      const inNamespace = await apiRequest<{ items: unknown[] }>(
        'GET',
        `/apis/apps/v1/namespaces/${ns.name}/deployments`,
      );
      expect(inNamespace.body.items).toEqual([]);
      for (const repo of repos) {
        expect(await git(repo.remote, 'for-each-ref', '--format=%(refname)')).toBe('refs/heads/main');
        expect(await git(repo.work, 'for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/nopea')).toBe(
          'refs/heads/main',
        );
      }
    } finally {
      await Promise.all(repos.map((r) => r.cleanup()));
    }
  });

  it('covers at least 30 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(objects.length).toBeGreaterThan(20);
  });

  it.concurrent.each(CASES.map((c) => [c.name, c] as const))(
    '%s: exit 2 naming file, line and the problem',
    async (_name, c) => {
      const repo = await makeRepo();
      repos.push(repo);
      const root = path.resolve(REPO, c.root ?? '.');
      let paths = c.paths ?? [path.relative(root, path.resolve(REPO, c.path)) || '.'];
      if (c.generate) {
        await run(process.execPath, [path.join(REPO, c.generate), repo.work]);
        paths = ['.'];
      } else if (c.root) {
        // Config cases: the fixture folder is the repository root (it holds the nopea.yaml).
        await cp(root, repo.work, { recursive: true, verbatimSymlinks: true });
      } else {
        const target = path.join(repo.work, c.path);
        await mkdir(path.dirname(target), { recursive: true });
        // path-not-found has no folder on purpose.
        await cp(path.join(REPO, c.path), target, { recursive: true, verbatimSymlinks: true }).catch(
          (err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          },
        );
      }
      await repo.commitAll(`add ${c.name}`);

      const { kubeconfig, kubectl: kubectlBin } = testCluster();
      const selection = c.stage === 'config' ? [] : [...paths, '-s', 'invalid'];
      const result = await runNopea(
        ['diff', ...selection, '-n', ns.name, '--kubeconfig', kubeconfig, '--kubectl', kubectlBin],
        { cwd: repo.work },
      );
      const report = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
      expect(result.code, report).toBe(2);
      expect(result.stdout, report).toBe('');
      const problems = result.stderr.split(/^error: /m).filter(Boolean);
      const where = c.file === null ? undefined : `${c.file}:${c.line}: `;
      const match = problems.find(
        (p) => p.includes(c.expect) && (where === undefined ? !/^\S+:\d+: /.test(p) : p.startsWith(where)),
      );
      expect(
        match,
        `no problem ${where ?? '(without a file)'} containing "${c.expect}" in\n${report}`,
      ).toBeDefined();
      if (HINTS[c.name]) expect(match).toContain(HINTS[c.name]);
    },
  );
});
