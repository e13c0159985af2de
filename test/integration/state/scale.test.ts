import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../../../src/state/open.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { deployChange } from './records.js';

const nextId = monotonicFactory();
const OBJECTS = 1000;
const ids = Array.from(
  { length: OBJECTS },
  (_, i) => `/ConfigMap/web/settings-${String(i).padStart(4, '0')}`,
);

describe('a service with 1,000 last-applied objects', () => {
  let repo: TestRepo;
  let bin: string;
  let log: string;
  const originalPath = process.env.PATH;

  beforeAll(async () => {
    repo = await makeRepo();
    // A git on PATH that logs each invocation, to count the processes the store starts.
    bin = await mkdtemp(join(tmpdir(), 'nopea-git-log-'));
    log = join(bin, 'invocations.log');
    const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
    await writeFile(join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${realGit}' "$@"\n`);
    await chmod(join(bin, 'git'), 0o755);
  });
  afterAll(async () => {
    process.env.PATH = originalPath;
    await rm(bin, { recursive: true, force: true });
    await repo.cleanup();
  });

  async function counted<T>(work: () => Promise<T>): Promise<{ value: T; processes: string[]; ms: number }> {
    await writeFile(log, '');
    const started = Date.now();
    const value = await work();
    const ms = Date.now() - started;
    const processes = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    return { value, processes, ms };
  }

  it('writes and reads them with a fixed number of git processes', async () => {
    process.env.PATH = `${bin}:${originalPath}`;
    try {
      const store = await openState({ repoDir: repo.work });
      const write = await counted(() => store.commit(deployChange('web', nextId(), ids)));
      // Remote mode, no base yet: one fast-import builds the commit, then the push and the private ref.
      const commands = (processes: string[]): (string | undefined)[] =>
        processes.map((p) => p.split(' ').find((w) => !w.startsWith('-')));
      expect(commands(write.processes)).toEqual(['fast-import', 'push', 'update-ref']);

      const reader = await openState({ repoDir: repo.work });
      const read = await counted(() => reader.readService('web'));
      expect(read.value.lastApplied.size).toBe(OBJECTS);
      expect(read.value.inventory?.objects).toHaveLength(OBJECTS);
      expect(commands(read.processes)).toEqual(['ls-tree', 'cat-file']);

      // Rewriting the whole set on top of an existing tip stays a handful of processes too.
      const rewrite = await counted(() => reader.commit(deployChange('web', nextId(), ids.slice(1))));
      expect(commands(rewrite.processes)).toEqual(['ls-tree', 'fast-import', 'push', 'update-ref']);
      expect((await reader.readService('web')).lastApplied.size).toBe(OBJECTS - 1);
    } finally {
      process.env.PATH = originalPath;
    }
  });
});
