/**
 * `nopea diff`: print the plan; exit 3 with `--exit-code` when changes are pending.
 */
import type { Argv } from 'yargs';
import { renderText } from '../../plan/render.js';
import { hasChanges } from '../../plan/types.js';
import { diffJson } from '../../surface/api.js';
import { diff } from '../../surface/diff.js';
import { reportError, startupTime, useColor } from '../output.js';
import { runOptionsFrom, withRunOptions } from '../options.js';

/** Registers the command; `setExit` receives its exit code. */
export function diffCommand(setExit: (code: number) => void) {
  return {
    command: 'diff [paths..]',
    describe: 'show what a sync would change (nothing is written)',
    builder: (y: Argv) =>
      withRunOptions(y)
        .option('offline', {
          type: 'boolean',
          default: false,
          describe: 'compare with the state branch only (no cluster)',
        })
        .option('exit-code', { type: 'boolean', default: false, describe: 'exit 3 when changes are pending' })
        .option('verbose', { type: 'boolean', default: false, describe: 'list unchanged objects too' }),
    handler: async (
      argv: Awaited<ReturnType<typeof withRunOptions>['argv']> & {
        offline: boolean;
        exitCode: boolean;
        verbose: boolean;
      },
    ) => {
      const startupMs = startupTime();
      try {
        const result = await diff({ ...runOptionsFrom(argv), offline: argv.offline });
        if (argv.output === 'json') {
          process.stdout.write(`${JSON.stringify({ ...diffJson(result), startupMs }, null, 2)}\n`);
        } else {
          const color = useColor(process.stdout);
          process.stdout.write(
            result.plans.map((p) => renderText(p, { color, verbose: argv.verbose })).join('\n'),
          );
        }
        const pending = result.plans.some(hasChanges);
        setExit(pending && argv.exitCode ? 3 : 0);
      } catch (err) {
        setExit(reportError(err, argv.output));
      }
    },
  };
}
