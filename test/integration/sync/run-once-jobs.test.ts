// Run-once Jobs with ttlSecondsAfterFinished: 0, like ingress-nginx's admission Jobs: they complete and
// the TTL controller deletes them. A sync with --wait must count such a Job as complete, and a later
// sync must not run it again while git leaves its spec unchanged (it is `unchanged`, not `create`).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace, waitFor } from '../../helpers/cluster.js';
import { makeRepo } from '../../helpers/git.js';
import { getLive, jsonOf, output, readState, syncCli } from './scenario.js';

const job = (image: string): string => `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  ttlSecondsAfterFinished: 0
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ${image}
`;

describe('run-once Jobs removed by their TTL', () => {
  const ns = useNamespace('sync-jobs');

  it('waits them out, does not re-create them while unchanged, and runs a changed spec again', async () => {
    const repo = await makeRepo({
      files: {
        'app/job.yaml': job('registry.example/migrate:1'),
        'app/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n',
      },
    });
    onTestFinished(() => repo.cleanup());
    const args = ['app', '-s', 'jobs', '-n', ns.name, '--timeout', '90s'];
    const jobPath = `/apis/batch/v1/namespaces/${ns.name}/jobs/migrate`;

    const first = await syncCli([...args, '-o', 'json'], { cwd: repo.work });
    expect(first.code, output(first)).toBe(0);
    expect(jsonOf(first).services[0]!.health?.ok).toBe(true);
    await waitFor(async () => (await getLive(jobPath)) === undefined, {
      what: 'the TTL controller to delete the Job',
      timeoutMs: 60_000,
    });

    const second = await syncCli([...args, '-o', 'json'], { cwd: repo.work });
    expect(second.code, output(second)).toBe(0);
    const again = jsonOf(second).services[0]!;
    expect(again.inSync, output(second)).toBe(true);
    expect(again.plan?.entries.find((e) => e.id === `batch/Job/${ns.name}/migrate`)?.action).toBe(
      'unchanged',
    );
    expect(await getLive(jobPath)).toBeUndefined();
    expect((await readState(repo.remote, 'jobs')).deploys).toHaveLength(1);

    const file = path.join(repo.work, 'app/job.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('migrate:1', 'migrate:2'));
    await repo.commitAll('migrate 2');
    const third = await syncCli([...args, '-o', 'json'], { cwd: repo.work });
    expect(third.code, output(third)).toBe(0);
    const ran = jsonOf(third).services[0]!;
    expect(ran.objects.find((o) => o.id === `batch/Job/${ns.name}/migrate`)?.action).toBe('created');
    expect((await readState(repo.remote, 'jobs')).deploys).toHaveLength(2);
  });
});
