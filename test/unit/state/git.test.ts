import { describe, expect, it } from 'vitest';
import {
  Git,
  GitCommandError,
  parseBatchOutput,
  redactUrlCredentials,
  scrubSecrets,
} from '../../../src/state/git.js';
import { gitDetail, isRaceRejection, isTransportFailure } from '../../../src/state/remote.js';
import { makeRepo, recordGitArgv } from '../../helpers/git.js';

const sha = (c: string): string => c.repeat(40);

describe('parseBatchOutput', () => {
  it('cuts contents by byte size, multi-byte characters and newlines included', () => {
    const first = Buffer.from('{"name":"ünïcødé"}\n\nmore\n');
    const second = Buffer.from('x');
    const out = Buffer.concat([
      Buffer.from(`${sha('a')} blob ${first.length}\n`),
      first,
      Buffer.from('\n'),
      Buffer.from('abc:.nopea/missing.json missing\n'),
      Buffer.from(`${sha('b')} blob ${second.length}\n`),
      second,
      Buffer.from('\n'),
    ]);
    const objects = parseBatchOutput(out, 3);
    expect(objects[0]?.content.toString()).toBe(first.toString());
    expect(objects[1]).toBeUndefined();
    expect(objects[2]).toMatchObject({ sha: sha('b'), type: 'blob' });
    expect(objects[2]?.content.toString()).toBe('x');
  });

  it('reports truncated output', () => {
    expect(() => parseBatchOutput(Buffer.from(''), 1)).toThrow(GitCommandError);
  });
});

describe('scrubSecrets', () => {
  it('removes the header, its credential, and credentials in URLs', () => {
    const header = 'AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA==';
    const text = `fatal: unable to access 'https://x-access-token:ghs_secret@github.com/acme/web/': ${header} eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA==`;
    const scrubbed = scrubSecrets(text, [header]);
    expect(scrubbed).not.toContain('ghs_secret');
    expect(scrubbed).not.toContain('eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA==');
    expect(scrubbed).toContain('https://***@github.com/acme/web/');
  });
});

describe('redactUrlCredentials', () => {
  it('masks credentials in URLs wherever they occur in a text', () => {
    expect(
      redactUrlCredentials(
        'cannot reach https://x-access-token:ghs_secret@github.com/acme/web.git, nor ssh://git@host/r',
      ),
    ).toBe('cannot reach https://***@github.com/acme/web.git, nor ssh://***@host/r');
  });

  it('removes the user info entirely for a URL that is recorded', () => {
    expect(redactUrlCredentials('https://ghs_secret@github.com/acme/web.git', 'remove')).toBe(
      'https://github.com/acme/web.git',
    );
    expect(redactUrlCredentials('https://user:pa%40ss@example.com:8443/web', 'remove')).toBe(
      'https://example.com:8443/web',
    );
  });

  it('leaves URLs without user info, and scp-like remotes, alone', () => {
    for (const url of [
      'https://github.com/acme/web.git',
      'git@github.com:acme/web.git',
      '/srv/git/web.git',
    ]) {
      expect(redactUrlCredentials(url)).toBe(url);
      expect(redactUrlCredentials(url, 'remove')).toBe(url);
    }
  });
});

describe('push rejections', () => {
  it.each([
    '!\tabc:refs/heads/nopea-state\t[rejected] (stale info)',
    '!\tabc:refs/heads/nopea-state\t[rejected] (fetch first)',
    '!\tabc:refs/heads/nopea-state\t[rejected] (non-fast-forward)',
    "!\tabc:refs/heads/nopea-state\t[remote rejected] (cannot lock ref 'refs/heads/nopea-state': is at 1 but expected 2)",
    "fatal: update_ref failed for ref 'refs/heads/nopea-state': cannot lock ref 'refs/heads/nopea-state': reference already exists",
  ])('retries on %s', (line) => {
    expect(
      isRaceRejection(gitDetail(new GitCommandError('git push', 1, `To remote\n${line}\nDone\n`, false))),
    ).toBe(true);
  });

  it.each([
    '!\tabc:refs/heads/nopea-state\t[remote rejected] (protected branch hook declined)',
    'remote: Permission to acme/web.git denied to github-actions[bot].',
  ])('does not retry on %s', (line) => {
    expect(isRaceRejection(gitDetail(new GitCommandError('git push', 1, line, false)))).toBe(false);
  });
});

describe('isTransportFailure', () => {
  // What git 2.39 prints for each (test/cluster/git-server.ts's faults, verbatim).
  it.each([
    'error: RPC failed; HTTP 503 curl 22 The requested URL returned error: 503\nsend-pack: unexpected disconnect while reading sideband packet\nfatal: the remote end hung up unexpectedly\nEverything up-to-date',
    'error: RPC failed; curl 52 Empty reply from server\nsend-pack: unexpected disconnect while reading sideband packet\nfatal: the remote end hung up unexpectedly',
    'error: RPC failed; curl 18 transfer closed with outstanding read data remaining\nfatal: unable to write request to remote: Broken pipe',
    "fatal: unable to access 'http://127.0.0.1:4000/remote.git/': Empty reply from server",
  ])('is a failure in transit: %s', (output) => {
    expect(isTransportFailure(new GitCommandError('git push', 1, output, false))).toBe(true);
  });

  it('counts a timeout, which may have landed', () => {
    expect(isTransportFailure(new GitCommandError('git push', undefined, '', true))).toBe(true);
  });

  it.each([
    ' ! [remote rejected] HEAD -> nopea-state (pre-receive hook declined)',
    "remote: Permission to acme/web.git denied to github-actions[bot].\nfatal: unable to access 'https://github.com/acme/web.git/': The requested URL returned error: 403",
    "fatal: 'nowhere' does not appear to be a git repository",
  ])('is an answer, not a failure in transit: %s', (output) => {
    expect(isTransportFailure(new GitCommandError('git push', 1, output, false))).toBe(false);
  });
});

describe('settings for one runner', () => {
  it('reach git through the environment, never its command line', async () => {
    const repo = await makeRepo({ withRemote: false });
    const recorder = await recordGitArgv();
    try {
      const key = 'http.https://git.example.com/.extraheader';
      const header = 'AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX25vdE9uVGhlQ29tbWFuZExpbmU=';
      const git = new Git({ cwd: repo.work, timeoutMs: 10_000 }).withConfig(
        [
          { key, value: '' },
          { key, value: header },
        ],
        [header],
      );
      // The empty value first, as git needs it to drop a header configured for the same URL.
      expect(await git.run(['config', '--get-all', key])).toBe(`\n${header}\n`);
      expect((await git.pipe(['config', '--get-all', key], '')).toString()).toBe(`\n${header}\n`);
      const calls = await recorder.calls();
      expect(calls).toContainEqual(['config', '--get-all', key]);
      expect(calls.length).toBeGreaterThanOrEqual(2);
      for (const argv of calls) expect(argv.join(' ')).not.toContain('eC1hY2Nlc3MtdG9rZW46');
    } finally {
      await recorder.restore();
      await repo.cleanup();
    }
  });
});
