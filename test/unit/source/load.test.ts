import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { loadManifests } from '../../../src/source/load.js';
import type { Manifest } from '../../../src/resources/object.js';
import { REPO } from './cases.js';
import { errorExitCode } from '../../../src/surface/outcome.js';

let repo: string;

beforeEach(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'nopea-load-'));
});

afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

async function put(rel: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
  await writeFile(path.join(repo, rel), content);
}

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

function summary(manifests: Manifest[]): string[] {
  return manifests.map((m) => `${m.object.kind}/${m.object.metadata.name} ${m.origin.file}:${m.origin.line}`);
}

async function failure(promise: Promise<unknown>): Promise<NopeaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NopeaError);
  expect((err as NopeaError).kind).toBe('input');
  return err as NopeaError;
}

describe('loadManifests', () => {
  it('walks directories recursively in byte order, skipping hidden entries and other extensions', async () => {
    const manifests = await loadManifests({ repoRoot: REPO, paths: ['fixtures/valid/tree'] });
    const t = 'fixtures/valid/tree';
    expect(summary(manifests)).toEqual([
      `Namespace/tree ${t}/10-namespace.yaml:1`,
      `ConfigMap/two ${t}/2-config.yml:1`,
      `ConfigMap/upper ${t}/Z-upper.yaml:1`,
      `Deployment/web ${t}/a/deploy.yaml:1`,
      `Service/web ${t}/a.json:1`,
      `ConfigMap/item-one ${t}/list.yaml:4`,
      `ConfigMap/item-two ${t}/list.yaml:9`,
      `ConfigMap/multi-one ${t}/multi.yaml:4`,
      `ConfigMap/multi-two ${t}/multi.yaml:11`,
    ]);
  });

  it('keeps path order, then document order; accepts absolute paths; reads a file listed twice once', async () => {
    const root = path.join(REPO, 'fixtures/valid');
    const manifests = await loadManifests({
      repoRoot: root,
      paths: ['tree/multi.yaml', path.join(root, 'tree/a'), './tree/multi.yaml', 'tree/.hidden.yaml'],
    });
    expect(summary(manifests)).toEqual([
      'ConfigMap/multi-one tree/multi.yaml:4',
      'ConfigMap/multi-two tree/multi.yaml:11',
      'Deployment/web tree/a/deploy.yaml:1',
      // Hidden files are skipped by walks, but read when named explicitly.
      'ConfigMap/hidden tree/.hidden.yaml:1',
    ]);
  });

  it('reports all problems of all files in one error, in path order, with files and lines', async () => {
    await put('a.yaml', `${cm('ok')}---\nkind: ConfigMap\nmetadata:\n  name: x\n`);
    await put('b/c.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cy\n  labels:\n    v: 1.0\n');
    await put('b/d.json', '{"apiVersion": "v1",}');
    await put('e.yaml', cm('fine'));
    const err = await failure(loadManifests({ repoRoot: repo, paths: ['.'] }));
    expect(err.problems.map((p) => `${p.origin?.file}:${p.origin?.line}`)).toEqual([
      'a.yaml:6',
      'b/c.yaml:6',
      'b/d.json:1',
    ]);
    expect(err.message).toContain('a.yaml:6: apiVersion is missing');
    expect(errorExitCode(err)).toBe(2);
  });

  it('treats an empty file among others as fine, but no objects at all as an input error', async () => {
    await put('empty.yaml', '');
    await put('dir/only-comments.yml', '# nothing yet\n');
    await put('one.yaml', cm('one'));
    expect(await loadManifests({ repoRoot: repo, paths: ['empty.yaml', 'one.yaml'] })).toHaveLength(1);
    const err = await failure(loadManifests({ repoRoot: repo, paths: ['empty.yaml', 'dir'] }));
    expect(err.problems).toEqual([
      expect.objectContaining({ message: 'no objects found in empty.yaml, dir' }),
    ]);
  });

  it('refuses paths outside the repository and paths that do not exist', async () => {
    await put('in/x.yaml', cm('x'));
    let err = await failure(
      loadManifests({ repoRoot: path.join(repo, 'in'), paths: ['../..', 'missing', '/etc'] }),
    );
    expect(err.problems.map((p) => p.message)).toEqual([
      'manifest path "../.." resolves outside the repository',
      'manifest path "missing" does not exist',
      'manifest path "/etc" resolves outside the repository',
    ]);
    err = await failure(loadManifests({ repoRoot: repo, paths: [] }));
    expect(err.problems[0]!.message).toBe('no manifest paths given');
  });

  it('follows symlinks inside the repository, survives link cycles, and refuses links that leave it', async () => {
    await put('real/x.yaml', cm('x'));
    await put('outside/secret.yaml', cm('secret'));
    await put('repo/data/y.yaml', cm('why'));
    const root = path.join(repo, 'repo');
    await symlink(path.join(root, 'data'), path.join(root, 'data', 'loop'));
    await symlink('y.yaml', path.join(root, 'data', 'z.yaml'));
    expect(summary(await loadManifests({ repoRoot: root, paths: ['data'] }))).toEqual([
      'ConfigMap/why data/y.yaml:1',
    ]);

    await symlink(path.join(repo, 'outside'), path.join(root, 'data', 'escape'));
    await symlink('/nonexistent/target.yaml', path.join(root, 'data', 'dangling.yaml'));
    await symlink(path.join(repo, 'outside/secret.yaml'), path.join(root, 'link.yaml'));
    const err = await failure(loadManifests({ repoRoot: root, paths: ['data', 'link.yaml'] }));
    expect(err.problems.map((p) => [p.origin?.file, p.message])).toEqual([
      ['data/dangling.yaml', 'broken symlink: its target does not exist'],
      ['data/escape', expect.stringMatching(/^symlink to .*outside resolves outside the repository$/)],
      ['link.yaml', 'manifest path "link.yaml" resolves outside the repository'],
    ]);
  });

  it('refuses symlinks into .git and out of the repository without quoting what they point at', async () => {
    // A CI checkout's git config: the token in http.extraheader must never reach a message.
    const token = 'eC1hY2Nlc3MtdG9rZW46Z2hzX0ZBS0VUT0tFTkZPUlRFU1RTMTIzNDU2';
    const gitConfig = `[core]\n\tbare = false\n[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic ${token}\n`;
    await put('repo/.git/config', gitConfig);
    await put('outside/config.yaml', gitConfig);
    await put('repo/d/ok.yaml', cm('ok'));
    const root = path.join(repo, 'repo');
    await symlink('../.git/config', path.join(root, 'd', 'config.yaml'));
    await symlink('../.git', path.join(root, 'd', 'gitdir'));
    await symlink('../../outside/config.yaml', path.join(root, 'd', 'outside.yaml'));
    await symlink('.git/config', path.join(root, 'named.yaml'));

    const err = await failure(loadManifests({ repoRoot: root, paths: ['d', 'named.yaml', '.git/config'] }));
    expect(errorExitCode(err)).toBe(2);
    expect(err.problems.map((p) => [p.origin?.file, p.message])).toEqual([
      [
        'd/config.yaml',
        "symlink to ../.git/config resolves to .git/config, inside .git, git's own directory",
      ],
      ['d/gitdir', "symlink to ../.git resolves to .git, inside .git, git's own directory"],
      ['d/outside.yaml', 'symlink to ../../outside/config.yaml resolves outside the repository'],
      ['named.yaml', 'manifest path "named.yaml" resolves to .git/config, inside .git, git\'s own directory'],
      [undefined, 'manifest path ".git/config" resolves to .git/config, inside .git, git\'s own directory'],
    ]);
    expect(JSON.stringify(err.problems)).not.toMatch(/extraheader|eC1h|AUTHORIZATION|bare/);
  });

  it('works when the repository root itself is reached through a symlink', async () => {
    await put('real/a.yaml', cm('a'));
    await symlink(path.join(repo, 'real'), path.join(repo, 'alias'));
    const manifests = await loadManifests({
      repoRoot: path.join(repo, 'alias'),
      paths: [path.join(repo, 'alias/a.yaml')],
    });
    expect(summary(manifests)).toEqual(['ConfigMap/a a.yaml:1']);
  });

  it('refuses explicit files with other extensions, saying which are read', async () => {
    await put('notes.txt', cm('x'));
    await put('Upper.YAML', cm('upper'));
    expect(summary(await loadManifests({ repoRoot: repo, paths: ['Upper.YAML'] }))).toEqual([
      'ConfigMap/upper Upper.YAML:1',
    ]);
    const err = await failure(loadManifests({ repoRoot: repo, paths: ['notes.txt'] }));
    expect(err.problems[0]).toEqual({
      message: 'manifest file "notes.txt" has an extension nopea does not read',
      hint: 'nopea reads .yaml, .yml, .json files and kustomization directories',
    });
  });

  it('refuses files over the size limit without reading them, and binary or non-UTF-8 files', async () => {
    await put('huge.yaml', '');
    await truncate(path.join(repo, 'huge.yaml'), 11 * 1024 * 1024);
    await writeFile(path.join(repo, 'utf16.yaml'), Buffer.from(`\uFEFF${cm('u')}`, 'utf16le'));
    await writeFile(path.join(repo, 'bom.yaml'), `\uFEFF${cm('bom')}`);
    const err = await failure(loadManifests({ repoRoot: repo, paths: ['.'] }));
    expect(err.problems.map((p) => [p.origin?.file, p.message])).toEqual([
      ['huge.yaml', 'file is 11.0 MiB; manifest files may be at most 10 MiB'],
      ['utf16.yaml', expect.stringMatching(/^not a text file: it contains NUL bytes/)],
    ]);
    expect(summary(await loadManifests({ repoRoot: repo, paths: ['bom.yaml'] }))).toEqual([
      'ConfigMap/bom bom.yaml:1',
    ]);
  });
});
