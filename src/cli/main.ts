import yargs, { type Argv, type CommandModule } from 'yargs';
import { EXIT } from '../surface/outcome.js';
import { VERSION } from '../version.js';

/** A command: what the top-level help shows, and how to register the real one. */
interface CommandSpec {
  name: string;
  command: string;
  describe: string;
  register: (parser: Argv, setExit: (code: number) => void, describe: string) => Promise<void>;
}

/**
 * The commands. A command's module (and with it the Kubernetes client, git and YAML libraries) is
 * imported only when the command line names it, so `nopea --help` and `--version` start fast; the
 * light entries registered for the other commands carry what the top-level help shows.
 */
const COMMANDS: CommandSpec[] = [
  {
    name: 'diff',
    command: 'diff [paths..]',
    describe: 'show what a sync would change (nothing is written)',
    register: async (parser, setExit, describe) => {
      parser.command({ ...(await import('./commands/diff.js')).diffCommand(setExit), describe });
    },
  },
  {
    name: 'sync',
    command: 'sync [paths..]',
    describe: 'apply the manifests with server-side apply, prune, wait for health and record the deploy',
    register: async (parser, setExit, describe) => {
      parser.command({ ...(await import('./commands/sync.js')).syncCommand(setExit), describe });
    },
  },
  ...(['promote', 'rollback'] as const).map((action): CommandSpec => ({
    name: action,
    command: `${action} [deploy-id]`,
    describe:
      action === 'promote'
        ? 'pass the gate a progressive rollout waits at (--full: every gate)'
        : 'roll a progressive rollout back to its stable template',
    register: async (parser, setExit, describe) => {
      const { rolloutCommand } = await import('./commands/rollout.js');
      parser.command({ ...(rolloutCommand(action, setExit) as unknown as CommandModule), describe });
    },
  })),
  {
    name: 'health',
    command: 'health [service]',
    describe: "check the live objects of a service's inventory (or of every service); changes nothing",
    register: async (parser, setExit, describe) => {
      parser.command({ ...(await import('./commands/health.js')).healthCommand(setExit), describe });
    },
  },
  {
    name: 'mcp',
    command: 'mcp',
    describe: 'run an MCP server on stdio (tools nopea_deploy, nopea_diff, nopea_status, ...)',
    register: async (parser, setExit, describe) => {
      parser.command({ ...(await import('./commands/mcp.js')).mcpCommand(setExit), describe });
    },
  },
  {
    name: 'serve',
    command: 'serve',
    describe: 'run the HTTP API (JSON; OpenAPI at /api/openapi.json; /metrics)',
    register: async (parser, setExit, describe) => {
      parser.command({ ...(await import('./commands/serve.js')).serveCommand(setExit), describe });
    },
  },
  ...(
    [
      ['history', 'history <service>', 'list the deploys of a service, newest first', 'historyCommand'],
      [
        'status',
        'status <service>',
        "show a service's current deploy and how its last one ended",
        'statusCommand',
      ],
      ['services', 'services', 'list every service on the state branch', 'servicesCommand'],
      ['context', 'context <service>', 'show what memory knows about a service', 'contextCommand'],
      [
        'explain',
        'explain <service>',
        'say which strategy --strategy auto would choose now, and why',
        'explainCommand',
      ],
      [
        'memory',
        'memory',
        "show the size of nopea's memory and the top risks across services",
        'memoryCommand',
      ],
    ] as const
  ).map(([name, command, describe, factory]): CommandSpec => ({
    name,
    command,
    describe,
    register: async (parser, setExit, text) => {
      const read = await import('./commands/read.js');
      parser.command({ ...(read[factory](setExit) as unknown as CommandModule), describe: text });
    },
  })),
];

/** Options that take several values (their flag may repeat); every other option takes one. */
const REPEATABLE = new Set(['paths', 'allowPruneKind']);

/** A mistake on the command line: reported with the command's usage before anything runs. */
class UsageError extends Error {}

/** The command the command line names, for the usage hint. */
function commandOf(argv: readonly string[]): CommandSpec | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  return COMMANDS.find((c) => c.name === first);
}

/** Parses argv and runs one nopea command. Resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  const parser = yargs(argv)
    .scriptName('nopea')
    .usage('$0 <command> [options]\n\nGitOps reconciler run from CI: plan, apply, wait, record.')
    .version(VERSION)
    .exitProcess(false);
  for (const spec of COMMANDS) {
    // Any argument equal to the name loads it (a path named like a command only costs the import).
    if (argv.includes(spec.name)) {
      await spec.register(parser, setExit, spec.describe);
    } else {
      parser.command(
        spec.command,
        spec.describe,
        (y) => y,
        () => undefined,
      );
    }
  }
  parser
    .middleware((args) => {
      // A flag given twice (`--timeout 90s --timeout 30s`) would arrive as a list: a usage error, not
      // a value nopea guesses at. Only the options that take several values may repeat.
      for (const [key, value] of Object.entries(args)) {
        if (
          Array.isArray(value) &&
          !REPEATABLE.has(key) &&
          key !== '_' &&
          /^[a-z]/.test(key) &&
          !key.includes('-')
        ) {
          const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
          throw new UsageError(`--${flag} was given more than once (${value.join(', ')}); give it once`);
        }
      }
    }, true)
    .strict()
    .demandCommand(1, 'Name a command, e.g. `nopea diff`. See `nopea --help`.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .epilogue(
      'Exit codes: 0 ok or nothing to do, 1 deploy failed, 2 invalid input (nothing changed), 3 diff --exit-code: changes pending, 4 a rollout waits at a gate.',
    )
    .fail((msg, err) => {
      // Throwing here is what stops yargs before the command's handler runs: a mistyped flag must
      // never start a deploy. Errors a handler throws are not usage errors and pass through.
      if (err && !msg) throw err;
      throw new UsageError(msg ?? err?.message ?? 'invalid command line');
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const command = commandOf(argv);
    const usage = command
      ? `Usage: nopea ${command.command} [options]; \`nopea ${command.name} --help\` lists every option.`
      : 'Run `nopea --help` for usage.';
    process.stderr.write(`nopea: ${err.message}\n${usage}\nNothing was run.\n`);
    return EXIT.refused;
  }
  return exitCode;
}
