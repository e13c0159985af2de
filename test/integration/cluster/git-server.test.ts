// The loopback git server (test/cluster/git-server.ts) with the real git client: clone, fetch and push
// through git http-backend at rate 0 (a multi-MB push, which git sends as a probe and a chunked body,
// and a fetch request git gzips), what `git push` / `git fetch` see of each fault and whether the ref
// on disk moved, the log, a seed that gives the same sequence twice, and close() and the idle timeout
// ending what is in flight. No cluster needed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GitFaultKind,
  type GitLogEntry,
  type GitServer,
  type GitServerOptions,
  startGitServer,
} from '../../cluster/git-server.js';
import { waitFor } from '../../helpers/cluster.js';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  // Servers first (they were registered last), then the directories they served.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface GitRun {
  /** Exit code; null when git was killed (its timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs git with a timeout and reports how it ended instead of throwing: protocol v2, an identity, no
 * prompt, no system or global configuration, C locale (so that stderr reads as quoted here).
 */
function run(cwd: string, args: string[], timeoutMs = 60_000): Promise<GitRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: os.devNull,
    LC_ALL: 'C',
  });
  const config = ['protocol.version=2', 'user.name=Test User', 'user.email=test@example.com', 'commit.gpgsign=false']; // prettier-ignore
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(
      'git',
      [...config.flatMap((c) => ['-c', c]), ...args],
      { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      },
    );
  });
}

interface Setup {
  /** Bare remote `remote.git` (served) and a work clone of it by path. */
  repo: TestRepo;
  server: GitServer;
  /** The remote's URL on the server. */
  url: string;
  /** A temp directory for clones through the server. */
  scratch: string;
}

async function setup(options: Omit<GitServerOptions, 'root'> = {}): Promise<Setup> {
  const repo = await makeRepo({ files: { 'README.md': 'served over smart HTTP\n' } });
  cleanups.push(repo.cleanup);
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'nopea-git-server-'));
  cleanups.push(() => fs.promises.rm(scratch, { recursive: true, force: true }));
  const server = await startGitServer({ root: path.dirname(repo.remote), ...options });
  cleanups.push(() => server.close());
  return { repo, server, url: server.repoUrl('remote.git'), scratch };
}

/** A clone through the server into `scratch/<name>`. */
async function cloneThrough(s: Setup, name = 'clone'): Promise<string> {
  const dir = path.join(s.scratch, name);
  const cloned = await run(s.scratch, ['clone', '--quiet', s.url, name]);
  expect(cloned.stderr).toBe('');
  expect(cloned.code).toBe(0);
  return dir;
}

/** Writes a file and commits it in `dir` (no push); returns the commit. */
async function commitFile(dir: string, file: string, content: string | Buffer): Promise<string> {
  await fs.promises.writeFile(path.join(dir, file), content);
  await git(dir, 'add', file);
  const committed = await run(dir, ['commit', '--quiet', '--no-verify', '-m', file]);
  expect(committed.stderr).toBe('');
  return git(dir, 'rev-parse', 'HEAD');
}

const remoteMain = (s: Setup) => git(s.repo.remote, 'rev-parse', 'refs/heads/main');

/** The log's entries for `service`, once there are at least `count`. */
function entries(server: GitServer, service: GitLogEntry['service'], count = 1): Promise<GitLogEntry[]> {
  return waitFor(
    () => {
      const found = server.log().filter((entry) => entry.service === service);
      return found.length >= count && found;
    },
    { what: `${count} ${service} log entries`, timeoutMs: 10_000, intervalMs: 20 },
  );
}

describe('at rate 0', () => {
  it('clones, pushes and fetches through git http-backend, and logs every request', async () => {
    const logDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'nopea-git-server-log-'));
    cleanups.push(() => fs.promises.rm(logDir, { recursive: true, force: true }));
    const logFile = path.join(logDir, 'log.jsonl');
    const s = await setup({ logFile });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/remote\.git$/);
    expect(s.server.url).toBe(`http://127.0.0.1:${s.server.port}`);

    const clone = await cloneThrough(s);
    expect(await git(clone, 'rev-parse', 'HEAD')).toBe(await remoteMain(s));
    expect(await fs.promises.readFile(path.join(clone, 'README.md'), 'utf8')).toBe(
      'served over smart HTTP\n',
    );

    const pushed = await commitFile(clone, 'a.txt', 'pushed through the server\n');
    const push = await run(clone, ['push', 'origin', 'HEAD:main']);
    expect(push.code).toBe(0);
    expect(push.stderr).toContain('HEAD -> main');
    expect(await remoteMain(s)).toBe(pushed);

    // The work clone fetches from the server by URL.
    const fetched = await run(s.repo.work, ['fetch', s.url, 'main']);
    expect(fetched.code).toBe(0);
    expect(await git(s.repo.work, 'rev-parse', 'FETCH_HEAD')).toBe(pushed);

    const log = s.server.log();
    expect(log.map((entry) => entry.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.every((entry) => entry.fault === null && entry.forwarded && entry.status === 200)).toBe(true);
    expect(log.map((entry) => `${entry.method} ${entry.path} ${entry.service}`)).toEqual([
      // clone: the v2 capabilities, ls-refs, fetch
      'GET /remote.git/info/refs?service=git-upload-pack info',
      'POST /remote.git/git-upload-pack upload-pack',
      'POST /remote.git/git-upload-pack upload-pack',
      // push: the ref advertisement, the update with its pack
      'GET /remote.git/info/refs?service=git-receive-pack info',
      'POST /remote.git/git-receive-pack receive-pack',
      // fetch
      'GET /remote.git/info/refs?service=git-upload-pack info',
      'POST /remote.git/git-upload-pack upload-pack',
      'POST /remote.git/git-upload-pack upload-pack',
    ]);
    const stats = await waitFor(() => s.server.stats().running === 0 && s.server.stats(), {
      what: 'every git http-backend to have exited',
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    expect(stats).toMatchObject({
      requests: log.length,
      open: 0,
      faults: { 'push-503': 0, 'fetch-drop': 0 },
    });
    // Every response closes its connection (keepAlive is off by default).
    expect(stats.connections).toBe(log.length);
    expect(stats.bytesToClients).toBeGreaterThan(0);

    await s.server.close();
    const lines = (await fs.promises.readFile(logFile, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line) as GitLogEntry).sort((a, b) => a.seq - b.seq)).toEqual(log);
  });

  it('takes a multi-MB push (a probe, then a chunked body) and a fetch request that git gzips', async () => {
    const s = await setup();
    const clone = await cloneThrough(s);
    // Random bytes, base64: about 5.6 MB that do not compress away, over http.postBuffer (1 MiB).
    const files: Record<string, string> = {};
    for (let i = 0; i < 8; i++) files[`blob-${i}.txt`] = randomBytes(512 * 1024).toString('base64');
    for (const [name, content] of Object.entries(files))
      await fs.promises.writeFile(path.join(clone, name), content);
    await git(clone, 'add', '--all');
    // 40 branches on distinct commits: a clone then wants 41 commits, a request over 1 KiB, gzipped.
    const branches: string[] = [];
    for (let i = 0; i < 40; i++) {
      const made = await run(clone, ['commit', '--quiet', '--no-verify', '--allow-empty', '-m', `c${i}`]);
      expect(made.code).toBe(0);
      await git(clone, 'branch', `b${i}`);
      branches.push(`b${i}`);
    }
    const head = await git(clone, 'rev-parse', 'HEAD');
    const push = await run(clone, ['push', 'origin', '--all']);
    expect(push.code).toBe(0);
    expect(await remoteMain(s)).toBe(head);
    expect((await git(s.repo.remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/')).split('\n')).toHaveLength(41); // prettier-ignore
    // The probe (a lone flush packet, 4 bytes) and the update itself.
    const receives = await entries(s.server, 'receive-pack', 2);
    expect(receives).toHaveLength(2);
    expect(receives.every((entry) => entry.status === 200 && entry.fault === null)).toBe(true);

    const again = await cloneThrough(s, 'again');
    expect(await git(again, 'rev-parse', 'origin/b39')).toBe(head);
    for (const [name, content] of Object.entries(files))
      expect(await fs.promises.readFile(path.join(again, name), 'utf8')).toBe(content);
    const gzipped = s.server.log().filter((entry) => entry.encoding === 'gzip');
    expect(gzipped.length).toBeGreaterThanOrEqual(1);
    expect(gzipped.every((entry) => entry.service === 'upload-pack' && entry.status === 200)).toBe(true);
  });
});

describe('each fault, queued', () => {
  const pushes: Record<
    Extract<GitFaultKind, `push-${string}`>,
    { lands: boolean; stderr: string[]; entry: Partial<GitLogEntry> }
  > = {
    'push-503': {
      lands: false,
      stderr: ['error: RPC failed; HTTP 503 curl 22 The requested URL returned error: 503'],
      entry: { status: 503, forwarded: false },
    },
    'push-reject': {
      lands: false,
      stderr: [
        'remote: fault injected by the test git server (push-reject)',
        ' ! [remote rejected] HEAD -> main (pre-receive hook declined)',
        "error: failed to push some refs to '",
      ],
      entry: { status: 200, forwarded: false, error: 'rejected refs/heads/main' },
    },
    'push-drop-after': {
      lands: true,
      stderr: [
        'error: RPC failed; curl 52 Empty reply from server',
        'fatal: the remote end hung up unexpectedly',
      ],
      entry: { status: null, forwarded: true, error: 'dropped after git answered 200' },
    },
    'push-drop-before': {
      lands: false,
      stderr: [
        'error: RPC failed; curl 52 Empty reply from server',
        'fatal: the remote end hung up unexpectedly',
      ],
      entry: { status: null, forwarded: false, error: 'dropped before forwarding' },
    },
  };

  for (const [kind, expected] of Object.entries(pushes) as [GitFaultKind, (typeof pushes)['push-503']][]) {
    it(`${kind}: git push fails, the ref ${expected.lands ? 'moved' : 'did not move'}`, async () => {
      const s = await setup();
      // Queued before the clone: a push fault waits for a receive-pack POST, the clone passes.
      s.server.queue(kind);
      const clone = await cloneThrough(s);
      const before = await remoteMain(s);
      const commit = await commitFile(clone, 'state.json', `{"fault":"${kind}"}\n`);

      const push = await run(clone, ['push', 'origin', 'HEAD:main']);
      expect(push.code).toBe(1);
      for (const line of expected.stderr) expect(push.stderr).toContain(line);
      expect(await remoteMain(s)).toBe(expected.lands ? commit : before);

      const [entry] = await entries(s.server, 'receive-pack');
      expect(entry).toMatchObject({
        method: 'POST',
        path: '/remote.git/git-receive-pack',
        fault: kind,
        ...expected.entry,
      });
      expect(s.server.log().filter((e) => e.fault !== null)).toHaveLength(1);
      expect(s.server.stats().faults[kind]).toBe(1);

      // The queue is spent: the same push again lands (or finds it landed).
      const retry = await run(clone, ['push', 'origin', 'HEAD:main']);
      expect(retry.code).toBe(0);
      if (expected.lands) expect(retry.stderr).toContain('Everything up-to-date');
      expect(await remoteMain(s)).toBe(commit);
    });
  }

  it('push-drop-before with keepAlive: curl resends the POST on a fresh connection and the push lands', async () => {
    const s = await setup({ keepAlive: true });
    const clone = await cloneThrough(s);
    s.server.queue('push-drop-before');
    const commit = await commitFile(clone, 'state.json', '{"resent":true}\n');
    const push = await run(clone, ['push', 'origin', 'HEAD:main']);
    expect(push.code).toBe(0);
    expect(await remoteMain(s)).toBe(commit);
    const receives = await entries(s.server, 'receive-pack', 2);
    expect(receives.map((entry) => [entry.fault, entry.status, entry.forwarded])).toEqual([
      ['push-drop-before', null, false],
      [null, 200, true],
    ]);
    // The advertisement and the first POST shared a connection; the resent POST came on a new one.
    expect(s.server.stats().connections).toBeLessThan(s.server.log().length);
  });

  it('fetch-slow: git fetch succeeds, every upload-pack response held back by slowMs a chunk', async () => {
    const slowMs = 150;
    const s = await setup({ faults: { rate: 0, slowMs } });
    const clone = await cloneThrough(s);
    const commit = await s.repo.commitAll('new on the remote');
    // A v2 fetch: the capabilities (GET), ls-refs and fetch (POSTs).
    s.server.queue('fetch-slow', 'fetch-slow', 'fetch-slow');
    const fetched = await run(clone, ['fetch', 'origin']);
    expect(fetched.code).toBe(0);
    expect(fetched.stderr).toContain('main       -> origin/main');
    expect(await git(clone, 'rev-parse', 'origin/main')).toBe(commit);
    expect(fetched.ms).toBeGreaterThanOrEqual(3 * slowMs);
    const slowed = s.server.log().filter((entry) => entry.fault === 'fetch-slow');
    expect(slowed.map((entry) => `${entry.method} ${entry.service} ${entry.status}`)).toEqual([
      'GET info 200',
      'POST upload-pack 200',
      'POST upload-pack 200',
    ]);
    // Timers are ms-granular: allow one.
    for (const entry of slowed) expect(entry.ms).toBeGreaterThanOrEqual(slowMs - 1);
    expect(s.server.stats().faults['fetch-slow']).toBe(3);
  });

  it('fetch-drop: git fetch fails, nothing fetched', async () => {
    const s = await setup();
    const clone = await cloneThrough(s);
    const before = await git(clone, 'rev-parse', 'origin/main');
    await s.repo.commitAll('new on the remote');
    s.server.queue('fetch-drop');
    const fetched = await run(clone, ['fetch', 'origin']);
    expect(fetched.code).toBe(128);
    expect(fetched.stderr).toContain(
      'error: RPC failed; curl 18 transfer closed with outstanding read data remaining',
    );
    // Then `fatal: the remote end hung up unexpectedly` or `fatal: unable to write request to remote:
    // Broken pipe`, whichever side noticed first.
    expect(fetched.stderr).toMatch(/^fatal: /m);
    expect(await git(clone, 'rev-parse', 'origin/main')).toBe(before);
    const dropped = s.server.log().filter((entry) => entry.fault !== null);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({
      method: 'POST',
      service: 'upload-pack',
      fault: 'fetch-drop',
      status: 200,
      forwarded: true,
      error: 'cut after the first chunk',
    });
  });
});

describe('seeded draw', () => {
  it('gives the same sequence from the same seed, and injects a kind only where it applies', async () => {
    const s = await setup();
    const sequence = async (seed: number) => {
      s.server.setFaults({ rate: 0.5, kinds: ['fetch-slow', 'fetch-drop'], seed, slowMs: 5 });
      const from = s.server.log().length;
      // Each ls-remote is a GET (only fetch-slow applies) and an ls-refs POST (both apply).
      for (let i = 0; i < 8; i++) await run(s.scratch, ['ls-remote', s.url]);
      const log = await waitFor(() => s.server.log().length === from + 16 && s.server.log(), {
        what: 'the 16 requests of 8 ls-remotes',
        timeoutMs: 10_000,
        intervalMs: 20,
      });
      return log.slice(from).map((entry) => `${entry.method} ${entry.service} ${entry.fault}`);
    };
    const first = await sequence(42);
    expect(await sequence(42)).toEqual(first);
    expect(await sequence(7)).not.toEqual(first);
    expect(first.some((line) => line.endsWith(' null'))).toBe(true);
    expect(first).toContain('POST upload-pack fetch-drop');
    expect(first).toContain('GET info fetch-slow');
    expect(first.some((line) => line.startsWith('GET') && line.endsWith('fetch-drop'))).toBe(false);

    // Push kinds at rate 1 leave upload-pack alone; a queued push fault waits for a push.
    s.server.setFaults({ rate: 1, kinds: ['push-503'] });
    const from = s.server.log().length;
    const listed = await run(s.scratch, ['ls-remote', s.url]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('refs/heads/main');
    expect(
      s.server
        .log()
        .slice(from)
        .every((entry) => entry.fault === null),
    ).toBe(true);
  });
});

describe('bounds', () => {
  it('close() ends a stalled fetch, its git process and its timers', async () => {
    const s = await setup({ faults: { rate: 1, kinds: ['fetch-slow'], slowMs: 60_000 } });
    const pending = run(s.scratch, ['clone', '--quiet', s.url, 'clone'], 90_000);
    await waitFor(() => s.server.stats().requests === 1 && s.server.stats().open === 1, {
      what: 'the slowed request to arrive',
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    await s.server.close();
    const clone = await pending;
    expect(clone.code).not.toBe(0);
    expect(clone.code).not.toBeNull();
    expect(clone.ms).toBeLessThan(30_000);
    expect(s.server.stats()).toMatchObject({ open: 0, running: 0 });
    expect(s.server.log()).toMatchObject([{ fault: 'fetch-slow', status: null, error: 'server closed' }]);
  });

  it('destroys a connection that stays quiet for idleTimeoutMs', async () => {
    const s = await setup({ idleTimeoutMs: 300, faults: { rate: 1, kinds: ['fetch-slow'], slowMs: 30_000 } });
    const listed = await run(s.scratch, ['ls-remote', s.url]);
    expect(listed.code).toBe(128);
    expect(listed.stderr).toContain(`fatal: unable to access '${s.url}/': Empty reply from server`);
    expect(listed.ms).toBeLessThan(10_000);
    const [entry] = await entries(s.server, 'info');
    expect(entry).toMatchObject({ fault: 'fetch-slow', status: null, error: 'idle timeout' });
    await waitFor(() => s.server.stats().running === 0, {
      what: 'git http-backend to exit',
      timeoutMs: 10_000,
      intervalMs: 20,
    });
  });
});
