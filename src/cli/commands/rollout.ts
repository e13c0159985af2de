/**
 * `nopea promote [DEPLOY_ID]` and `nopea rollback [DEPLOY_ID]`: move a progressive rollout that waits
 * at a gate, from a later run. Exit 0 when the move is done (and, for promote, the rollout completed
 * or was handed to the run monitoring it), 4 when it waits at the next gate, 1 when it failed and was
 * rolled back, 2 for a wrong, unknown or finished deploy id (surface/outcome.ts says so once).
 */
import type { Argv } from 'yargs';
import { parseDuration } from '../../duration.js';
import { Cancellation } from '../../surface/cancellation.js';
import { exitCodeOf, moveStatus } from '../../surface/outcome.js';
import { moveJson } from '../../surface/api.js';
import { moveRollout, type RolloutRequest, type RolloutResult } from '../../surface/rollout.js';
import { printProblems, reportError } from '../output.js';
import {
  clusterOptionsFrom,
  stateOptionsFrom,
  telemetryOptionsFrom,
  withClusterOptions,
  withStateOptions,
  withTelemetryOptions,
  type ClusterArgs,
} from '../options.js';
import { rolloutPosition } from '../../progressive/rollout.js';

interface RolloutArgs extends ClusterArgs {
  deployId?: string;
  service?: string;
  full?: boolean;
  timeout: string;
  wait: boolean;
  lockTimeout: string;
  output: 'text' | 'json';
  stateBranch?: string;
  stateRemote?: string;
  eventsUrl?: string;
  pushgatewayUrl?: string;
}

function text(r: RolloutResult): string {
  const where = r.rollout ? ` (${rolloutPosition(r.rollout)})` : '';
  if (r.monitoredBy === 'the deploy run')
    return `${r.action === 'promote' ? 'Promoted' : 'Rolling back'} ${r.service} deploy ${r.deployId}${where}: the run monitoring it goes on and records the outcome\n`;
  const what: Record<RolloutResult['outcome'], string> = {
    succeeded: 'completed',
    paused: 'waiting at the next gate',
    'rolled-back': 'rolled back',
    failed: 'failed',
    'handed-over': 'handed over',
  };
  return `${r.action === 'promote' ? 'Promote' : 'Rollback'} of ${r.service} deploy ${r.deployId}: ${what[r.outcome]}${where}${r.stateCommit ? `, recorded in ${r.stateCommit.slice(0, 12)}` : ''}\n`;
}

export function rolloutCommand(action: 'promote' | 'rollback', setExit: (code: number) => void) {
  return {
    command: `${action} [deploy-id]`,
    describe:
      action === 'promote'
        ? 'pass the gate a progressive rollout waits at (--full: every gate)'
        : 'roll a progressive rollout back to its stable template',
    builder: (y: Argv) => {
      const base = withClusterOptions(withTelemetryOptions(withStateOptions(y)))
        .positional('deploy-id', {
          type: 'string',
          describe: "the deploy (default: the service's current one)",
        })
        .option('service', { requiresArg: true, alias: 's', type: 'string', describe: 'service name' })
        .option('timeout', {
          requiresArg: true,
          type: 'string',
          default: '5m',
          describe: 'bound on monitoring after the move',
        })
        .option('wait', {
          type: 'boolean',
          default: true,
          describe: 'monitor to the next gate or the end (--no-wait: just move)',
        })
        .option('lock-timeout', {
          requiresArg: true,
          type: 'string',
          default: '5m',
          describe: 'how long to wait for another run of the service',
        });
      return action === 'promote'
        ? base.option('full', {
            type: 'boolean',
            default: false,
            describe: 'go to 100% at once, past every remaining gate',
          })
        : base;
    },
    handler: async (argv: RolloutArgs) => {
      const cancellation = new Cancellation();
      const onSignal = (): void => void cancellation.cancel();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const req: RolloutRequest = {
          ...stateOptionsFrom(argv),
          ...telemetryOptionsFrom(argv),
          ...clusterOptionsFrom(argv),
          timeoutMs: parseDuration(argv.timeout, '--timeout'),
          lockTimeoutMs: parseDuration(argv.lockTimeout, '--lock-timeout'),
          wait: argv.wait,
          signal: cancellation.signal,
          onProgress: (service, p) =>
            process.stderr.write(
              `${service}: rollout ${rolloutPosition(p.view, ' ')}${p.view.atGate ? ', waiting at a gate' : ''}\n`,
            ),
        };
        if (argv.deployId) req.deployId = argv.deployId;
        if (argv.service) req.service = argv.service;
        if (argv.full) req.full = true;
        const result = await moveRollout(action, req);
        process.stdout.write(
          argv.output === 'json' ? `${JSON.stringify(moveJson(result), null, 2)}\n` : text(result),
        );
        for (const w of result.warnings ?? []) process.stderr.write(`warning: ${result.service}: ${w}\n`);
        if (result.error) printProblems(result.error);
        setExit(exitCodeOf(moveStatus(result)));
      } catch (err) {
        setExit(reportError(err, argv.output));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  };
}
