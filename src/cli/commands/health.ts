/**
 * `nopea health [SERVICE]`: the live objects of a service's inventory (or of every service on the
 * state branch) by nopea's readiness rules, one line per object, with the diagnosis of every object
 * that is not healthy. Changes nothing. Exit 0 when everything is healthy, 1 when anything is not,
 * 2 for a service the branch does not know (surface/outcome.ts says so once).
 */
import type { Argv } from 'yargs';
import { formatDiagnosis } from '../../health/wait.js';
import { health, healthStatus, type HealthResult, type ObjectHealthResult } from '../../surface/health.js';
import { exitCodeOf } from '../../surface/outcome.js';
import { reportError } from '../output.js';
import {
  clusterOptionsFrom,
  stateOptionsFrom,
  withClusterOptions,
  withStateOptions,
  type ClusterArgs,
} from '../options.js';

interface HealthArgs extends ClusterArgs {
  service?: string;
  output: 'text' | 'json';
  stateBranch?: string;
  stateRemote?: string;
}

const indent = (text: string, by: string): string =>
  text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');

function objectText(o: ObjectHealthResult): string {
  const head = `  ${o.state.padEnd(11)} `;
  if (o.diagnostics) {
    const [first = '', ...rest] = formatDiagnosis({ ...o.diagnostics, id: o.id, state: 'failed' }).split(
      '\n',
    );
    return [`${head}${first}`, ...rest.map((line) => indent(line, ' '.repeat(head.length)))].join('\n');
  }
  return `${head}${o.id}${o.message ? `: ${o.message}` : ''}`;
}

/** The text form: per service a headline, then one line per object (diagnoses indented below it). */
export function healthText(r: HealthResult): string {
  if (r.services.length === 0) return 'no services on the state branch yet\n';
  const blocks = r.services.map((s) => {
    const counts = new Map<string, number>();
    for (const o of s.objects) counts.set(o.state, (counts.get(o.state) ?? 0) + 1);
    const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ') || 'no objects';
    const head = `${s.service}${s.namespace ? ` (${s.namespace})` : ''}: ${s.healthy ? 'healthy' : 'NOT HEALTHY'} (${summary})`;
    return [head, ...s.objects.map(objectText)].join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

export function healthCommand(setExit: (code: number) => void) {
  return {
    command: 'health [service]',
    describe: "check the live objects of a service's inventory (or of every service); changes nothing",
    builder: (y: Argv) =>
      withClusterOptions(withStateOptions(y)).positional('service', {
        type: 'string',
        describe: 'the service (default: every service on the state branch)',
      }),
    handler: async (argv: HealthArgs) => {
      try {
        const result = await health({
          ...stateOptionsFrom(argv),
          ...(argv.service !== undefined ? { service: argv.service } : {}),
          ...clusterOptionsFrom(argv),
        });
        process.stdout.write(
          argv.output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : healthText(result),
        );
        setExit(exitCodeOf(healthStatus(result)));
      } catch (err) {
        setExit(reportError(err, argv.output));
      }
    },
  };
}
