// Concurrent `nopea sync` runs from separate clones, as parallel CI jobs would: different services
// share the state branch (both records land), the same service is serialised by its Lease.
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { cloneRemote, makeRepo } from '../../helpers/git.js';
import { getLive, jsonOf, output, readState, scenario, syncCli } from './scenario.js';

async function clones(remote: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = await cloneRemote(remote);
    onTestFinished(() => c.cleanup());
    out.push(c.work);
  }
  return out;
}

describe('two services synced at the same time', () => {
  const ns = useNamespace('sync-two');

  it('both land on the state branch, each with its own record and inventory', async () => {
    const repo = await makeRepo({ files: await scenario('two-services', { NS: ns.name }) });
    onTestFinished(() => repo.cleanup());
    const [a, b] = await clones(repo.remote, 2);

    const [alpha, beta] = await Promise.all([
      syncCli(['-s', 'alpha', '--timeout', '60s', '-o', 'json'], { cwd: a! }),
      syncCli(['-s', 'beta', '--timeout', '60s', '-o', 'json'], { cwd: b! }),
    ]);
    expect(alpha.code, output(alpha)).toBe(0);
    expect(beta.code, output(beta)).toBe(0);
    const alphaRun = jsonOf(alpha).services[0]!;
    const betaRun = jsonOf(beta).services[0]!;
    expect(alphaRun.stateCommit).toBeDefined();
    expect(betaRun.stateCommit).toBeDefined();
    expect(betaRun.stateCommit).not.toBe(alphaRun.stateCommit);

    const alphaState = await readState(repo.remote, 'alpha');
    const betaState = await readState(repo.remote, 'beta');
    expect(alphaState.deploys.map((d) => [d.id, d.outcome])).toEqual([[alphaRun.deployId, 'succeeded']]);
    expect(betaState.deploys.map((d) => [d.id, d.outcome])).toEqual([[betaRun.deployId, 'succeeded']]);
    expect(alphaState.inventory?.objects.map((o) => o.id)).toEqual([
      `/ConfigMap/${ns.name}/alpha-settings`,
      `apps/Deployment/${ns.name}/alpha`,
    ]);
    expect(betaState.inventory?.objects.map((o) => o.id)).toEqual([
      `/ConfigMap/${ns.name}/beta-settings`,
      `apps/Deployment/${ns.name}/beta`,
    ]);
    // One commit per deploy on top of each other: neither overwrote the other.
    expect(alphaState.tip).toBe(betaState.tip);
    expect([alphaRun.stateCommit, betaRun.stateCommit]).toContain(alphaState.tip);
  });
});

describe('the same service synced twice at the same time', () => {
  const ns = useNamespace('sync-same');

  it('runs one after the other: the second waits for the lock, then finds nothing to do', async () => {
    // minReadySeconds keeps the first run in its health wait, holding the lock, for a while.
    const repo = await makeRepo({
      files: await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '10' }, 'app'),
    });
    onTestFinished(() => repo.cleanup());
    const [a, b] = await clones(repo.remote, 2);
    const args = ['app', '-s', 'web', '-n', ns.name, '--timeout', '90s', '-o', 'json'];

    const runs = await Promise.all([syncCli(args, { cwd: a! }), syncCli(args, { cwd: b! })]);
    for (const r of runs) expect(r.code, output(r)).toBe(0);
    const results = runs.map((r) => jsonOf(r).services[0]!);
    // Whichever took the Lease first applied; the other waited for it, naming the holder.
    const firstIndex = results.findIndex((r) => r.objects.some((o) => o.action === 'created'));
    expect(firstIndex, runs.map(output).join('\n')).toBeGreaterThanOrEqual(0);
    const first = results[firstIndex]!;
    const second = results[1 - firstIndex]!;
    const secondRun = runs[1 - firstIndex]!;
    expect(secondRun.stderr).toMatch(new RegExp(`waiting for the lock held by ${first.deployId}@`));
    expect(runs[firstIndex]!.stderr).not.toContain('waiting for the lock');

    // The second planned under the lock, after the first recorded: nothing left to write.
    expect(first.objects.map((o) => o.action).sort()).toEqual(['created', 'created']);
    expect(second.plan?.counts).toMatchObject({ create: 0, update: 0, unchanged: 2 });
    expect(second.objects.every((o) => o.action === 'unchanged')).toBe(true);
    expect(jsonOf(secondRun).requests.writes).toBe(0);

    // The record timestamps show no overlap: the second finished after the first.
    const state = await readState(repo.remote, 'web');
    expect(state.deploys.map((d) => d.id).sort()).toEqual([first.deployId, second.deployId].sort());
    const byId = new Map(state.deploys.map((d) => [d.id, d]));
    const firstRecord = byId.get(first.deployId)!;
    const secondRecord = byId.get(second.deployId)!;
    expect(Date.parse(secondRecord.finishedAt)).toBeGreaterThan(Date.parse(firstRecord.finishedAt));
    const lockWait = secondRecord.stages.find((s) => s.name === 'lock')?.ms ?? 0;
    expect(lockWait).toBeGreaterThan(1000);
    expect(firstRecord.outcome).toBe('succeeded');
    expect(secondRecord.outcome).toBe('succeeded');
    expect(
      await getLive(`/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/nopea-web`),
    ).toBeUndefined();
  });
});

describe('a run cancelled while it waits for the lock', () => {
  const ns = useNamespace('sync-lockwait');

  it('exits 1 at once, writes nothing and leaves the holder alone', async () => {
    // The holder never becomes healthy, so it holds the lock until the test stops it.
    const repo = await makeRepo({
      files: await scenario('web', { TAG: 'never-ready', REPLICAS: '1', MIN_READY: '0' }, 'app'),
    });
    onTestFinished(() => repo.cleanup());
    const [a, b] = await clones(repo.remote, 2);
    const args = ['app', '-s', 'web', '-n', ns.name, '--timeout', '5m'];

    let holderWaiting!: () => void;
    const inWait = new Promise<void>((resolve) => (holderWaiting = resolve));
    let holderProcess: ChildProcess | undefined;
    const holder = syncCli(args, {
      cwd: a!,
      onSpawn: (child) => {
        holderProcess = child;
        let seen = '';
        child.stderr?.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes('web: wait')) holderWaiting();
        });
      },
    });
    onTestFinished(() => {
      holderProcess?.kill('SIGKILL');
    });
    await inWait;

    let signalledAt = 0;
    const waiter = await syncCli([...args, '-o', 'json'], {
      cwd: b!,
      onSpawn: (child) => {
        let seen = '';
        child.stderr?.on('data', (d: Buffer) => {
          seen += d.toString();
          if (!signalledAt && seen.includes('waiting for the lock held by')) {
            signalledAt = Date.now();
            child.kill('SIGTERM');
          }
        });
      },
    });
    expect(signalledAt, output(waiter)).toBeGreaterThan(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(waiter.code, output(waiter)).toBe(1);
    expect(waiter.stderr).toContain('cancelled by a signal before anything was written');
    const cancelled = jsonOf(waiter).services[0]!;
    expect(cancelled.outcome).toBe('cancelled');
    expect(cancelled.objects).toEqual([]);
    expect(cancelled.stateCommit).toBeUndefined();
    expect(jsonOf(waiter).requests.writes).toBe(0);

    // The holder still runs, and still holds the lock.
    const lease = await getLive(`/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases/nopea-web`);
    expect((lease?.spec as { holderIdentity?: string }).holderIdentity).toBeTruthy();
    expect(holderProcess?.exitCode).toBeNull();
    holderProcess?.kill('SIGTERM');
    const held = await holder;
    expect(held.code, output(held)).toBe(1);
    const state = await readState(repo.remote, 'web');
    expect(state.deploys.map((d) => d.outcome)).toEqual(['cancelled']);
  });
});
