// `npx nopea` as a user gets it: the packed tarball installed into an empty folder, without network,
// without the repository's node_modules, then run through npx. (Start-up speed is a benchmark target:
// `npm run bench`, not a timed test.)
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, testCluster } from '../helpers/cluster.js';
import { git } from '../helpers/git.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: no npm_* variables from `npm test` (npm_config_local_prefix would
 * point npx at this repository), no node_modules/.bin on PATH, a private npm cache, npm offline, and
 * npx never installing what it does not find.
 */
function userEnv(home: string, cache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && !k.startsWith('GIT_') && !k.startsWith('INPUT_')) env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(path.delimiter);
  env.HOME = home;
  env.npm_config_cache = cache;
  env.npm_config_offline = 'true';
  // Never install a missing package: the installed bin must be the one that runs.
  env.npm_config_yes = 'false';
  env.npm_config_update_notifier = 'false';
  env.NO_COLOR = '1';
  delete env.KUBECONFIG;
  return env;
}

function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  // What ships is dist/cli.js: build it from the sources under test.
  await run(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot });
});

describe('the published package', () => {
  let root = '';
  let app = '';
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'nopea-pack-'));
    env = userEnv(path.join(root, 'home'), path.join(root, 'npm-cache'));
    await mkdir(path.join(root, 'home'));
    const packed = await exec('npm', ['pack', '--json', '--pack-destination', root], repoRoot, env);
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    // Only the bundle (its entry and the chunks its commands load) and the package's documents ship:
    // no sources, no Action bundle.
    const shipped = info!.files.map((f) => f.path);
    expect(shipped).toContain('dist/cli.js');
    expect(shipped.filter((f) => /^dist\/cli\/[\w-]+\.js$/.test(f)).length).toBeGreaterThan(5);
    expect(
      shipped.filter(
        (f) =>
          !['dist/cli.js', 'package.json', 'README.md', 'LICENSE'].includes(f) &&
          !/^dist\/cli\/[\w-]+\.js$/.test(f),
      ),
    ).toEqual([]);
    app = path.join(root, 'app');
    await mkdir(app);
    const installed = await exec(
      'npm',
      ['install', '--no-audit', '--no-fund', '--omit=dev', path.join(root, info!.filename)],
      app,
      env,
    );
    expect(installed.code, installed.stderr).toBe(0);
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('installs nothing but itself', async () => {
    const modules = (await readdir(path.join(app, 'node_modules'))).filter((n) => !n.startsWith('.'));
    expect(modules).toEqual(['nopea']);
    expect((await readdir(path.join(app, 'node_modules', 'nopea', 'dist'))).sort()).toEqual([
      'cli',
      'cli.js',
    ]);
  });

  it('runs `npx nopea --help`', async () => {
    const r = await exec('npx', ['nopea', '--help'], app, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nopea <command> [options]');
    expect(r.stdout).toMatch(/nopea diff \[paths\.\.\]/);
    expect(r.stdout).toMatch(/nopea sync \[paths\.\.\]/);
  });

  it('keeps a compile cache on a Node that has one (22.8 and later: `module.enableCompileCache`), none on Node 20', async () => {
    // The installed entry run by this Node (npx would take the node on PATH), with its own temporary
    // directory: where Node keeps the cache when nothing says otherwise.
    const tmp = path.join(root, 'tmp');
    await mkdir(tmp);
    const cacheEnv: NodeJS.ProcessEnv = { ...env, TMPDIR: tmp };
    delete cacheEnv.NODE_COMPILE_CACHE;
    delete cacheEnv.NODE_DISABLE_COMPILE_CACHE;
    const bin = path.join(app, 'node_modules', 'nopea', 'dist', 'cli.js');
    const r = await exec(process.execPath, [bin, 'diff', '--help'], app, cacheEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nopea diff');
    const cached = await readdir(path.join(tmp, 'node-compile-cache'), { recursive: true }).catch(() => []);
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (major > 22 || (major === 22 && minor >= 8)) expect(cached.length).toBeGreaterThan(0);
    else expect(cached).toEqual([]);
  });

  it('runs `npx nopea diff --offline` in a repository with a manifest', async () => {
    // Inside the app folder, so npx finds the installed bin as it would in a project.
    const repo = path.join(app, 'repo');
    await mkdir(path.join(repo, 'deploy'), { recursive: true });
    await git(root, 'init', '--quiet', '--initial-branch=main', repo);
    await writeFile(
      path.join(repo, 'deploy', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  a: "1"\n',
    );
    await git(repo, 'add', '.');
    await git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'init');

    const r = await exec(
      'npx',
      ['nopea', 'diff', '--offline', '-s', 'demo', '-n', 'demo', 'deploy'],
      repo,
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Plan for demo against the state branch only (offline), no earlier deploy:');
    expect(r.stdout).toContain('+ create    /ConfigMap/demo/demo  deploy/cm.yaml:1');

    const json = await exec(
      'npx',
      ['nopea', 'diff', '--offline', '-s', 'demo', '-n', 'demo', '--output', 'json', 'deploy'],
      repo,
      env,
    );
    expect(json.code, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout) as { plans: { service: string; counts: { create: number } }[] };
    expect(body.plans.map((p) => [p.service, p.counts.create])).toEqual([['demo', 1]]);
  });

  it('syncs against the cluster with --kubeconfig, then diffs with KUBECONFIG and --context', async () => {
    const ns = await createNamespace('npx-sync');
    try {
      const repo = path.join(app, 'repo');
      const { kubeconfig } = testCluster();
      const sync = await exec(
        'npx',
        [
          'nopea',
          'sync',
          '--kubeconfig',
          kubeconfig,
          '-s',
          'demo',
          '-n',
          ns.name,
          '--timeout',
          '60s',
          'deploy',
        ],
        repo,
        env,
      );
      expect(sync.code, sync.stderr).toBe(0);
      expect(sync.stdout).toMatch(/Synced demo: 1 created\b.*; healthy; deploy \w{26}/);
      // The state lives on the repository's own nopea-state branch (it has no remote).
      expect(await git(repo, 'log', '-1', '--format=%s', 'nopea-state')).toMatch(
        /^deploy demo \w{26} succeeded$/,
      );

      const diff = await exec(
        'npx',
        ['nopea', 'diff', '--context', 'nopea-test', '--exit-code', '-s', 'demo', '-n', ns.name, 'deploy'],
        repo,
        { ...env, KUBECONFIG: `/nonexistent/config${path.delimiter}${kubeconfig}` },
      );
      expect(diff.code, diff.stderr).toBe(0);
      expect(diff.stdout).toContain(
        'Plan: 0 to create, 0 to update, 0 drifted, 0 in conflict, 0 to prune, 1 unchanged.',
      );
    } finally {
      await ns.cleanup();
    }
  });

  it('colours output only when asked, and never with NO_COLOR', async () => {
    const repo = path.join(app, 'repo');
    const args = ['nopea', 'diff', '--offline', '-s', 'demo', '-n', 'demo', 'deploy'];
    const plain = await exec('npx', args, repo, { ...env, NO_COLOR: undefined });
    expect(plain.code, plain.stderr).toBe(0);
    // A pipe is not a terminal: no escape codes.
    expect(plain.stdout).not.toContain('\u001b[');
    const forced = await exec('npx', args, repo, { ...env, NO_COLOR: undefined, FORCE_COLOR: '1' });
    expect(forced.stdout).toContain('\u001b[');
    const vetoed = await exec('npx', args, repo, { ...env, NO_COLOR: '1', FORCE_COLOR: '1' });
    expect(vetoed.stdout).not.toContain('\u001b[');
  });

  it('keeps stdout machine-readable with --output json: errors go to stderr', async () => {
    const repo = path.join(app, 'repo');
    const r = await exec(
      'npx',
      ['nopea', 'diff', '--offline', '--output', 'json', '-n', 'demo', 'deploy'],
      repo,
      env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: no service named');
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { kind: 'input' } });
  });

  it('tells which kubeconfig sources it tried when no cluster is configured', async () => {
    const repo = path.join(app, 'repo');
    const r = await exec('npx', ['nopea', 'diff', '-s', 'demo', '-n', 'demo', 'deploy'], repo, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /no Kubernetes cluster configured; tried: --kubeconfig \(not given\), KUBECONFIG \(unset\)/,
    );
  });
});
