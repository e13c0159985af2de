import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableTools, createNopeaMcpServer } from '../../../src/mcp/server.js';
import { OPERATIONS } from '../../../src/surface/api.js';
import { meaningOf } from '../../../src/surface/outcome.js';

/** A client connected to a fresh server over the SDK's linked in-memory pair. */
async function connect(opts: { cwd: string; allowWrites?: boolean }): Promise<Client> {
  const mcp = createNopeaMcpServer({
    context: { cwd: opts.cwd },
    allowWrites: opts.allowWrites ?? false,
    log: () => undefined,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** Every `additionalProperties: false` in a JSON Schema, by path. */
function closedObjects(schema: unknown, path = '$'): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const own = (schema as Record<string, unknown>).additionalProperties === false ? [path] : [];
  return [
    ...own,
    ...Object.entries(schema).flatMap(([key, value]) => closedObjects(value, `${path}.${key}`)),
  ];
}

const EXPECTED_TOOLS = [
  'nopea_deploy',
  'nopea_diff',
  'nopea_health',
  'nopea_status',
  'nopea_history',
  'nopea_services',
  'nopea_context',
  'nopea_explain',
  'nopea_promote',
  'nopea_rollback',
];

describe('nopea mcp tools', () => {
  let dir: string;
  let client: Client;
  let tools: Tool[];

  beforeAll(async () => {
    // Not a git repository: every operation that runs fails there with the surface's own error.
    dir = await mkdtemp(join(tmpdir(), 'nopea-mcp-unit-'));
    client = await connect({ cwd: dir });
    tools = (await client.listTools()).tools;
  });

  afterAll(async () => {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  function tool(name: string): Tool {
    const found = tools.find((t) => t.name === name);
    if (!found) throw new Error(`no tool ${name}`);
    return found;
  }

  it('offers one tool per operation of the table it knows, and only those', () => {
    const offered = availableTools().map((t) => t.spec.name);
    expect(tools.map((t) => t.name)).toEqual(offered);
    const expected = EXPECTED_TOOLS.filter((name) => name !== 'nopea_health' || 'health' in OPERATIONS);
    expect(offered.toSorted()).toEqual(expected.toSorted());
  });

  it('takes its annotations from the operations table', () => {
    for (const { spec, op } of availableTools()) {
      expect(tool(spec.name).annotations).toMatchObject({
        readOnlyHint: op.readOnly,
        destructiveHint: op.destructive,
        idempotentHint: op.idempotent,
        openWorldHint: spec.openWorld,
      });
    }
    expect(tool('nopea_status').annotations?.readOnlyHint).toBe(true);
    expect(tool('nopea_rollback').annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  });

  it('describes when to use each tool and what its statuses mean', () => {
    for (const t of tools) {
      expect(t.description).toMatch(/exit 2, isError/);
      expect(t.title).toBeTruthy();
    }
    expect(tool('nopea_deploy').description).toMatch(/dry_run defaults to true/);
    expect(tool('nopea_deploy').description).toMatch(/--allow-writes/);
    expect(tool('nopea_promote').description).toMatch(/waits at a gate/);
    expect(tool('nopea_rollback').description).toMatch(/--allow-writes/);
  });

  it('derives snake_case input schemas from the requests, strict like them', () => {
    const deploy = tool('nopea_deploy').inputSchema;
    expect(Object.keys(deploy.properties ?? {})).toEqual(
      expect.arrayContaining(['service', 'dry_run', 'force_conflicts', 'canary_steps', 'max_prune']),
    );
    expect(deploy.properties?.dry_run).toMatchObject({ type: 'boolean', default: true });
    expect(deploy).toMatchObject({ additionalProperties: false });
    expect(Object.keys(tool('nopea_promote').inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['service', 'deploy_id', 'full', 'wait', 'timeout']),
    );
    expect(tool('nopea_history').inputSchema.required).toEqual(['service']);
    for (const t of tools) {
      for (const key of Object.keys(t.inputSchema.properties ?? {})) expect(key).toMatch(/^[a-z_]+$/);
    }
  });

  it('derives output schemas from the results, open to the fields results carry beyond them', () => {
    for (const t of tools) {
      expect(t.outputSchema?.properties).toHaveProperty('status');
      expect(t.outputSchema?.properties).toHaveProperty('result');
      expect(t.outputSchema?.properties).toHaveProperty('error');
      expect(closedObjects(t.outputSchema)).toEqual([]);
    }
    const result = tool('nopea_deploy').outputSchema?.properties?.result as {
      properties: Record<string, unknown>;
    };
    expect(result.properties).toHaveProperty('services');
  });

  it('refuses every write of a read-only server, saying to restart with --allow-writes', async () => {
    for (const [name, args] of [
      ['nopea_deploy', { service: 'web', dry_run: false }],
      ['nopea_promote', { service: 'web' }],
      ['nopea_rollback', { service: 'web', deploy_id: '01J00000000000000000000000' }],
    ] as const) {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(result.isError).toBe(meaningOf('refused').isError);
      expect(result.structuredContent).toMatchObject({ status: 'refused', error: { kind: 'guard' } });
      expect(text(result)).toMatch(/restart the server with `nopea mcp --allow-writes`/);
    }
  });

  it('runs a deploy as a dry run unless told otherwise, so a read-only server lets it through', async () => {
    const result = (await client.callTool({ name: 'nopea_deploy', arguments: {} })) as CallToolResult;
    // It ran (and failed where the surface fails: no git repository), not refused as a write.
    expect(result.structuredContent).toMatchObject({ status: 'invalid', error: { kind: 'input' } });
    expect(text(result)).toMatch(/not inside a git repository/);
  });

  it("answers a failure with the surface's error as a tool result: isError, problems and hints", async () => {
    const result = (await client.callTool({
      name: 'nopea_status',
      arguments: { service: 'web' },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^nopea_status: invalid \(exit 2\), input error:/);
    expect(text(result)).toMatch(/hint: run nopea from a checkout/);
    const error = (result.structuredContent as { error: { problems: { hint?: string }[] } }).error;
    expect(error.problems[0]?.hint).toMatch(/checkout/);
  });

  it('answers arguments outside the schema with a tool error, not a protocol error', async () => {
    const result = (await client.callTool({
      name: 'nopea_deploy',
      arguments: { dryRun: true },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/dryRun/);
  });
});
