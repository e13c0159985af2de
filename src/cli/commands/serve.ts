/**
 * `nopea serve`: the HTTP API on `--host`/`--port`, working on the repository at `--repo`. Keys come
 * from `NOPEA_API_KEYS` and `NOPEA_API_WRITE_KEYS`; without one it serves only on loopback. Runs until
 * SIGTERM or SIGINT, then finishes the requests in flight and exits 0.
 */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { parseDuration } from '../../duration.js';
import { NopeaError } from '../../errors.js';
import { startServer } from '../../http/server.js';
import { serverContextFrom, withServerOptions, type ServerWhereArgs } from '../options.js';
import { reportError } from '../output.js';
import { EXIT } from '../../surface/outcome.js';

interface ServeArgs extends ServerWhereArgs {
  host: string;
  port: number;
  repo?: string;
  lockWait: string;
  readTimeout: string;
}

const log = (line: string): void => {
  process.stderr.write(`nopea serve: ${line}\n`);
};

/** The flags that take a string: name, what it means, default. */
const STRING_OPTIONS: [string, string, string?][] = [
  ['repo', 'the git repository to deploy from (default: the current directory)'],
  ['lock-wait', 'how long a deploy waits for a lock another run holds before answering 409', '0s'],
  ['read-timeout', 'how long a client may take to send a request (headers and body)', '30s'],
];

export function serveCommand(setExit: (code: number) => void): CommandModule<object, ServeArgs> {
  return {
    command: 'serve',
    describe: 'run the HTTP API',
    builder: (y: Argv<object>) => {
      let out: Argv<object> = y
        .option('host', {
          requiresArg: true,
          type: 'string',
          default: '127.0.0.1',
          describe: 'address to listen on',
        })
        .option('port', {
          requiresArg: true,
          type: 'number',
          default: 4000,
          describe: 'port (0: any free one)',
        });
      for (const [name, describe, fallback] of STRING_OPTIONS) {
        out = out.option(name, {
          requiresArg: true,
          type: 'string',
          describe,
          ...(fallback ? { default: fallback } : {}),
        });
      }
      return withServerOptions(out) as unknown as Argv<ServeArgs>;
    },
    handler: async (argv: ServeArgs) => {
      try {
        const port = argv.port;
        if (!Number.isInteger(port) || port < 0 || port > 65_535) {
          throw new NopeaError('input', `--port ${port}: a port from 0 to 65535`);
        }
        const context = serverContextFrom(argv);
        const server = await startServer({
          host: argv.host,
          port,
          repo: path.resolve(argv.repo ?? process.cwd()),
          context,
          env: process.env,
          lockWaitMs: parseDuration(argv.lockWait, '--lock-wait'),
          readTimeoutMs: parseDuration(argv.readTimeout, '--read-timeout'),
          log,
        });
        await server.closed;
        log('stopped');
        setExit(EXIT.ok);
      } catch (err) {
        setExit(reportError(err, 'text'));
      }
    },
  };
}
