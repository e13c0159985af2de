import yargs from 'yargs';
import { VERSION } from '../version.js';

/** Parses argv and runs one nopea command. Resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName('nopea')
    .usage('$0 <command> [options]\n\nGitOps reconciler run from CI: plan, apply, wait, record.')
    .version(VERSION)
    .exitProcess(false)
    .strict()
    .demandCommand(1, 'Name a command, e.g. `nopea diff`. See `nopea --help`.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`nopea: ${msg}\nRun \`nopea --help\` for usage.\n`);
      exitCode = 2;
    });
  await parser.parseAsync();
  return exitCode;
}
