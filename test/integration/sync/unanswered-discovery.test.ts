// A run whose state branch cannot be fetched reports that and exits, even while the cluster has not
// answered discovery yet: discovery goes out beside the state fetch, and a failed start cuts it short
// instead of leaving its requests (and their retries) to keep the process alive.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';
import { runNopea } from '../../helpers/nopea.js';

let repo: TestRepo;
let silent: net.Server;
const held: net.Socket[] = [];
/** Written when the silent server first accepts a connection: discovery has gone out. */
let reached: string;

beforeEach(async () => {
  repo = await makeRepo({
    files: { 'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: "1"\n' },
  });
  reached = join(repo.work, '..', 'discovery-reached');
  // An API server that accepts connections and never answers.
  silent = net.createServer((socket) => {
    held.push(socket);
    writeFileSync(reached, '');
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  for (const socket of held.splice(0)) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await repo.cleanup();
});

it('reports an unreachable state remote without waiting for a cluster that does not answer', async () => {
  // The state fetch fails once discovery has reached the server (at most 20 s on), so its requests are
  // in flight when the run gives up.
  await git(
    repo.work,
    'config',
    'remote.origin.uploadpack',
    `for i in $(seq 200); do [ -e '${reached}' ] && break; sleep 0.1; done; false`,
  );
  const { port } = silent.address() as net.AddressInfo;
  const kubeconfig = join(repo.work, '..', 'kubeconfig');
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: c, cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]`,
      'users: [{ name: u, user: {} }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  const started = Date.now();
  // Each of discovery's requests would wait 20 s, five times over, before giving up.
  const run = await runNopea(['sync', 'deploy', '-s', 'web', '-n', 'web', '--request-timeout', '20s'], {
    cwd: repo.work,
    env: { KUBECONFIG: kubeconfig },
    timeoutMs: 60_000,
  });
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toMatch(/could not fetch branch nopea-state of remote origin/);
  expect(held.length).toBeGreaterThan(0);
  expect(Date.now() - started).toBeLessThan(30_000);
});
