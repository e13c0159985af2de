/**
 * `nopea mcp`: the MCP server on stdio (src/mcp). Where the cluster, the repository and the state
 * branch are comes from this command line and the working directory, never from a tool call.
 */
import type { Argv, CommandModule } from 'yargs';
import { serverContextFrom, withServerOptions, type ServerWhereArgs } from '../options.js';

interface McpArgs extends ServerWhereArgs {
  allowWrites: boolean;
}

/** Registers the command; `setExit` receives its exit code (0 once the client or a signal ended it). */
export function mcpCommand(setExit: (code: number) => void): CommandModule<object, McpArgs> {
  return {
    command: 'mcp',
    describe: 'run an MCP server on stdio (tools nopea_deploy, nopea_diff, nopea_status, ...)',
    builder: (y: Argv) => {
      const parser = y.option('allow-writes', {
        type: 'boolean',
        default: false,
        describe: 'let tools write: nopea_deploy with dry_run false, nopea_promote, nopea_rollback',
      });
      return withServerOptions(parser) as unknown as Argv<McpArgs>;
    },
    handler: async (argv) => {
      const { serveStdio } = await import('../../mcp/stdio.js');
      setExit(
        await serveStdio({
          allowWrites: argv.allowWrites,
          context: { cwd: process.cwd(), ...serverContextFrom(argv) },
        }),
      );
    },
  };
}
