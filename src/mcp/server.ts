/**
 * The MCP server: one tool per entry of `TOOLS` whose operation the facade's table has, each a
 * translation — snake_case arguments to the operation's request, `runOperation`'s answer to a tool
 * result (structuredContent: the answer; text: a line or two; `isError` from `meaningOf`). Nothing
 * here decides what a result means. Writes are refused unless the server allows them; a client's
 * cancellation and the server's shutdown stop new writes the way SIGTERM stops a CLI sync.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  OPERATIONS,
  runOperation,
  type Answer,
  type Operation,
  type OperationContext,
  type OperationName,
} from '../surface/api.js';
import { Cancellation } from '../surface/cancellation.js';
import { meaningOf } from '../surface/outcome.js';
import { VERSION } from '../version.js';
import { answerText, eventText, rolloutProgressText } from './text.js';
import { inputSchemaOf, outputSchemaOf, requestOf, STATUSES_TEXT, TOOLS, type ToolSpec } from './tools.js';

export interface NopeaMcpOptions {
  /** Where operations run: the command line's settings; no request can change them. */
  context: Omit<OperationContext, 'signal' | 'hurry' | 'onEvent' | 'onRolloutProgress'>;
  /** Started with `--allow-writes`: deploys (dry_run false), promotes and rollbacks may run. */
  allowWrites: boolean;
  /** Where a line about each call goes (stderr; never stdout, which carries the protocol). */
  log?: (line: string) => void;
}

export interface NopeaMcpServer {
  server: McpServer;
  /** Stops new writes of every call in flight (first time), then cuts their requests short. */
  cancel(): 'stop' | 'hurry';
  /** Resolves once no call is in flight (their outcomes recorded and their answers sent). */
  idle(): Promise<void>;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The operations of the table by name; a tool whose operation is not there yet is not offered. */
const OPERATION_TABLE: Record<string, Operation | undefined> = OPERATIONS as unknown as Record<
  string,
  Operation
>;

/** The tools this build can offer, with their operations. */
export function availableTools(): { spec: ToolSpec; op: Operation }[] {
  return TOOLS.flatMap((spec) => {
    const op = OPERATION_TABLE[spec.operation];
    return op ? [{ spec, op }] : [];
  });
}

/** The answer a write gets from a server started without `--allow-writes`. */
function writeRefusal(spec: ToolSpec): Answer {
  return {
    status: 'refused',
    error: {
      kind: 'guard',
      problems: [
        {
          message: `${spec.name} would write to the cluster or the state branch, and this MCP server was started read-only; nothing was changed`,
          hint:
            spec.name === 'nopea_deploy'
              ? 'restart the server with `nopea mcp --allow-writes` to deploy, or call it with dry_run: true'
              : `restart the server with \`nopea mcp --allow-writes\` to run ${spec.name}`,
        },
      ],
    },
  };
}

function toolResult(spec: ToolSpec, answer: Answer): CallToolResult {
  return {
    content: [{ type: 'text', text: answerText(spec.name, spec.operation, answer) }],
    structuredContent: { ...answer },
    isError: meaningOf(answer.status).isError,
  };
}

/** Progress notifications for a call whose client asked for them (a progressToken); else nothing. */
function progressReporter(extra: Extra): ((message: string) => void) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let progress = 0;
  return (message) => {
    // A call the client cancelled is over for the client: its token is no longer known there, so no
    // more progress (the run itself goes on to record its outcome).
    if (extra.signal.aborted) return;
    progress++;
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, message },
      })
      .catch(() => undefined); // a client gone gets no progress; the call itself goes on
  };
}

/** Builds the server and registers the tools. */
export function createNopeaMcpServer(options: NopeaMcpOptions): NopeaMcpServer {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const server = new McpServer(
    { name: 'nopea', version: VERSION },
    {
      instructions:
        'nopea deploys Kubernetes manifests from this git repository (GitOps) and records every deploy on a git state branch. Use nopea_diff or nopea_deploy (a dry run by default) to see what would change; nopea_status, nopea_history and nopea_services to read what was deployed.',
    },
  );
  const cancellation = new Cancellation();
  const inFlight = new Set<Promise<unknown>>();

  async function call(spec: ToolSpec, op: Operation, args: Record<string, unknown>, extra: Extra) {
    const request = requestOf(args);
    if (op.writes(request) && !options.allowWrites) {
      log(`nopea mcp: ${spec.name} refused: the server is read-only (start it with --allow-writes)`);
      return toolResult(spec, writeRefusal(spec));
    }
    const report = progressReporter(extra);
    const ctx: OperationContext = {
      ...options.context,
      signal: AbortSignal.any([extra.signal, cancellation.signal]),
      hurry: cancellation.hurry,
    };
    if (report) {
      ctx.onEvent = (event) => report(eventText(event));
      ctx.onRolloutProgress = (service, progress) => report(rolloutProgressText(service, progress));
    }
    log(`nopea mcp: ${spec.name} started`);
    const answer = await runOperation(spec.operation as OperationName, request, ctx);
    log(
      `nopea mcp: ${spec.name} ${answer.status}${extra.signal.aborted ? ' (the client cancelled it)' : ''}`,
    );
    return toolResult(spec, answer);
  }

  for (const { spec, op } of availableTools()) {
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: `${spec.description} ${STATUSES_TEXT}`,
        inputSchema: inputSchemaOf(op.request, spec.defaults),
        outputSchema: outputSchemaOf(op.result),
        annotations: {
          title: spec.title,
          readOnlyHint: op.readOnly,
          destructiveHint: op.destructive,
          idempotentHint: op.idempotent,
          openWorldHint: spec.openWorld,
        },
      },
      (args: Record<string, unknown>, extra: Extra) => {
        const running = call(spec, op, args, extra);
        inFlight.add(running);
        return running.finally(() => inFlight.delete(running));
      },
    );
  }

  return {
    server,
    cancel: () => cancellation.cancel(),
    idle: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      // The SDK sends a handler's answer in the turn after it resolved.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}
