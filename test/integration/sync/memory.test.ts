// Memory on the real control plane and a real state branch: failures are remembered by kind and
// advise canary; history lists them; two runs of different services racing for the branch both end
// up in the graph; a corrupt graph.json is rebuilt from the deploy records with a warning.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { cloneRemote, git, makeRepo } from '../../helpers/git.js';
import { runNopea, type NopeaRun } from '../../helpers/nopea.js';
import { jsonOf, output, scenario, syncCli } from './scenario.js';

/** Runs a read-only command (`explain`, `history`, ...) in `cwd`; it needs no cluster. */
function read(args: string[], cwd: string): Promise<NopeaRun> {
  return runNopea(args, { cwd, env: { KUBECONFIG: '' } });
}

function json<T>(run: NopeaRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON:\n${output(run)}`);
  }
}

describe('memory', () => {
  const ns = useNamespace('sync-memory');

  it('remembers three ImagePullBackOff failures: explain advises canary, history lists them', async () => {
    const repo = await makeRepo({
      files: await scenario('web', { TAG: 'fail-pull', REPLICAS: '1', MIN_READY: '0' }, 'app'),
    });
    onTestFinished(() => repo.cleanup());
    const args = ['app', '-s', 'web', '-n', ns.name, '--timeout', '60s'];
    for (let i = 0; i < 3; i++) {
      const run = await syncCli(args, { cwd: repo.work });
      expect(run.code, output(run)).toBe(1);
    }

    const explained = await read(['explain', 'web', '-n', ns.name, '-o', 'json'], repo.work);
    expect(explained.code, output(explained)).toBe(0);
    const advice = json<{ strategy: string; reasons: string[] }>(explained);
    expect(advice.strategy).toBe('canary');
    expect(advice.reasons.join(' ')).toContain('ImagePullBackOff');
    const text = await read(['explain', 'web', '-n', ns.name], repo.work);
    expect(text.stdout).toMatch(/auto would deploy web in \S+ with canary/);

    const listed = await read(['history', 'web', '-o', 'json'], repo.work);
    expect(listed.code, output(listed)).toBe(0);
    const deploys = json<{ deploys: { outcome: string; errorKinds: string[] }[] }>(listed).deploys;
    expect(deploys.map((d) => d.outcome)).toEqual(['failed', 'failed', 'failed']);
    expect(deploys.every((d) => d.errorKinds.includes('ImagePullBackOff'))).toBe(true);

    // auto follows the advice only where a canary can run: this Deployment has no Service to split
    // traffic with, so the deploy runs directly, with a warning saying what memory advised and why.
    const auto = await syncCli([...args, '-o', 'json'], { cwd: repo.work });
    expect(auto.code, output(auto)).toBe(1);
    const result = jsonOf(auto).services[0] as unknown as { strategy: { name: string; by: string } };
    expect(result.strategy).toMatchObject({ name: 'direct', by: 'memory' });
    expect(auto.stderr).toMatch(/warning: web: memory advises canary \(.*ImagePullBackOff.*\)/);
    // An explicit canary that cannot run is refused, naming the Deployment and what it lacks.
    const explicit = await syncCli([...args, '--strategy', 'canary'], { cwd: repo.work });
    expect(explicit.code, output(explicit)).toBe(2);
    expect(explicit.stderr).toMatch(/no Service selects the pods of Deployment \S+\/web/);
    expect(output(explicit)).toContain('nothing was changed');
  });

  it('keeps two services deployed at the same time from separate clones, and rebuilds a corrupt graph', async () => {
    const files = {
      ...(await scenario('web', { TAG: '1.0.0', REPLICAS: '1', MIN_READY: '0' }, 'web')),
      'api/config.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api-settings\ndata:\n  a: "1"\n',
    };
    const repo = await makeRepo({ files });
    onTestFinished(() => repo.cleanup());
    const other = await cloneRemote(repo.remote);
    onTestFinished(() => other.cleanup());
    await git(other.work, 'config', 'user.name', 'other');
    await git(other.work, 'config', 'user.email', 'other@example.invalid');

    const [web, api] = await Promise.all([
      syncCli(['web', '-s', 'web', '-n', ns.name, '--timeout', '60s'], { cwd: repo.work }),
      syncCli(['api', '-s', 'api', '-n', ns.name, '--timeout', '60s'], { cwd: other.work }),
    ]);
    expect(web.code, output(web)).toBe(0);
    expect(api.code, output(api)).toBe(0);

    const listed = await read(['services', '-o', 'json'], repo.work);
    expect(json<{ services: { service: string }[] }>(listed).services.map((s) => s.service)).toEqual([
      'api',
      'web',
    ]);
    const memory = json<{ observations: number }>(await read(['memory', '-o', 'json'], repo.work));
    expect(memory.observations).toBe(2);
    for (const service of ['web', 'api']) {
      const ctx = json<{ known: boolean }>(await read(['context', service, '-o', 'json'], repo.work));
      expect(ctx.known, service).toBe(true);
    }

    // Someone breaks graph.json on the branch: the next sync warns once, rebuilds it and goes on.
    const clone = await cloneRemote(repo.remote);
    onTestFinished(() => clone.cleanup());
    await git(clone.work, 'checkout', '--quiet', 'nopea-state');
    await writeFile(path.join(clone.work, '.nopea/graph.json'), '{"format": 1, "nodes": "not a list"');
    await git(clone.work, 'commit', '--quiet', '-am', 'break the graph');
    await git(clone.work, 'push', '--quiet', 'origin', 'nopea-state');

    await writeFile(
      path.join(repo.work, 'web/config.yaml'),
      (await readFile(path.join(repo.work, 'web/config.yaml'), 'utf8')).replace('hello', 'hi'),
    );
    await repo.commitAll('change the greeting');
    const next = await syncCli(['web', '-s', 'web', '-n', ns.name, '--timeout', '60s'], { cwd: repo.work });
    expect(next.code, output(next)).toBe(0);
    const warnings = next.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/graph\.json .*corrupt.*rebuilt from the 2 deploy record\(s\)/);
    const after = json<{ observations: number; warning?: string }>(
      await read(['memory', '-o', 'json'], repo.work),
    );
    expect(after.warning).toBeUndefined();
    expect(after.observations).toBe(3);
  });
});
