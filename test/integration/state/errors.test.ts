import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { openState } from '../../../src/state/open.js';
import { git, makeRepo, recordGitArgv, type TestRepo } from '../../helpers/git.js';
import { deployChange } from './records.js';

const nextId = monotonicFactory();
const TOKEN = 'eC1hY2Nlc3MtdG9rZW46Z2hzX2RvTm90TGVha1RoaXM=';
const HEADER = `AUTHORIZATION: basic ${TOKEN}`;

async function failure(promise: Promise<unknown>): Promise<NopeaError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(NopeaError);
  return error as NopeaError;
}

function text(error: NopeaError): string {
  return [error.message, ...error.problems.map((p) => p.hint ?? '')].join('\n');
}

describe('state store errors', () => {
  let repo: TestRepo;
  beforeEach(async () => {
    repo = await makeRepo();
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('names the remote of a repository that does not exist', async () => {
    await git(repo.work, 'remote', 'set-url', 'origin', join(repo.remote, '..', 'missing.git'));
    const error = await failure(openState({ repoDir: repo.work }));
    expect(error.kind).toBe('state');
    expect(error.message).toMatch(
      /^could not fetch branch nopea-state of remote origin: .*does not appear to be a git repository/,
    );
    expect(error.problems[0]?.hint).toMatch(/check the URL of remote origin/);
  });

  it('fails fast on an unreachable remote and never shows the auth header or URL credentials', async () => {
    await git(
      repo.work,
      'remote',
      'set-url',
      'origin',
      'http://x-access-token:ghs_urlSecret@127.0.0.1:9/acme/web.git',
    );
    const started = Date.now();
    const error = await failure(
      openState({ repoDir: repo.work, auth: { extraHeader: HEADER }, timeoutMs: 20_000 }),
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error.kind).toBe('state');
    expect(error.message).toMatch(/could not fetch branch nopea-state of remote origin/);
    for (const secret of [TOKEN, 'ghs_urlSecret', 'AUTHORIZATION: basic'])
      expect(text(error)).not.toContain(secret);
  });

  it('sends the auth header once, replacing one configured for the host, never on a command line, and explains a 403', async () => {
    const seen: (string | string[] | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const recorder = await recordGitArgv();
    try {
      const { port } = server.address() as AddressInfo;
      const base = `http://127.0.0.1:${port}/`;
      await git(repo.work, 'remote', 'set-url', 'origin', `${base}acme/web.git`);
      // What actions/checkout persists: a header for the same host, which must not be sent as well.
      await git(repo.work, 'config', `http.${base}.extraheader`, 'AUTHORIZATION: basic b2xkLXRva2Vu');
      const error = await failure(openState({ repoDir: repo.work, auth: { extraHeader: HEADER } }));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((h) => h === `basic ${TOKEN}`)).toBe(true);
      expect(error.problems[0]?.hint).toMatch(/contents: read/);
      expect(text(error)).not.toContain(TOKEN);
      // Any user can read a process's arguments (/proc/<pid>/cmdline); the header is not among them.
      const calls = await recorder.calls();
      expect(calls.some((argv) => argv.includes('fetch'))).toBe(true);
      for (const argv of calls) expect(argv.join(' ')).not.toContain(TOKEN);
    } finally {
      await recorder.restore();
      server.close();
    }
  });

  it('bounds a remote that never answers by the timeout', async () => {
    const server = createServer(() => undefined); // accepts, never responds
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await git(repo.work, 'remote', 'set-url', 'origin', `http://127.0.0.1:${port}/acme/web.git`);
      const started = Date.now();
      const error = await failure(openState({ repoDir: repo.work, timeoutMs: 1_000 }));
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(error.problems[0]?.message).toBe(
        'could not fetch branch nopea-state of remote origin: no answer within 1 s',
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('lists the configured remotes when the requested one is missing', async () => {
    const error = await failure(openState({ repoDir: repo.work, remote: 'upstream' }));
    expect(error.kind).toBe('input');
    expect(text(error)).toMatch(/remote upstream is not configured[\s\S]*configured remotes: origin/);
  });

  it('refuses a directory that is not a git work tree', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nopea-not-a-repo-'));
    try {
      const error = await failure(openState({ repoDir: dir }));
      expect(error.kind).toBe('input');
      expect(error.message).toContain('is not inside a git work tree');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'a protected branch',
      'remote: error: GH006: Protected branch update failed for refs/heads/nopea-state.',
      /protected/,
    ],
    [
      'missing write permission',
      'remote: Permission to acme/web.git denied to github-actions[bot].',
      /contents: write/,
    ],
  ])('explains a push refused for %s', async (_, message, hint) => {
    const hook = join(repo.remote, 'hooks', 'pre-receive');
    await writeFile(hook, `#!/bin/sh\necho '${message.replace(/^remote: /, '')}' >&2\nexit 1\n`);
    await chmod(hook, 0o755);
    const store = await openState({ repoDir: repo.work });
    const error = await failure(store.commit(deployChange('web', nextId(), ['/Service/web/api'])));
    expect(error.kind).toBe('state');
    expect(error.message).toMatch(/^could not push branch nopea-state of remote origin: /);
    expect(error.problems[0]?.hint).toMatch(hint);
  });
});
