/**
 * The commands that only read the state branch — `history`, `status`, `services`, `context`,
 * `explain`, `memory`: none needs a cluster. Each prints text, or with `-o json` the surface's result
 * as it is.
 */
import type { Argv } from 'yargs';
import { formatDuration } from '../../duration.js';
import { ageText } from '../../memory/context.js';
import { context, explain, memorySummary } from '../../surface/explain.js';
import { history, services, status } from '../../surface/history.js';
import type { StateLocationOptions } from '../../surface/prepare.js';
import { reportError } from '../output.js';
import { stateOptionsFrom, withStateOptions } from '../options.js';

/** The flags these commands take, as yargs parses them. */
interface ReadArgs {
  output: 'text' | 'json';
  stateBranch?: string;
  stateRemote?: string;
  service?: string;
  namespace?: string;
  limit?: number;
}

interface ReadSpec<R> {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
  run: (where: StateLocationOptions, argv: ReadArgs) => Promise<R>;
  text: (result: R) => string;
  /** Warnings the result carries, printed on stderr. */
  warnings?: (result: R) => string[];
}

function readCommand<R>(spec: ReadSpec<R>, setExit: (code: number) => void) {
  return {
    command: spec.command,
    describe: spec.describe,
    builder: (y: Argv) => spec.builder(withStateOptions(y) as Argv),
    handler: async (argv: ReadArgs) => {
      try {
        const result = await spec.run(stateOptionsFrom(argv), argv);
        for (const w of spec.warnings?.(result) ?? []) process.stderr.write(`warning: ${w}\n`);
        process.stdout.write(
          argv.output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : spec.text(result),
        );
        setExit(0);
      } catch (err) {
        setExit(reportError(err, argv.output));
      }
    },
  };
}

/** The service a command is about, and optionally its namespace. */
function about(argv: ReadArgs): { service: string; namespace?: string } {
  return { service: argv.service ?? '', ...(argv.namespace ? { namespace: argv.namespace } : {}) };
}

const service = (y: Argv): Argv =>
  y.positional('service', { type: 'string', demandOption: true, describe: 'service name' });
const namespace = (y: Argv): Argv =>
  y.option('namespace', {
    requiresArg: true,
    alias: 'n',
    type: 'string',
    describe: "namespace (default: nopea.yaml's, else the service's last deploy's)",
  });

const ago = (iso: string): string => ageText(Date.now() - Date.parse(iso));
const pct = (x: number): string => x.toFixed(2);

export function historyCommand(setExit: (code: number) => void) {
  return readCommand(
    {
      command: 'history <service>',
      describe: 'list the deploys of a service, newest first',
      builder: (y) =>
        service(y).option('limit', {
          requiresArg: true,
          type: 'string',
          describe: 'at most this many deploys',
          coerce: (text: string): number => {
            if (!/^[1-9][0-9]{0,5}$/.test(String(text).trim())) {
              throw new Error(
                `--limit must be a whole number from 1 to 999999, found ${JSON.stringify(text)}`,
              );
            }
            return Number(text);
          },
        }),
      run: (where, argv) =>
        history({
          ...where,
          service: about(argv).service,
          ...(argv.limit !== undefined ? { limit: argv.limit } : {}),
        }),
      text: (r) =>
        r.deploys.length === 0
          ? `${r.service}: no deploys recorded\n`
          : `${r.deploys
              .map((d) =>
                [
                  d.deployId,
                  d.finishedAt,
                  (d.commit ?? '-').slice(0, 12),
                  d.strategy.name,
                  d.outcome.padEnd(9),
                  formatDuration(d.durationMs).padStart(7),
                  d.errorKinds.join(',') || '-',
                ].join('  '),
              )
              .join('\n')}\n`,
    },
    setExit,
  );
}

export function statusCommand(setExit: (code: number) => void) {
  return readCommand(
    {
      command: 'status <service>',
      describe: "show a service's current deploy and how its last one ended",
      builder: service,
      run: (where, argv) => status({ ...where, service: about(argv).service }),
      text: (r) =>
        `${r.service}${r.namespace ? ` (${r.namespace})` : ''}: deploy ${r.current.deployId} ${r.current.status}, updated ${r.current.updatedAt}${
          r.last
            ? `\nlast deploy: ${r.last.outcome}${r.last.errorKinds.length ? ` (${r.last.errorKinds.join(', ')})` : ''}, ${r.last.strategy.name}, took ${formatDuration(r.last.durationMs)}`
            : ''
        }\n`,
    },
    setExit,
  );
}

export function servicesCommand(setExit: (code: number) => void) {
  return readCommand(
    {
      command: 'services',
      describe: 'list every service on the state branch',
      builder: (y) => y,
      run: (where) => services(where),
      text: (r) =>
        r.services.length === 0
          ? 'no services on the state branch yet\n'
          : `${r.services
              .map((s) =>
                [
                  s.service,
                  s.namespace || '-',
                  s.lastOutcome ?? '-',
                  s.lastDeployAt ?? '-',
                  s.strategy ?? '-',
                ].join('  '),
              )
              .join('\n')}\n`,
    },
    setExit,
  );
}

export function contextCommand(setExit: (code: number) => void) {
  return readCommand(
    {
      command: 'context <service>',
      describe: 'show what memory knows about a service: failure patterns, outcomes, recommendations',
      builder: (y) => namespace(service(y)),
      run: (where, argv) =>
        context({
          ...where,
          service: argv.service as string,
          ...(argv.namespace ? { namespace: argv.namespace } : {}),
        }),
      warnings: (r) => (r.warning ? [r.warning] : []),
      text: (r) => {
        if (!r.known)
          return `${r.service}${r.namespace ? ` in ${r.namespace}` : ''}: no deploys in memory yet\n`;
        const lines = [`${r.service} in ${r.namespace || '(no namespace)'}:`];
        if (r.successRate !== undefined)
          lines.push(
            `  last ${r.recentOutcomes.length} deploys: ${Math.round(r.successRate * 100)}% succeeded`,
          );
        if (r.meanDurationMs !== undefined)
          lines.push(`  mean duration: ${formatDuration(r.meanDurationMs)}`);
        for (const p of r.failurePatterns) {
          lines.push(
            `  ${p.errorKind} in ${p.namespace}: confidence ${pct(p.confidence)}, ${p.observations} observation(s), last seen ${ago(p.lastSeen)}${p.sameNamespace ? '' : ' (another namespace: information)'}`,
          );
        }
        for (const w of r.deployedWith) lines.push(`  often deployed with ${w.service} (${w.count} time(s))`);
        for (const rec of r.recommendations) lines.push(`  - ${rec}`);
        return `${lines.join('\n')}\n`;
      },
    },
    setExit,
  );
}

export function explainCommand(setExit: (code: number) => void) {
  return readCommand(
    {
      command: 'explain <service>',
      describe: 'say which strategy --strategy auto would choose now, and why',
      builder: (y) => namespace(service(y)),
      run: (where, argv) =>
        explain({
          ...where,
          service: argv.service as string,
          ...(argv.namespace ? { namespace: argv.namespace } : {}),
        }),
      warnings: (r) => (r.context.warning ? [r.context.warning] : []),
      text: (r) =>
        `auto would deploy ${r.service}${r.namespace ? ` in ${r.namespace}` : ''} with ${r.strategy} (threshold ${pct(r.threshold)}):\n${r.reasons.map((x) => `  - ${x}`).join('\n')}\n`,
    },
    setExit,
  );
}

export function memoryCommand(setExit: (code: number) => void) {
  return readCommand(
    {
      command: 'memory',
      describe: "show the size of nopea's memory and the top risks across services",
      builder: (y) => y,
      run: (where) => memorySummary(where),
      warnings: (r) => (r.warning ? [r.warning] : []),
      text: (r) =>
        `memory: ${r.nodes} nodes, ${r.edges} relations, ${r.evidence} pieces of evidence, ${r.observations} deploys observed\n${
          r.topRisks.length
            ? `top risks:\n${r.topRisks.map((p) => `  ${p.service} in ${p.namespace}: ${p.errorKind}, confidence ${pct(p.confidence)}, ${p.observations} observation(s), last seen ${ago(p.lastSeen)}`).join('\n')}\n`
            : 'no failure patterns\n'
        }`,
    },
    setExit,
  );
}
