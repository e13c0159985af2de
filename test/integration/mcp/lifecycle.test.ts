// What a long deploy through `nopea mcp` looks like to a client: progress notifications while it runs,
// a client's cancellation that stops new writes and still records the deploy, and the server's exit
// (stdin closed, SIGTERM) after a call in flight finished and was recorded.
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { useNamespace, waitFor } from '../../helpers/cluster.js';
import type { TestRepo } from '../../helpers/git.js';
import { readState } from '../sync/scenario.js';
import { answerOf, callTool, serve, startMcp, textOf, webRepo } from './client.js';

/** The outcomes of the service's deploys on the state branch, newest first. */
async function outcomes(repo: TestRepo): Promise<string[]> {
  return (await readState(repo.remote, 'web')).deploys.map((d) => d.outcome);
}

describe('nopea mcp: progress, cancellation and exit', () => {
  const ns = useNamespace('mcp-lifecycle');
  const deploy = (extra: Record<string, unknown> = {}) => ({
    service: 'web',
    namespace: ns.name,
    paths: ['app'],
    dry_run: false,
    ...extra,
  });

  it('reports progress notifications of a deploy whose call has a progressToken', async () => {
    const mcp = await serve(await webRepo('1.0.0'), ['--allow-writes']);
    const seen: Progress[] = [];
    const result = await mcp.client.callTool(
      { name: 'nopea_deploy', arguments: deploy({ timeout: '60s' }) },
      undefined,
      {
        onprogress: (p) => seen.push(p),
      },
    );
    expect(answerOf(result as never).status, textOf(result as never)).toBe('succeeded');
    const messages = seen.map((p) => p.message ?? '');
    expect(messages).toEqual(
      expect.arrayContaining([
        'web: plan 2 create',
        'web: apply',
        `web: /ConfigMap/${ns.name}/web-settings created`,
        `web: apps/Deployment/${ns.name}/web created`,
        'web: wait',
        'web: record',
      ]),
    );
    expect(messages.some((m) => /^web: \d+\/\d+ ready$/.test(m))).toBe(true);
    // Progress only goes up.
    const values = seen.map((p) => p.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);
  });

  it('stops a deploy the client cancels and records it as cancelled; the server goes on', async () => {
    const repo = await webRepo('never-ready');
    const mcp = await serve(repo, ['--allow-writes']);
    const abort = new AbortController();
    const call = mcp.client.callTool(
      { name: 'nopea_deploy', arguments: deploy({ timeout: '120s' }) },
      undefined,
      {
        signal: abort.signal,
        onprogress: (p) => {
          if (p.message === 'web: wait') abort.abort('the user changed their mind');
        },
      },
    );
    await expect(call).rejects.toThrow();
    expect(abort.signal.aborted).toBe(true);
    await waitFor(async () => (await outcomes(repo))[0] === 'cancelled', {
      what: 'the cancelled deploy on the state branch',
      timeoutMs: 60_000,
    });
    expect(await outcomes(repo)).toEqual(['cancelled']);
    const status = await callTool(mcp, 'nopea_status', { service: 'web' });
    expect(textOf(status)).toMatch(/current deploy \S+ cancelled/);
    expect(mcp.stderr()).toMatch(/nopea_deploy cancelled \(the client cancelled it\)/);
    // A progress notification the server sent before the cancellation reached it may arrive after the
    // client forgot the token: MCP allows that race (receivers ignore them). The server sends none
    // once it knows; the status call above came after any such notification on the same stream.
    const late = mcp.errors.filter((e) => /progress notification for an unknown token/.test(e.message));
    expect(late.length).toBeLessThanOrEqual(1);
    mcp.errors.splice(0, mcp.errors.length, ...mcp.errors.filter((e) => !late.includes(e)));
  });

  it('exits 0 when the client closes stdin', async () => {
    const mcp = await startMcp((await webRepo('1.0.0')).work);
    await mcp.client.listTools();
    await mcp.transport.close();
    expect(await mcp.exited).toEqual({ code: 0, signal: null });
    expect(mcp.stderr()).toMatch(/stdin closed: exiting/);
  });

  it('when the client goes away during a deploy, stops new writes, records it, then exits 0', async () => {
    const repo = await webRepo('never-ready');
    const mcp = await startMcp(repo.work, ['--allow-writes']);
    let closed = false;
    const call = mcp.client.callTool(
      { name: 'nopea_deploy', arguments: deploy({ timeout: '120s' }) },
      undefined,
      {
        onprogress: (p) => {
          if (p.message === 'web: wait' && !closed) {
            closed = true;
            mcp.closeStdin();
          }
        },
      },
    );
    const result = (await call) as never;
    expect(closed).toBe(true);
    expect(answerOf(result).status, textOf(result)).toBe('cancelled');
    expect(await mcp.exited).toEqual({ code: 0, signal: null });
    expect(await outcomes(repo)).toEqual(['cancelled']);
    expect(mcp.stderr()).toMatch(/stdin closed: exiting/);
    expect(mcp.stderr()).not.toMatch(/cutting requests in flight short/);
  });

  it('on SIGTERM during a deploy, finishes it, records it and answers, then exits 0', async () => {
    const repo = await webRepo('never-ready');
    const mcp = await serve(repo, ['--allow-writes']);
    let signalled = false;
    const call = mcp.client.callTool(
      { name: 'nopea_deploy', arguments: deploy({ timeout: '120s' }) },
      undefined,
      {
        onprogress: (p) => {
          if (p.message === 'web: wait' && !signalled) {
            signalled = true;
            process.kill(mcp.pid, 'SIGTERM');
          }
        },
      },
    );
    const result = (await call) as never;
    expect(signalled).toBe(true);
    expect(answerOf(result).status, textOf(result)).toBe('cancelled');
    expect(answerOf(result).result?.services?.[0]?.outcome).toBe('cancelled');
    expect(await mcp.exited).toEqual({ code: 0, signal: null });
    expect(await outcomes(repo)).toEqual(['cancelled']);
    expect(mcp.stderr()).toMatch(/SIGTERM received: no new writes start/);
  });
});
