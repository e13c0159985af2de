/**
 * `nopea serve` as its tests run it: spawned from source on a free loopback port against the test
 * cluster (or another kubeconfig), without the developer's keys or KUBECONFIG; `serve` waits until it
 * says where it listens and kills it when the test ends.
 */
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { onTestFinished } from 'vitest';
import { testCluster, waitFor } from '../../helpers/cluster.js';
import type { TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';

export const READ_KEY = 'read-key-0123456789';
export const WRITE_KEY = 'write-key-0123456789';
export const KEYS = { NOPEA_API_KEYS: `old-key,${READ_KEY}`, NOPEA_API_WRITE_KEYS: WRITE_KEY };

export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number>;
}

/** `nopea serve` from source against the test cluster, without the developer's keys or KUBECONFIG. */
export function spawnServe(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; kubeconfig?: string },
) {
  const cluster = testCluster();
  let child: ChildProcess | undefined;
  let stderr = '';
  const run = runNopea(
    [
      'serve',
      '--port',
      '0',
      '--kubeconfig',
      opts.kubeconfig ?? cluster.kubeconfig,
      '--kubectl',
      cluster.kubectl,
      ...args,
    ],
    {
      cwd: opts.cwd,
      env: { KUBECONFIG: '', NOPEA_API_KEYS: '', NOPEA_API_WRITE_KEYS: '', ...opts.env },
      timeoutMs: 180_000,
      onSpawn: (c) => (child = c),
      onStderr: (soFar) => (stderr = soFar),
    },
  );
  return { child: child!, stderr: () => stderr, exited: run.then((r) => r.code) };
}

/** Starts `nopea serve` on the repository and waits until it says where it listens. */
export async function serve(
  repo: TestRepo,
  args: string[] = [],
  env: NodeJS.ProcessEnv = KEYS,
  kubeconfig?: string,
): Promise<Served> {
  const s = spawnServe(['--repo', repo.work, ...args], {
    cwd: tmpdir(),
    env,
    ...(kubeconfig ? { kubeconfig } : {}),
  });
  let exitedEarly = false;
  void s.exited.then(() => (exitedEarly = true));
  onTestFinished(async () => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await s.exited;
  });
  const url = await waitFor(
    () => {
      if (exitedEarly) throw new Error(`nopea serve exited:\n${s.stderr()}`);
      return /nopea serve: listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(s.stderr())?.[1];
    },
    { what: 'nopea serve to listen', timeoutMs: 30_000, intervalMs: 50 },
  );
  return { url, ...s };
}
