// A state remote that fails on purpose (test/cluster/git-server.ts): a push whose answer is lost after
// the pack reached the remote is found on the branch, never committed twice; one lost before is
// pushed again; a refusal is an answer and is not retried; a fetch cut short is tried again.
import path from 'node:path';
import { monotonicFactory } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { openState } from '../../../src/state/open.js';
import { type GitServer, startGitServer } from '../../cluster/git-server.js';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';
import { deployChange } from './records.js';

const nextId = monotonicFactory();
const BRANCH = 'refs/heads/nopea-state';

describe('a state remote that fails on purpose', () => {
  let repo: TestRepo;
  let server: GitServer;
  beforeEach(async () => {
    repo = await makeRepo();
    server = await startGitServer({ root: path.dirname(repo.remote) });
    await git(repo.work, 'remote', 'add', 'state', server.repoUrl(path.basename(repo.remote)));
  });
  afterEach(async () => {
    await server.close();
    await repo.cleanup();
  });

  const open = () => openState({ repoDir: repo.work, remote: 'state', retry: { baseDelayMs: 50 } });
  const remoteTip = () => git(repo.remote, 'rev-parse', '--verify', '--quiet', BRANCH).catch(() => '');
  const commitCount = async () => Number(await git(repo.remote, 'rev-list', '--count', BRANCH));
  const pushes = () => server.log().filter((e) => e.service === 'receive-pack');

  it('finds a push whose answer was lost after it landed on the branch, and commits it once', async () => {
    const store = await open();
    const first = await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/a']));
    server.queue('push-drop-after');
    const id = nextId();
    const second = await store.commit(deployChange('web', id, ['/ConfigMap/web/a', '/ConfigMap/web/b']));
    expect(await remoteTip()).toBe(second.commit);
    expect(second.attempts).toBe(2);
    expect(await commitCount()).toBe(2);
    expect(await git(repo.remote, 'rev-parse', `${second.commit}^`)).toBe(first.commit);
    // One push landed; the second attempt read the branch, found the change there and pushed nothing.
    expect(pushes().map((e) => e.fault)).toEqual([null, 'push-drop-after']);
    const reread = await open();
    expect((await reread.listDeploys('web')).map((r) => r.id)).toContain(id);
  });

  it.each(['push-503', 'push-drop-before'] as const)(
    'pushes again after %s, which did not land',
    async (fault) => {
      const store = await open();
      await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/a']));
      server.queue(fault);
      const second = await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/b']));
      expect(await remoteTip()).toBe(second.commit);
      expect(await commitCount()).toBe(2);
      expect(pushes().map((e) => e.fault)).toEqual([null, fault, null]);
    },
  );

  it('says the record is not on the branch when every push is lost before it lands', async () => {
    const store = await open();
    const first = await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/a']));
    server.setFaults({ rate: 1, kinds: ['push-drop-before'] });
    const error = await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/b'])).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(NopeaError);
    expect((error as NopeaError).kind).toBe('state');
    expect((error as NopeaError).message).toMatch(
      /^could not record "deploy web \S+ succeeded" on branch nopea-state of remote state: the push was cut short 6 times in \d+ s \(.*Empty reply from server.*\), and the branch does not have it\n/,
    );
    expect((error as NopeaError).problems[0]?.hint).toMatch(/check that remote state is reachable/);
    expect(await remoteTip()).toBe(first.commit);
    // The attempt bound holds: six pushes, no more.
    expect(pushes().filter((e) => e.fault === 'push-drop-before')).toHaveLength(6);
  });

  it('takes a refused push as an answer: no retry, the hook named', async () => {
    const store = await open();
    const first = await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/a']));
    server.queue('push-reject');
    const error = await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/b'])).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(NopeaError);
    expect((error as NopeaError).message).toMatch(
      /^could not push branch nopea-state of remote state: .*\[remote rejected\].*pre-receive hook declined/,
    );
    expect(await remoteTip()).toBe(first.commit);
    expect(pushes().map((e) => e.fault)).toEqual([null, 'push-reject']);
  });

  it('fetches again when a fetch is cut short, and waits out a slow one', async () => {
    const store = await open();
    const written = await store.commit(deployChange('web', nextId(), ['/ConfigMap/web/a']));
    // Another clone's view: its first fetch is cut, the second slowed.
    const other = await makeRepo({ withRemote: false });
    try {
      await git(other.work, 'remote', 'add', 'state', server.repoUrl(path.basename(repo.remote)));
      // Entries are logged as requests end, so the earlier ones are told apart by their arrival number.
      const before = server.stats().requests;
      server.queue('fetch-drop');
      server.setFaults({ rate: 1, kinds: ['fetch-slow'], slowMs: 100 });
      const reader = await openState({ repoDir: other.work, remote: 'state' });
      expect(reader.tip).toBe(written.commit);
      const faults = server
        .log()
        .filter((e) => e.seq > before && e.service === 'upload-pack')
        .map((e) => e.fault);
      expect(faults[0]).toBe('fetch-drop');
      expect(faults.slice(1)).toContain('fetch-slow');
    } finally {
      await other.cleanup();
    }
  });
});
