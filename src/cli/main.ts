import yargs from 'yargs';
import { VERSION } from '../version.js';
import { diffCommand } from './commands/diff.js';
import { syncCommand } from './commands/sync.js';

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
    .exitProcess(false)
    .command(diffCommand(setExit))
    .command(syncCommand(setExit))
    .strict()
    .demandCommand(1, 'Name a command, e.g. `nopea diff`. See `nopea --help`.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .epilogue(
      'Exit codes: 0 ok or nothing to do, 1 deploy failed, 2 invalid input (nothing changed), 3 diff --exit-code: changes pending.',
    )
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`nopea: ${msg}\nRun \`nopea --help\` for usage.\n`);
      exitCode = 2;
    });
  await parser.parseAsync();
  return exitCode;
}
