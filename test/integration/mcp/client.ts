/**
 * `nopea mcp` as an MCP client sees it: the SDK's own Client over StdioClientTransport, spawning nopea
 * from source in a test repository with the test cluster's kubeconfig. Records stderr, the process's
 * exit, and any line on stdout that is not a protocol message (the client reports it as an error).
 */
import type { ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect, onTestFinished } from 'vitest';
import { testCluster } from '../../helpers/cluster.js';
import { makeRepo, type TestRepo } from '../../helpers/git.js';
import { NOPEA_FROM_SOURCE } from '../../helpers/nopea.js';
import { scenario } from '../sync/scenario.js';

export interface McpProcess {
  client: Client;
  transport: StdioClientTransport;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Errors the client saw (a stdout line that is not JSON-RPC among them). */
  errors: Error[];
  /** Resolves with the exit code (or the signal) once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid: number;
  /** Ends the server's stdin, as a client that goes away does, without the transport's follow-up signals. */
  closeStdin(): void;
}

/** Starts `nopea mcp <args>` in `cwd` against the test cluster and connects a client to it. */
export async function startMcp(
  cwd: string,
  args: string[] = [],
  opts: { kubeconfig?: string } = {},
): Promise<McpProcess> {
  const cluster = testCluster();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      ...NOPEA_FROM_SOURCE,
      'mcp',
      '--kubeconfig',
      opts.kubeconfig ?? cluster.kubeconfig,
      '--kubectl',
      cluster.kubectl,
      ...args,
    ],
    cwd,
    env: { ...env, KUBECONFIG: '', NO_COLOR: '1' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'nopea-test', version: '1.0.0' });
  const errors: Error[] = [];
  client.onerror = (err) => errors.push(err);
  await client.connect(transport);
  // The transport keeps its child private; its exit code is what these tests are about.
  const child = (transport as unknown as { _process: ChildProcess })._process;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    client,
    transport,
    stderr: () => stderr,
    errors,
    exited,
    pid: transport.pid ?? 0,
    closeStdin: () => child.stdin?.end(),
  };
}

/** The text content of a tool result. */
export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** Calls a tool and returns its result as a CallToolResult. */
export async function callTool(
  mcp: McpProcess,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return (await mcp.client.callTool({ name, arguments: args })) as CallToolResult;
}

interface ErrorJson {
  kind: string;
  problems: { message: string; origin?: { file: string; line: number }; hint?: string }[];
}

/** The structuredContent of a tool result, typed as the answer the facade gives. */
export function answerOf(result: CallToolResult): {
  status: string;
  result?: Record<string, unknown> & {
    services?: { outcome: string; deployId: string; error?: ErrorJson }[];
  };
  error?: ErrorJson;
} {
  return result.structuredContent as never;
}

/** A repository (with a bare remote) holding service web under app/, its image tag `tag`; removed after the test. */
export async function webRepo(tag = '1.0.0', more: Record<string, string> = {}): Promise<TestRepo> {
  const files = await scenario('web', { TAG: tag, REPLICAS: '1', MIN_READY: '0' }, 'app');
  const repo = await makeRepo({ files: { ...files, ...more } });
  onTestFinished(() => repo.cleanup());
  return repo;
}

/**
 * `nopea mcp <args>` serving `repo`, closed after the test, which then checks that the client saw no
 * error: every line the server wrote to stdout was a protocol message.
 */
export async function serve(repo: TestRepo, args: string[] = []): Promise<McpProcess> {
  const mcp = await startMcp(repo.work, args);
  onTestFinished(async () => {
    await mcp.client.close();
    expect(mcp.errors, mcp.stderr()).toEqual([]);
  });
  return mcp;
}
