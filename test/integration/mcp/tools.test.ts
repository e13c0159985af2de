// Every tool of `nopea mcp` through the SDK's own client over stdio, against the test cluster and a
// real repository with a bare remote: its success path and its error path, dry runs and real deploys,
// and the refusal of writes by a server started without --allow-writes.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { getLive, readState, stateTip } from '../sync/scenario.js';
import { answerOf, callTool, serve, textOf, webRepo } from './client.js';

describe('nopea mcp tools over stdio', () => {
  const ns = useNamespace('mcp-tools');

  it('lists the tools with their schemas and annotations', async () => {
    const mcp = await serve(await webRepo());
    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'nopea_deploy',
        'nopea_diff',
        'nopea_context',
        'nopea_history',
        'nopea_explain',
        'nopea_services',
        'nopea_status',
        'nopea_promote',
        'nopea_rollback',
      ]),
    );
    const deploy = tools.find((t) => t.name === 'nopea_deploy');
    expect(deploy?.inputSchema.properties?.dry_run).toMatchObject({ default: true });
    expect(deploy?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(deploy?.outputSchema?.properties).toHaveProperty('status');
    expect(mcp.stderr()).toMatch(/serving MCP on stdio \(read-only/);
  });

  it('runs a real dry-run deploy without writing, and refuses a write without --allow-writes', async () => {
    const repo = await webRepo();
    const mcp = await serve(repo);
    const dry = await callTool(mcp, 'nopea_deploy', { service: 'web', namespace: ns.name, paths: ['app'] });
    expect(dry.isError, textOf(dry)).toBe(false);
    expect(answerOf(dry)).toMatchObject({
      status: 'dry-run',
      result: { services: [{ outcome: 'dry-run' }] },
    });
    expect(textOf(dry)).toMatch(
      /^nopea_deploy: dry-run \(exit 0\)\nweb: dry-run, deploy \S+; plan: 2 create/,
    );

    for (const [tool, args] of [
      ['nopea_deploy', { service: 'web', namespace: ns.name, paths: ['app'], dry_run: false }],
      ['nopea_promote', { service: 'web' }],
      ['nopea_rollback', { service: 'web' }],
    ] as const) {
      const refused = await callTool(mcp, tool, args);
      expect(refused.isError).toBe(true);
      expect(answerOf(refused)).toMatchObject({ status: 'refused' });
      expect(textOf(refused)).toMatch(/--allow-writes/);
    }
    expect(await stateTip(repo.remote)).toBe('');
    expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeUndefined();
  });

  it('names the file and line of an invalid manifest, as an isError result', async () => {
    const repo = await webRepo('1.0.0', {
      'app/broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata: [unclosed\n',
    });
    const mcp = await serve(repo);
    const result = await callTool(mcp, 'nopea_deploy', {
      service: 'web',
      namespace: ns.name,
      paths: ['app'],
    });
    expect(result.isError, textOf(result)).toBe(true);
    const answer = answerOf(result);
    expect(answer.status).toBe('invalid');
    // The service's sync stopped at loading its manifests: its error is in the result.
    const problems = answer.result?.services?.[0]?.error?.problems ?? [];
    expect(answer.result?.services?.[0]?.error?.kind).toBe('input');
    expect(problems[0]?.origin?.file, textOf(result)).toBe('app/broken.yaml');
    expect(problems[0]?.origin?.line).toBeGreaterThan(0);
    expect(textOf(result)).toMatch(
      /web: failed, deploy \S+; nothing applied, not recorded\napp\/broken\.yaml:\d+: YAML syntax error/,
    );
    const diff = await callTool(mcp, 'nopea_diff', { service: 'web', namespace: ns.name, paths: ['app'] });
    expect(diff.isError).toBe(true);
    expect(textOf(diff)).toMatch(/app\/broken\.yaml:\d+: /);
  });

  it('deploys with --allow-writes, then every read tool answers about the deploy', async () => {
    const repo = await webRepo();
    const mcp = await serve(repo, ['--allow-writes']);
    expect(mcp.stderr()).toMatch(/writes allowed/);
    const where = { service: 'web', namespace: ns.name, paths: ['app'] };
    const deployed = await callTool(mcp, 'nopea_deploy', { ...where, dry_run: false, timeout: '60s' });
    expect(deployed.isError, textOf(deployed)).toBe(false);
    const answer = answerOf(deployed);
    expect(answer.status).toBe('succeeded');
    const deployId = answer.result?.services?.[0]?.deployId ?? '';
    expect(textOf(deployed)).toContain(`web: succeeded, deploy ${deployId}; objects: 2 created; recorded in`);
    const state = await readState(repo.remote, 'web');
    expect(state.deploys.map((d) => [d.id, d.outcome])).toEqual([[deployId, 'succeeded']]);
    expect(await getLive(`/apis/apps/v1/namespaces/${ns.name}/deployments/web`)).toBeDefined();

    const diff = await callTool(mcp, 'nopea_diff', where);
    expect(answerOf(diff).status, textOf(diff)).toBe('planned');
    expect(textOf(diff)).toMatch(/web: 2 unchanged/);

    const status = await callTool(mcp, 'nopea_status', { service: 'web' });
    expect(textOf(status)).toContain(`web: current deploy ${deployId} succeeded`);
    const history = await callTool(mcp, 'nopea_history', { service: 'web', limit: 5 });
    expect(textOf(history)).toContain(`web: 1 deploys; newest ${deployId} succeeded`);
    const services = await callTool(mcp, 'nopea_services');
    expect(textOf(services)).toContain('1 services: web');
    for (const tool of ['nopea_context', 'nopea_explain']) {
      const read = await callTool(mcp, tool, { service: 'web', namespace: ns.name });
      expect(read.isError, textOf(read)).toBe(false);
      expect(answerOf(read)).toMatchObject({ status: 'succeeded', result: { service: 'web' } });
    }
    const { tools } = await mcp.client.listTools();
    if (tools.some((t) => t.name === 'nopea_health')) {
      const health = await callTool(mcp, 'nopea_health', { service: 'web' });
      expect(health.isError, textOf(health)).toBe(false);
    }

    // Nothing waits at a gate: promote and rollback are invalid and change nothing.
    for (const tool of ['nopea_promote', 'nopea_rollback']) {
      const moved = await callTool(mcp, tool, { service: 'web', deploy_id: deployId });
      expect(moved.isError, textOf(moved)).toBe(true);
      expect(answerOf(moved).status).toBe('invalid');
    }
    expect((await readState(repo.remote, 'web')).deploys).toHaveLength(1);
  });

  it('answers a read about an unknown service with the services there are', async () => {
    const repo = await webRepo();
    const mcp = await serve(repo, ['--allow-writes']);
    const deployed = await callTool(mcp, 'nopea_deploy', {
      service: 'web',
      namespace: ns.name,
      paths: ['app'],
      dry_run: false,
      wait: false,
    });
    expect(deployed.isError, textOf(deployed)).toBe(false);
    // (context and explain answer about a service memory does not know yet: known false.)
    for (const tool of ['nopea_status', 'nopea_history']) {
      const result = await callTool(mcp, tool, { service: 'nope' });
      expect(result.isError, `${tool}: ${textOf(result)}`).toBe(true);
      expect(answerOf(result).status).toBe('invalid');
      expect(textOf(result)).toMatch(/hint: services on the branch: web/);
    }
    const arg = await callTool(mcp, 'nopea_history', { service: 'web', limit: 0 });
    expect(arg.isError).toBe(true);
  });

  it('prunes a protected kind only when allow_prune_kinds names it, with the propagation asked for', async () => {
    const claim = [
      'apiVersion: v1',
      'kind: PersistentVolumeClaim',
      'metadata:',
      '  name: claim',
      'spec:',
      '  accessModes: [ReadWriteOnce]',
      '  resources:',
      '    requests:',
      '      storage: 1Mi',
      '',
    ].join('\n');
    const repo = await webRepo('1.0.0', { 'app/claim.yaml': claim });
    const mcp = await serve(repo, ['--allow-writes']);
    const where = { service: 'web', namespace: ns.name, paths: ['app'], dry_run: false, wait: false };
    const first = await callTool(mcp, 'nopea_deploy', where);
    expect(first.isError, textOf(first)).toBe(false);
    const claimPath = `/api/v1/namespaces/${ns.name}/persistentvolumeclaims/claim`;
    expect(await getLive(claimPath)).toBeDefined();

    await rm(path.join(repo.work, 'app/claim.yaml'));
    const refused = await callTool(mcp, 'nopea_deploy', where);
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(
      `refusing to prune /PersistentVolumeClaim/${ns.name}/claim: PersistentVolumeClaim is a protected kind`,
    );
    expect((await getLive(claimPath))?.metadata.deletionTimestamp).toBeUndefined();

    const notProtected = await callTool(mcp, 'nopea_deploy', { ...where, allow_prune_kinds: ['Deployment'] });
    // The tool's input schema lists the protected kinds: the SDK refuses any other before nopea runs.
    expect(notProtected.isError).toBe(true);
    expect(textOf(notProtected)).toMatch(/allow_prune_kinds/);

    const pruned = await callTool(mcp, 'nopea_deploy', {
      ...where,
      allow_prune_kinds: ['PersistentVolumeClaim'],
      prune_propagation: 'foreground',
    });
    expect(pruned.isError, textOf(pruned)).toBe(false);
    const objects = (answerOf(pruned).result?.services?.[0] as { objects?: { id: string; action: string }[] })
      .objects;
    expect(objects).toContainEqual({ id: `/PersistentVolumeClaim/${ns.name}/claim`, action: 'pruned' });
    // Deleted, or (its pvc-protection finalizer still on it) being deleted in the foreground.
    const live = await getLive(claimPath);
    if (live) expect(live.metadata.deletionTimestamp).toBeDefined();
  });
});
