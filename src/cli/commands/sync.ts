/**
 * `nopea sync`: plan, guard, apply, prune, wait, record. Plan first, then progress, then a summary.
 */
import type { Argv } from 'yargs';
import { parsePruneLimit, PROTECTED_KINDS } from '../../apply/guard.js';
import { PROPAGATION_POLICIES } from '../../cluster/objects.js';
import { renderText } from '../../plan/render.js';
import { Cancellation } from '../../surface/cancellation.js';
import { serviceStatus, syncExitCode, refusedBeforeAnyWrite } from '../../surface/outcome.js';
import { syncJson } from '../../surface/api.js';
import { sync } from '../../surface/sync.js';
import { STRATEGY_REQUESTS, type StrategyRequest } from '../../strategy/names.js';
import { CANARY_STEPS_EXAMPLE, parseCanarySteps } from '../../strategy/steps.js';
import type { ServiceSyncResult, SyncOptions } from '../../surface/sync-types.js';
import { formatDuration, parseDuration } from '../../duration.js';
import { printProblems, reportError, startupTime, useColor, useLiveProgress } from '../output.js';
import { runOptionsFrom, telemetryOptionsFrom, withRunOptions, withTelemetryOptions } from '../options.js';
import { progressPrinter } from '../progress.js';
import { rolloutPosition } from '../../progressive/rollout.js';

/** How to go on with a rollout that waits at a gate: the exact promote and rollback commands. */
export function nextSteps(s: ServiceSyncResult): string {
  const where = s.rollout
    ? ` (Rollout ${s.rollout.namespace}/${s.rollout.name}, ${rolloutPosition(s.rollout)})`
    : '';
  return [
    `${s.service}: the rollout of deploy ${s.deployId} waits for a promote${where}.`,
    `  promote one step:  nopea promote ${s.deployId} -s ${s.service}`,
    `  promote fully:     nopea promote ${s.deployId} -s ${s.service} --full`,
    `  roll back:         nopea rollback ${s.deployId} -s ${s.service}`,
    `  in GitHub Actions: run the workflow with command=promote (or rollback) and deploy-id=${s.deployId}`,
    '',
  ].join('\n');
}

/** The one-line result of a service's sync. */
export function summary(s: ServiceSyncResult): string {
  const count = (a: string): number => s.objects.filter((o) => o.action === a).length;
  const unchanged = s.plan?.counts.unchanged ?? 0;
  const parts = [
    `${count('created')} created`,
    `${count('configured')} configured`,
    `${count('pruned')} pruned`,
    `${unchanged} unchanged`,
  ];
  if (count('failed')) parts.push(`${count('failed')} failed`);
  if (count('skipped')) parts.push(`${count('skipped')} skipped`);
  const health = s.health
    ? s.health.ok
      ? 'healthy'
      : s.health.timedOut
        ? 'not healthy (timed out)'
        : 'unhealthy'
    : 'health not checked';
  const kept = s.kept.length
    ? `; kept ${s.kept.length} (${[...new Set(s.kept.map((k) => k.reason))].join('; ')})`
    : '';
  const where = s.stateCommit ? `, recorded in ${s.stateCommit.slice(0, 12)}` : '';
  const VERBS: Record<ServiceSyncResult['outcome'], string> = {
    'dry-run': 'Dry run of',
    succeeded: 'Synced',
    cancelled: 'Cancelled',
    failed: 'FAILED',
    'rolled-back': 'ROLLED BACK',
    paused: 'Waiting at a gate',
  };
  const verb = VERBS[s.outcome];
  if (s.outcome === 'dry-run')
    return `${verb} ${s.service}: nothing written${kept} (${formatDuration(s.durationMs)})`;
  if (s.inSync && s.outcome === 'succeeded')
    return `In sync ${s.service}: ${unchanged} unchanged, nothing to apply${kept}; ${health}; nothing new to record (${formatDuration(s.durationMs)})`;
  // Stopped before the first write (guard, dry-run, lock, permissions): no deploy was recorded.
  if (!s.stateCommit && s.objects.length === 0) {
    const status = serviceStatus(s);
    const stopped =
      status === 'cancelled' ? 'Cancelled' : refusedBeforeAnyWrite(status) ? 'Refused' : 'FAILED';
    return `${stopped} ${s.service}: nothing was changed, no deploy recorded (${formatDuration(s.durationMs)})`;
  }
  return `${verb} ${s.service}: ${parts.join(', ')}${kept}; ${health}; deploy ${s.deployId}${where} (${formatDuration(s.durationMs)})`;
}

/** Registers the command; `setExit` receives its exit code. */
export function syncCommand(setExit: (code: number) => void) {
  return {
    command: 'sync [paths..]',
    describe: 'apply the manifests with server-side apply, prune, wait for health and record the deploy',
    builder: (y: Argv) =>
      withTelemetryOptions(withRunOptions(y))
        .option('dry-run', {
          type: 'boolean',
          default: false,
          describe: 'plan with server dry-run; write nothing to cluster or branch',
        })
        .option('prune', {
          type: 'boolean',
          describe: 'delete objects nopea applied before that are no longer in git (default: on)',
        })
        .option('canary-steps', {
          requiresArg: true,
          type: 'string',
          describe: `canary steps as weight[:pause], pause a duration or gate (e.g. ${CANARY_STEPS_EXAMPLE})`,
        })
        .option('strategy', {
          requiresArg: true,
          choices: STRATEGY_REQUESTS,
          describe:
            'auto (default: memory advises), direct, canary or blue-green; an explicit one always wins',
        })
        .option('wait', {
          type: 'boolean',
          default: true,
          describe: 'wait for health after applying (--no-wait skips it)',
        })
        .option('timeout', {
          requiresArg: true,
          type: 'string',
          default: '5m',
          describe: 'bound on the health wait, e.g. 90s, 5m',
        })
        .option('force-conflicts', {
          type: 'boolean',
          default: false,
          describe: 'take over fields other field managers own',
        })
        .option('max-prune', {
          requiresArg: true,
          type: 'string',
          default: '10',
          describe: 'most objects one sync may delete: a count or a percentage (25%)',
        })
        .option('allow-prune-kind', {
          requiresArg: true,
          type: 'string',
          array: true,
          choices: PROTECTED_KINDS,
          default: [] as string[],
          describe:
            'allow pruning a protected kind (Namespace, CustomResourceDefinition, PersistentVolumeClaim)',
        })
        .option('recreate-on-immutable', {
          type: 'boolean',
          default: false,
          describe: 'delete and re-create objects whose immutable fields change',
        })
        .option('prune-propagation', {
          requiresArg: true,
          choices: Object.keys(PROPAGATION_POLICIES) as (keyof typeof PROPAGATION_POLICIES)[],
          default: 'background' as const,
          describe: 'deletion propagation for pruned objects',
        })
        .option('lock-namespace', {
          requiresArg: true,
          type: 'string',
          describe: 'namespace of the per-service Lease (default: the service namespace)',
        })
        .option('lock-timeout', {
          requiresArg: true,
          type: 'string',
          default: '5m',
          describe: 'how long to wait for another run of the same service',
        }),
    handler: async (
      argv: Awaited<ReturnType<typeof withRunOptions>['argv']> & {
        dryRun: boolean;
        strategy?: StrategyRequest;
        canarySteps?: string;
        prune?: boolean;
        wait: boolean;
        timeout: string;
        forceConflicts: boolean;
        maxPrune: string;
        allowPruneKind: string[];
        recreateOnImmutable: boolean;
        prunePropagation: keyof typeof PROPAGATION_POLICIES;
        lockNamespace?: string;
        lockTimeout: string;
        eventsUrl?: string;
        pushgatewayUrl?: string;
      },
    ) => {
      const startupMs = startupTime();
      // CI runners cancel with SIGINT, then SIGTERM moments later: neither may cost the record.
      const cancellation = new Cancellation();
      const onSignal = (sig: NodeJS.Signals): void => {
        const step = cancellation.cancel();
        process.stderr.write(
          step === 'stop'
            ? `\nnopea: ${sig} received: no new writes start; finishing those in flight, then recording the outcome and releasing the lock\n`
            : `\nnopea: ${sig} received again: cutting requests in flight short; the outcome is still recorded\n`,
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const color = useColor(process.stderr);
      const progress = progressPrinter({
        stream: process.stderr,
        live: useLiveProgress(process.stderr),
        color,
      });
      try {
        const opts: SyncOptions = {
          ...runOptionsFrom(argv),
          ...telemetryOptionsFrom(argv),
          dryRun: argv.dryRun,
          wait: argv.wait,
          timeoutMs: parseDuration(argv.timeout, '--timeout'),
          forceConflicts: argv.forceConflicts,
          maxPrune: parsePruneLimit(argv.maxPrune),
          allowPruneKinds: argv.allowPruneKind,
          recreateOnImmutable: argv.recreateOnImmutable,
          propagationPolicy: PROPAGATION_POLICIES[argv.prunePropagation],
          lockTimeoutMs: parseDuration(argv.lockTimeout, '--lock-timeout'),
          signal: cancellation.signal,
          hurry: cancellation.hurry,
          onEvent: (e) => {
            if (e.type === 'plan' && argv.output === 'text') {
              progress.done();
              process.stdout.write(renderText(e.plan, { color: useColor(process.stdout) }));
            }
            progress.onEvent(e);
          },
        };
        if (argv.prune !== undefined) opts.prune = argv.prune;
        if (argv.strategy) opts.strategy = argv.strategy;
        if (argv.canarySteps) opts.canarySteps = parseCanarySteps(argv.canarySteps);
        if (argv.lockNamespace) opts.lockNamespace = argv.lockNamespace;
        const result = await sync(opts);
        progress.done();
        if (argv.output === 'json') {
          process.stdout.write(`${JSON.stringify({ ...syncJson(result), startupMs }, null, 2)}\n`);
        } else {
          for (const s of result.services) {
            process.stdout.write(`\n${summary(s)}\n`);
          }
        }
        for (const s of result.services) {
          for (const w of s.warnings ?? []) process.stderr.write(`warning: ${s.service}: ${w}\n`);
          if (s.outcome === 'paused') process.stderr.write(nextSteps(s));
          if (s.error) printProblems(s.error);
        }
        setExit(syncExitCode(result));
      } catch (err) {
        progress.done();
        setExit(reportError(err, argv.output));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  };
}
