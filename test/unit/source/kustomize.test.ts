/**
 * Kustomization rendering. These tests need a real kubectl: set NOPEA_TEST_KUBECTL or put kubectl on
 * PATH. Without one they fail (never skip), saying so.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { cleanStderr, ORIGIN_ANNOTATION } from '../../../src/source/kustomize.js';
import { loadManifests } from '../../../src/source/load.js';
import { errorExitCode } from '../../../src/surface/outcome.js';
import type { Manifest } from '../../../src/resources/object.js';
import { CASES, CORPUS, expectCaseProblem, REPO, runCase } from './cases.js';

function findKubectl(): string | undefined {
  const fromEnv = process.env.NOPEA_TEST_KUBECTL;
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

const FOUND = findKubectl();

function kubectl(): string {
  if (!FOUND) {
    throw new Error(
      'kustomize tests need kubectl: set NOPEA_TEST_KUBECTL to a kubectl binary (1.14 or newer) or put kubectl on PATH',
    );
  }
  return FOUND;
}

const TIMEOUT = 60_000;
const run = promisify(execFile);

function summary(manifests: Manifest[]): string[] {
  return manifests.map((m) => `${m.object.kind}/${m.object.metadata.name} ${m.origin.file}:${m.origin.line}`);
}

function annotationsOf(manifests: Manifest[]): string[] {
  return manifests.flatMap((m) => Object.keys(m.object.metadata.annotations ?? {}));
}

/** What `kubectl kustomize` prints for a directory, as plain objects. */
async function renderDirect(dir: string): Promise<unknown[]> {
  const { stdout } = await run(kubectl(), ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(stdout, { version: '1.1' }).map((d) => d.toJS() as unknown);
}

let repo: string;

beforeEach(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'nopea-kustomize-test-'));
});

afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

async function put(rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
  await writeFile(path.join(repo, rel), content);
}

describe('kustomizations', () => {
  it('finds a kubectl to test with', () => {
    expect(kubectl()).toBeTruthy();
  });

  it(
    'traces rendered objects to their source documents and generators, and strips the trace annotation',
    async () => {
      const manifests = await loadManifests({
        repoRoot: REPO,
        paths: ['fixtures/valid/kustomize-app'],
        kubectl: kubectl(),
      });
      const app = 'fixtures/valid/kustomize-app';
      // Generated names end in a content hash, which kustomize versions may compute differently.
      const unhashed = summary(manifests).map((line) => line.replace(/-[a-z0-9]{10} /, '-<hash> '));
      expect(unhashed).toEqual([
        `ConfigMap/shop-settings-extra-<hash> ${app}/kustomization.yaml:10`,
        `ConfigMap/shop-settings-<hash> ${app}/kustomization.yaml:7`,
        `Service/shop-web ${app}/base/objects.yaml:2`,
        `Deployment/shop-web ${app}/base/objects.yaml:12`,
      ]);
      expect(annotationsOf(manifests)).toEqual(['team']);
    },
    TIMEOUT,
  );

  it(
    'renders a kustomization directory met during a walk instead of walking into it',
    async () => {
      await put('deploy/app/kustomization.yaml', 'resources: [cm.yaml]\nnamePrefix: app-\n');
      await put('deploy/app/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n');
      await put('deploy/app/patch-not-a-resource.yaml', 'this: is not read on its own\n');
      await put('deploy/plain.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n');
      const manifests = await loadManifests({ repoRoot: repo, paths: ['deploy'], kubectl: kubectl() });
      expect(summary(manifests)).toEqual([
        'ConfigMap/app-one deploy/app/cm.yaml:1',
        'ConfigMap/plain deploy/plain.yaml:1',
      ]);
      // Naming the kustomization file itself means the same as naming its directory.
      const direct = await loadManifests({
        repoRoot: repo,
        paths: ['deploy/app/kustomization.yaml'],
        kubectl: kubectl(),
      });
      expect(summary(direct)).toEqual(['ConfigMap/app-one deploy/app/cm.yaml:1']);
    },
    TIMEOUT,
  );

  it(
    'loads sock-shop (a root kustomization.yaml) with origins in the base files',
    async () => {
      const root = path.join(CORPUS, 'argocd-example-apps');
      const manifests = await loadManifests({ repoRoot: root, paths: ['sock-shop'], kubectl: kubectl() });
      expect(manifests).toHaveLength(29);
      const suffixes = new Map([
        ['Deployment', '-dep'],
        ['Service', '-svc'],
        ['Ingress', ''],
      ]);
      for (const m of manifests) {
        const file = `sock-shop/base/${m.object.metadata.name}${suffixes.get(m.object.kind)}.yaml`;
        expect(m.origin).toEqual({ file, line: 2 });
      }
      expect(annotationsOf(manifests)).not.toContain(ORIGIN_ANNOTATION);
      // The wrapper kustomization changes nothing but the origins.
      expect(manifests.map((m) => m.object)).toEqual(await renderDirect(path.join(root, 'sock-shop')));
    },
    TIMEOUT,
  );

  it(
    'loads podinfo/kustomize and the podinfo dev overlay with origins in bases and generators',
    async () => {
      const root = path.join(CORPUS, 'podinfo');
      const simple = await loadManifests({ repoRoot: root, paths: ['kustomize'], kubectl: kubectl() });
      expect(summary(simple)).toEqual([
        'Service/podinfo kustomize/service.yaml:1',
        'Deployment/podinfo kustomize/deployment.yaml:1',
        'HorizontalPodAutoscaler/podinfo kustomize/hpa.yaml:1',
      ]);

      const dev = await loadManifests({ repoRoot: root, paths: ['deploy/overlays/dev'], kubectl: kubectl() });
      expect(dev).toHaveLength(25);
      expect(dev.map((m) => m.object)).toEqual(await renderDirect(path.join(root, 'deploy/overlays/dev')));
      const byName = new Map(dev.map((m) => [`${m.object.kind}/${m.object.metadata.name}`, m.origin]));
      expect(byName.get('Namespace/dev')).toEqual({ file: 'deploy/overlays/dev/namespace.yaml', line: 1 });
      expect(byName.get('StatefulSet/database-primary')).toEqual({
        file: 'deploy/bases/database/statefulset-primary.yaml',
        line: 1,
      });
      const generated = dev.filter((m) => m.object.kind === 'ConfigMap');
      expect(generated.length).toBeGreaterThan(0);
      for (const m of generated) {
        expect(m.origin.file).toMatch(/^deploy\/bases\/[a-z]+\/kustomization\.yaml$/);
        expect(m.origin.line).toBeGreaterThan(1);
      }
      for (const m of dev) expect(m.object.metadata.namespace ?? 'dev').toBe('dev');
    },
    TIMEOUT,
  );

  it(
    'refuses the bases of an overlay that lie outside the repository, at the line of each entry',
    async () => {
      // The podinfo dev overlay as its own repository: its bases are outside it.
      const root = path.join(CORPUS, 'podinfo/deploy/overlays/dev');
      const err = await loadManifests({ repoRoot: root, paths: ['.'], kubectl: kubectl() }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NopeaError);
      expect(errorExitCode(err)).toBe(2);
      expect((err as NopeaError).problems.map((p) => [p.origin, p.message])).toEqual(
        ['backend', 'frontend', 'cache', 'database'].map((base, i) => [
          { file: 'kustomization.yaml', line: 5 + i },
          `resources[${i}] "../../bases/${base}" resolves outside the repository`,
        ]),
      );
    },
    TIMEOUT,
  );

  it(
    'keeps origin annotations a kustomization asks for itself',
    async () => {
      await put('app/kustomization.yaml', 'resources: [cm.yaml]\nbuildMetadata: [originAnnotations]\n');
      await put('app/cm.yaml', '# first line\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n');
      const [m] = await loadManifests({ repoRoot: repo, paths: ['app'], kubectl: kubectl() });
      expect(m!.origin).toEqual({ file: 'app/cm.yaml', line: 2 });
      expect(m!.object.metadata.annotations?.[ORIGIN_ANNOTATION]).toBe('path: cm.yaml\n');
    },
    TIMEOUT,
  );

  it(
    'reports render failures with kustomize stderr, and problems of rendered objects at their source',
    async () => {
      await put('bad/kustomization.yaml', 'resources: [gone.yaml]\n');
      await put('odd/kustomization.yaml', 'resources: [cm.yaml]\n');
      await put(
        'odd/cm.yaml',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\n  labels:\n    version: "1.0+x"\n',
      );
      const err = await loadManifests({ repoRoot: repo, paths: ['bad', 'odd'], kubectl: kubectl() }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NopeaError);
      const problems = (err as NopeaError).problems;
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatchObject({ origin: { file: 'bad/kustomization.yaml', line: 1 } });
      expect(problems[0]!.message).toMatch(/^kustomize could not render bad: .*gone\.yaml/);
      expect(problems[0]!.message).not.toContain(repo);
      expect(problems[0]!.message).not.toContain('nopea-kustomize-');
      expect(problems[1]).toMatchObject({
        message: expect.stringContaining('label "version" value "1.0+x"'),
        origin: { file: 'odd/cm.yaml', line: 1 },
      });
    },
    TIMEOUT,
  );

  const needKubectl = CASES.filter((c) => c.needs === 'kubectl');
  it.each(needKubectl.map((c) => [c.name, c] as const))(
    'fixture case %s fails with its file, line and message',
    async (_name, c) => {
      expectCaseProblem(c, await runCase(c, kubectl()));
    },
    TIMEOUT,
  );

  it('falls back to a plain render when kubectl is too old for buildMetadata, and removes its temp dir', async () => {
    // A stand-in kubectl: refuses buildMetadata like kustomize before v4, records the directories it saw.
    const fake = path.join(repo, 'old-kubectl');
    const seen = path.join(repo, 'seen.txt');
    const script = [
      '#!/bin/sh',
      `echo "$2" >> '${seen}'`,
      'if grep -q buildMetadata "$2/kustomization.yaml"; then',
      '  echo \'error: json: unknown field "buildMetadata"\' >&2',
      '  exit 1',
      'fi',
      "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: old\\n'",
    ].join('\n');
    await writeFile(fake, `${script}\n`, { mode: 0o755 });
    await put('app/kustomization.yaml', 'resources: [cm.yaml]\n');
    const manifests = await loadManifests({ repoRoot: repo, paths: ['app'], kubectl: fake });
    expect(summary(manifests)).toEqual(['ConfigMap/old app/kustomization.yaml:1']);
    const dirs = (await readFile(seen, 'utf8')).trim().split('\n');
    expect(dirs).toHaveLength(2);
    expect(dirs[0]).toMatch(/nopea-kustomize-/);
    expect(existsSync(dirs[0]!)).toBe(false);
    expect(dirs[1]).toBe(await realpath(path.join(repo, 'app')));
  });

  it('says kubectl is needed, and how to provide it, when it cannot be run', async () => {
    await put('app/kustomization.yaml', 'resources: []\n');
    const missing = path.join(repo, 'no-such-kubectl');
    const err = await loadManifests({ repoRoot: repo, paths: ['app'], kubectl: missing }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).problems).toEqual([
      {
        message: `kubectl is needed to render kustomizations, but "${missing}" was not found`,
        origin: { file: 'app/kustomization.yaml', line: 1 },
        hint: 'install kubectl 1.14 or newer, or point --kubectl or NOPEA_KUBECTL at it',
      },
    ]);
  });
});

describe('kustomizations stay inside the repository', () => {
  let root: string;
  const gitConfig =
    '[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX0ZBS0U=\n';

  beforeEach(async () => {
    // `repo` holds the repository (`repo/r`) and what lies outside it.
    root = path.join(repo, 'r');
    await put('r/.git/config', gitConfig);
    await put('outside/base/kustomization.yaml', 'resources: [cm.yaml]\n');
    await put('outside/base/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside\n');
    await put('outside/patch.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: in\n');
    await put('r/in/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: in\n');
  });

  async function refused(
    paths: string[],
    kubectlPath = kubectl(),
    allowRemote?: boolean,
  ): Promise<NopeaError> {
    const kustomize = allowRemote === undefined ? {} : { kustomize: { allowRemote } };
    const err = await loadManifests({ repoRoot: root, paths, kubectl: kubectlPath, ...kustomize }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NopeaError);
    expect(errorExitCode(err)).toBe(2);
    expect((err as NopeaError).message).not.toMatch(/extraheader|eC1h/);
    return err as NopeaError;
  }

  const where = (err: NopeaError) =>
    err.problems.map((p) => [`${p.origin?.file}:${p.origin?.line}`, p.message]);

  it(
    'refuses every entry that leaves the repository or reads .git, relative or through a symlink',
    async () => {
      await put('r/relative/kustomization.yaml', 'resources:\n  - ../in/cm.yaml\n  - ../../outside/base\n');
      await put('r/linked/kustomization.yaml', 'resources: [base]\n');
      await symlink('../../outside/base', path.join(root, 'linked/base'));
      await put(
        'r/files/kustomization.yaml',
        [
          'resources: [../in/cm.yaml]',
          'patches:',
          '  - path: ../../outside/patch.yaml',
          'configMapGenerator:',
          '  - name: leak',
          '    files: [token=../.git/config]',
          'secretGenerator:',
          '  - name: leak',
          '    envs: [git-config]',
        ].join('\n'),
      );
      await symlink('../.git/config', path.join(root, 'files/git-config'));
      // A base inside the repository whose own kustomization escapes, and a transformer configuration.
      await put('r/overlay/kustomization.yaml', 'resources: [../nested]\ntransformers: [patcher.yaml]\n');
      await put('r/nested/kustomization.yaml', '# a base\nresources:\n  - ../../outside/base\n');
      await put(
        'r/overlay/patcher.yaml',
        'apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: ../.git/config\n',
      );
      const err = await refused(['relative', 'linked', 'files', 'overlay']);
      expect(where(err)).toEqual([
        [
          'relative/kustomization.yaml:3',
          'resources[1] "../../outside/base" resolves outside the repository',
        ],
        ['linked/kustomization.yaml:1', 'resources[0] "base" resolves outside the repository'],
        [
          'files/kustomization.yaml:3',
          'patches[0].path "../../outside/patch.yaml" resolves outside the repository',
        ],
        [
          'files/kustomization.yaml:6',
          'configMapGenerator[0].files[0] "../.git/config" resolves to .git/config, inside .git, git\'s own directory',
        ],
        [
          'files/kustomization.yaml:9',
          'secretGenerator[0].envs[0] "git-config" resolves to .git/config, inside .git, git\'s own directory',
        ],
        [
          'overlay/patcher.yaml:5',
          'path "../.git/config" resolves to .git/config, inside .git, git\'s own directory',
        ],
        ['nested/kustomization.yaml:3', 'resources[0] "../../outside/base" resolves outside the repository'],
      ]);
    },
    TIMEOUT,
  );

  it(
    'does not render a kustomization it cannot read for its paths',
    async () => {
      // kubectl keeps the last of two keys, so this renders the base outside; nopea reads no paths from it.
      await put(
        'r/twice/kustomization.yaml',
        'resources: [../in/cm.yaml]\nresources:\n  - ../../outside/base\n',
      );
      expect(where(await refused(['twice'], path.join(repo, 'no-such-kubectl')))).toEqual([
        ['twice/kustomization.yaml:2', 'duplicate key "resources" in the same mapping'],
      ]);
    },
    TIMEOUT,
  );

  it(
    'refuses remote bases and files before kubectl runs, unless the service allows them',
    async () => {
      await put(
        'r/remote/kustomization.yaml',
        [
          'resources:',
          '  - ../in/cm.yaml',
          '  - github.com/org/repo//path?ref=v1',
          '  - https://example.com/manifests/app.yaml',
          '  - git@github.com:org/repo.git//base',
          '  - ssh://git@example.com/org/repo//base',
          'components:',
          '  - https://x-access-token:ghs_secret@example.com/org/repo//component',
          'patches:',
          '  - path: https://example.com/patch.yaml',
        ].join('\n'),
      );
      // A kubectl that cannot run: had nopea started it, the problem would say so instead.
      const err = await refused(['remote'], path.join(repo, 'no-such-kubectl'));
      const remote = 'is remote: kustomize would fetch it from outside the repository';
      expect(where(err)).toEqual([
        ['remote/kustomization.yaml:3', `resources[1] "github.com/org/repo//path?ref=v1" ${remote}`],
        ['remote/kustomization.yaml:4', `resources[2] "https://example.com/manifests/app.yaml" ${remote}`],
        ['remote/kustomization.yaml:5', `resources[3] "git@github.com:org/repo.git//base" ${remote}`],
        ['remote/kustomization.yaml:6', `resources[4] "ssh://***@example.com/org/repo//base" ${remote}`],
        [
          'remote/kustomization.yaml:8',
          `components[0] "https://***@example.com/org/repo//component" ${remote}`,
        ],
        ['remote/kustomization.yaml:10', `patches[0].path "https://example.com/patch.yaml" ${remote}`],
      ]);
      expect(err.problems[0]!.hint).toContain('"kustomize: { allowRemote: true }" in nopea.yaml');

      // Opted in, a remote base renders: a git URL to a bare repository on this machine (no network).
      const source = path.join(repo, 'source');
      await put('source/base/kustomization.yaml', 'resources: [cm.yaml]\n');
      await put('source/base/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n');
      const git = (cwd: string, ...args: string[]) => run('git', args, { cwd });
      await git(source, 'init', '-q', '-b', 'main');
      await git(source, 'add', '.');
      await git(source, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'base');
      await git(repo, 'clone', '-q', '--bare', source, path.join(repo, 'remote.git'));
      const url = `file://${path.join(repo, 'remote.git')}//base?ref=main`;
      await put('r/fetch/kustomization.yaml', `resources:\n  - ${url}\n`);
      expect(where(await refused(['fetch'], kubectl(), false))).toEqual([
        ['fetch/kustomization.yaml:2', `resources[0] ${JSON.stringify(url)} ${remote}`],
      ]);
      const fetched = await loadManifests({
        repoRoot: root,
        paths: ['fetch'],
        kubectl: kubectl(),
        kustomize: { allowRemote: true },
      });
      expect(summary(fetched)).toEqual(['ConfigMap/fetched fetch/kustomization.yaml:1']);
    },
    TIMEOUT,
  );
});

describe('cleanStderr', () => {
  it('unwraps klog lines and shortens repository paths', () => {
    const klog =
      'E1127 13:53:04.459248   16471 run.go:72] "command failed" err="accumulating resources: \\"x\\" in /repo/app/missing.yaml"';
    expect(cleanStderr(klog, '/repo')).toBe('accumulating resources: "x" in app/missing.yaml');
    expect(cleanStderr('error: something broke\n', '/repo')).toBe('something broke');
  });

  it('masks the secretGenerator literals kustomize quotes, value and all', () => {
    // kubectl 1.36's own words for a literal without "=" among others.
    const stderr =
      'error: loading KV pairs: literal sources [DB_USER=admin SESSION_KEY=Zm9vYmFy DB_PASS hunter2-SuperSecret]: invalid literal source DB_PASS hunter2-SuperSecret, expected key=value\n';
    expect(cleanStderr(stderr, '/repo')).toBe(
      'loading KV pairs: literal sources [***]: invalid literal source ***, expected key=value',
    );
    const klog =
      'E1204 18:40:00.000000   1 run.go:72] "command failed" err="loading KV pairs: literal sources [=hunter2]: invalid literal source =hunter2, expected key=value"';
    expect(cleanStderr(klog, '/repo')).not.toContain('hunter2');
  });
});
