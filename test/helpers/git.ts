/**
 * Real git repositories for integration tests: a bare repository standing in for the remote and a work
 * clone with an identity configured locally, all under os.tmpdir() and removed by `cleanup`; commits
 * written with plumbing, for trees no checkout could hold; and a recorder of the arguments every git
 * process is started with. Tests use the system git, never the user's repositories, and do not depend
 * on global git configuration.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A work clone (and, by default, its bare remote) created for one test. */
export interface TestRepo {
  /** Work tree of the clone; `main` is checked out. */
  work: string;
  /** Path of the bare remote (`origin` of `work`), or '' when made with `withRemote: false`. */
  remote: string;
  /** Removes every directory the helper created. */
  cleanup(): Promise<void>;
  /** Stages everything in `work`, commits it (even when nothing changed), pushes `main` when there is a remote, and returns the commit. */
  commitAll(message: string): Promise<string>;
}

/** A second clone of a remote. */
export interface TestClone {
  work: string;
  cleanup(): Promise<void>;
}

function testEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return { ...env, GIT_TERMINAL_PROMPT: '0' };
}

/** Runs git in `cwd` and returns its trimmed stdout; rejects with git's stderr on failure. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', args, {
      cwd,
      env: testEnvironment(),
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}

async function configureIdentity(work: string): Promise<void> {
  await git(work, 'config', 'user.name', 'Test User');
  await git(work, 'config', 'user.email', 'test@example.com');
  await git(work, 'config', 'commit.gpgsign', 'false');
}

/**
 * Creates a temp bare remote and a work clone with `fixture` (a directory copied in) and `files`
 * (path → content) committed and pushed to `main`; an empty first commit when given neither.
 */
export async function makeRepo(
  opts: { fixture?: string; files?: Record<string, string>; withRemote?: boolean } = {},
): Promise<TestRepo> {
  const root = await mkdtemp(join(tmpdir(), 'nopea-test-'));
  const work = join(root, 'work');
  const withRemote = opts.withRemote ?? true;
  const remote = withRemote ? join(root, 'remote.git') : '';
  if (withRemote) {
    await git(root, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
    await git(root, 'clone', '--quiet', remote, work);
    // The clone of an empty remote has an unborn HEAD; name it whatever init.defaultBranch says.
    await git(work, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  } else {
    await git(root, 'init', '--quiet', '--initial-branch=main', work);
  }
  await configureIdentity(work);
  if (opts.fixture) await cp(opts.fixture, work, { recursive: true });
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    await mkdir(dirname(join(work, path)), { recursive: true });
    await writeFile(join(work, path), content);
  }

  async function commitAll(message: string): Promise<string> {
    await git(work, 'add', '--all');
    await git(work, 'commit', '--quiet', '--allow-empty', '--no-verify', '-m', message);
    if (withRemote) await git(work, 'push', '--quiet', '--set-upstream', 'origin', 'main');
    return git(work, 'rev-parse', 'HEAD');
  }

  await commitAll('initial');
  return { work, remote, commitAll, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Clones `remote` into a new temp directory (shallow with `depth`, as CI checkouts are), identity set. */
export async function cloneRemote(remote: string, opts: { depth?: number } = {}): Promise<TestClone> {
  const root = await mkdtemp(join(tmpdir(), 'nopea-clone-'));
  const work = join(root, 'work');
  // file:// so that --depth is honoured (plain local paths clone with hard links and ignore it).
  const source = opts.depth ? `file://${remote}` : remote;
  await git(root, 'clone', '--quiet', ...(opts.depth ? [`--depth=${opts.depth}`] : []), source, work);
  await configureIdentity(work);
  return { work, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/**
 * Writes one commit holding exactly `files` (path → content) to `ref` of the repository at `dir` (bare
 * or not) with `git fast-import`, replacing the ref as a force push would, and returns the commit. No
 * file is written to disk, so the tree may hold names that no file system accepts.
 */
export async function writeCommit(
  dir: string,
  ref: string,
  files: Record<string, string>,
  message = 'by hand',
): Promise<string> {
  const chunks = [
    `commit ${ref}\ncommitter Test User <test@example.com> 1700000000 +0000\n`,
    `data ${Buffer.byteLength(message)}\n${message}\n`,
    ...Object.entries(files).map(
      ([path, content]) => `M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`,
    ),
    'done\n',
  ];
  const child = spawn('git', ['fast-import', '--quiet', '--force', '--done'], {
    cwd: dir,
    env: testEnvironment(),
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(chunks.join(''));
  const code = await exit;
  if (code !== 0) throw new Error(`git fast-import failed in ${dir}: ${stderr.trim()}`);
  return git(dir, 'rev-parse', ref);
}

/** The arguments of the git processes started while a `GitArgvRecorder` was installed. */
export interface GitArgvRecorder {
  /** One entry per git process, its arguments in order. */
  calls(): Promise<string[][]>;
  /** Puts PATH back and removes the wrapper. */
  restore(): Promise<void>;
}

/**
 * Puts a `git` first on this process's PATH that records its arguments and runs the real git, so a test
 * can see what any git process (nopea's, through simple-git or spawned) was given on its command line.
 * Each process writes its own file, so processes running at once do not interleave.
 */
export async function recordGitArgv(): Promise<GitArgvRecorder> {
  const { stdout } = await execFileAsync('sh', ['-c', 'command -v git'], { env: testEnvironment() });
  const real = stdout.trim();
  const dir = await mkdtemp(join(tmpdir(), 'nopea-git-argv-'));
  const logs = join(dir, 'calls');
  await mkdir(logs);
  const script = [
    '#!/bin/sh',
    `for arg in "$@"; do printf '%s\\0' "$arg"; done > '${logs}/'$$`,
    `exec '${real}' "$@"`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'git'), script, { mode: 0o755 });
  const previous = process.env.PATH;
  process.env.PATH = `${dir}${delimiter}${previous ?? ''}`;
  return {
    async calls() {
      const files = await readdir(logs);
      const texts = await Promise.all(files.map((f) => readFile(join(logs, f), 'utf8')));
      return texts.map((text) => text.split('\0').slice(0, -1));
    },
    async restore() {
      if (previous === undefined) delete process.env.PATH;
      else process.env.PATH = previous;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
