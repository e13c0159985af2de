/**
 * `nopea mcp` on stdio: stdout carries only protocol messages, everything else goes to stderr. It
 * runs until the client closes stdin or a SIGTERM/SIGINT arrives; then no new write starts, a call in
 * flight finishes and records its outcome (a second signal cuts its requests short, never the
 * record), its answer is sent, and the server closes.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createNopeaMcpServer, type NopeaMcpOptions } from './server.js';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * A library that logs with `console.log` would write into the protocol stream: in this process the
 * console's stdout methods write to stderr.
 */
function consoleToStderr(): void {
  for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error;
}

/** Serves MCP on stdin/stdout until the client goes away or a signal stops it; resolves to the exit code. */
export async function serveStdio(options: Omit<NopeaMcpOptions, 'log'>): Promise<number> {
  consoleToStderr();
  const mcp = createNopeaMcpServer({ ...options, log });
  const transport = new StdioServerTransport();
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSignal = (sig: NodeJS.Signals): void => {
    const step = mcp.cancel();
    log(
      step === 'stop'
        ? `nopea mcp: ${sig} received: no new writes start; a call in flight finishes and records its outcome, then the server exits`
        : `nopea mcp: ${sig} received again: cutting requests in flight short; the outcome is still recorded`,
    );
    stop(sig);
  };
  // 'end' and then 'close' arrive for one closed stdin: it is one cancellation, not two (a second
  // would cut requests in flight short).
  let ended = false;
  const onEnd = (): void => {
    if (ended) return;
    ended = true;
    mcp.cancel();
    stop('stdin closed');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.stdin.once('end', onEnd);
  process.stdin.once('close', onEnd);
  try {
    await mcp.server.connect(transport);
    log(
      `nopea mcp: serving MCP on stdio (${options.allowWrites ? 'writes allowed' : 'read-only: deploys are dry runs unless started with --allow-writes'})`,
    );
    const why = await stopped;
    await mcp.idle();
    log(`nopea mcp: ${why}: exiting`);
    return 0;
  } finally {
    await mcp.server.close().catch(() => undefined);
    process.stdin.off('end', onEnd);
    process.stdin.off('close', onEnd);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
