/**
 * The GitHub Action: reads the inputs (and a workflow_dispatch event's), masks the credentials, runs the
 * same facade as the CLI (`diff` or `sync`), and reports through the runner: folded log groups per stage,
 * step outputs, a job summary, file/line annotations, and the exit status of DESIGN.md. Everything with a
 * side effect is here; the pieces it calls are pure.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { NopeaError, errorJson, errorMessage } from '../errors.js';
import { formatDuration } from '../duration.js';
import { renderText, summaryLine } from '../plan/render.js';
import type { Plan } from '../plan/types.js';
import { diff } from '../surface/diff.js';
import { sync } from '../surface/sync.js';
import { moveRollout, type RolloutRequest } from '../surface/rollout.js';
import type { SyncEvent, SyncResult } from '../surface/sync-types.js';
import { capAnnotations, driftAnnotations, errorAnnotations, type Annotation } from './annotations.js';
import { gitAuthHeader, tokenSecrets } from './auth.js';
import {
  DISPATCHABLE,
  dispatchInputs,
  resolveInputs,
  toSyncOptions,
  type ActionCommand,
  type ActionContext,
  type ActionInputs,
} from './inputs.js';
import { kubeconfigSecrets, writeKubeconfig } from './kubeconfig.js';
import {
  deployed,
  diffOutputs,
  errorOutputs,
  failureMessage,
  moveOutputs,
  syncOutputs,
  type ActionOutputs,
} from './outputs.js';
import { renderSummary, type SummaryInput } from './summary.js';
import { Cancellation } from '../surface/cancellation.js';
import { serviceStatus } from '../surface/outcome.js';
import { ciProvenance } from '../state/repository.js';
import { telemetryOptions } from '../events/telemetry.js';
import { rolloutPosition } from '../progressive/rollout.js';

/** The event payload, or undefined when there is none (a run outside Actions) or it cannot be read. */
async function readEvent(file: string | undefined): Promise<unknown> {
  if (!file) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (err) {
    core.warning(
      `cannot read the event payload ${file}: ${errorMessage(err)}; workflow_dispatch inputs are ignored`,
    );
    return undefined;
  }
}

/** One folded group at a time: opening a group closes the one before (the runner does not nest them). */
class Groups {
  private open = false;
  start(title: string): void {
    this.end();
    core.startGroup(title);
    this.open = true;
  }
  end(): void {
    if (this.open) core.endGroup();
    this.open = false;
  }
}

function annotate(list: Annotation[]): void {
  for (const a of list) {
    const props: core.AnnotationProperties = { title: a.title };
    if (a.file) props.file = a.file;
    if (a.line) props.startLine = a.line;
    if (a.level === 'error') core.error(a.message, props);
    else core.warning(a.message, props);
  }
}

/** Writes the plans as JSON (what `nopea diff --output json` prints) to a file in RUNNER_TEMP. */
async function writePlanFile(plans: Plan[], err: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'nopea-plan-'));
  const file = path.join(dir, 'plan.json');
  const body: Record<string, unknown> = { plans };
  if (err !== undefined) body.error = errorJson(err);
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** How often the health wait logs a line (the first poll always does). */
const HEALTH_LOG_INTERVAL_MS = 10_000;

/** Logs each stage of a sync in its own group: plain lines, as CI logs want them. */
function syncLogger(groups: Groups): (e: SyncEvent) => void {
  let lastHealthLog = Number.NEGATIVE_INFINITY;
  return (e) => {
    switch (e.type) {
      case 'plan':
        groups.start(`${e.service}: plan — ${summaryLine(e.plan)}`);
        core.info(renderText(e.plan, { color: false }));
        break;
      case 'stage':
        groups.start(`${e.service}: ${e.stage}`);
        if (e.stage === 'wait') lastHealthLog = Number.NEGATIVE_INFINITY;
        break;
      case 'rollout': {
        const { view, readyStable, readyCanary } = e.progress;
        core.info(
          `rollout ${rolloutPosition(view, ' ')} (ready ${readyStable}/${readyCanary}${view.atGate ? ', waiting at a gate' : ''})`,
        );
        break;
      }
      case 'strategy':
        core.info(`strategy ${e.choice.name}, chosen by ${e.choice.by}: ${e.choice.reason}`);
        break;
      case 'lock-wait':
        core.info(`waiting for the lock held by ${e.holder} (expires in ${e.expiresInSeconds} s)`);
        break;
      case 'object':
        if (e.result.action !== 'unchanged') {
          const problem = e.result.problem ? `: ${e.result.problem.message}` : '';
          core.info(`  ${e.result.action.padEnd(10)} ${e.result.id}${problem}`);
        }
        break;
      case 'health': {
        const s = e.snapshot;
        if (s.elapsedMs - lastHealthLog < HEALTH_LOG_INTERVAL_MS && s.ready < s.total) break;
        lastHealthLog = s.elapsedMs;
        const pending = s.objects.filter((o) => o.state !== 'ready');
        const first = pending[0];
        const detail = first
          ? ` — ${first.id}: ${first.message}${pending.length > 1 ? ` (+${pending.length - 1} more)` : ''}`
          : '';
        core.info(`${s.ready}/${s.total} ready after ${formatDuration(s.elapsedMs)}${detail}`);
        break;
      }
    }
  };
}

/** What a run covers, for the first log line. */
function describeRun(inputs: ActionInputs, workspace: string): string {
  const parts = [
    inputs.service ? `service ${inputs.service}` : 'services from nopea.yaml',
    inputs.paths.length ? `paths ${inputs.paths.join(', ')}` : '',
    inputs.namespace ? `namespace ${inputs.namespace}` : '',
    `in ${workspace}`,
  ];
  return parts.filter(Boolean).join(', ');
}

function logSyncResult(result: SyncResult): void {
  for (const s of result.services) {
    const where = s.stateCommit ? `, recorded in ${s.stateCommit.slice(0, 12)}` : '';
    const what = deployed(s)
      ? `deploy ${s.deployId}${where}`
      : s.inSync
        ? 'in sync, nothing recorded'
        : 'no deploy';
    core.info(`${s.service}: ${serviceStatus(s)}; ${what} (${formatDuration(s.durationMs)})`);
  }
}

/** Runs the Action once; resolves to the exit code (also set on `process.exitCode`). */
export async function runAction(): Promise<number> {
  const env = process.env;
  const groups = new Groups();
  const cleanups: (() => Promise<void>)[] = [];
  // The runner cancels a job with SIGINT, then SIGTERM: stop new writes, still record the outcome.
  const cancellation = new Cancellation();
  const onSignal = (sig: NodeJS.Signals): void => {
    core.warning(
      cancellation.cancel() === 'stop'
        ? `${sig} received: no new writes start; finishing those in flight and recording the outcome`
        : `${sig} received again: cutting requests in flight short; the outcome is still recorded`,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let command: ActionCommand = 'sync';
  let plans: Plan[] = [];
  let result: { outputs: ActionOutputs; exitCode: number };
  let summary: SummaryInput;
  let failure: unknown;
  const annotations: Annotation[] = [];
  try {
    // Credentials are masked before anything else can print them.
    const token = core.getInput('token');
    if (token) for (const s of tokenSecrets(token)) core.setSecret(s);
    const kubeconfigText = core.getInput('kubeconfig', { trimWhitespace: false });
    for (const s of kubeconfigSecrets(kubeconfigText)) core.setSecret(s);

    const dispatched = dispatchInputs(env.GITHUB_EVENT_NAME, await readEvent(env.GITHUB_EVENT_PATH));
    const inputs = resolveInputs(
      (name) => (name === 'kubeconfig' ? kubeconfigText : core.getInput(name)),
      dispatched,
    );
    command = inputs.command;
    const fromEvent = DISPATCHABLE.filter((n) => inputs.sources[n] === 'workflow_dispatch');
    if (fromEvent.length) core.info(`From the workflow_dispatch inputs: ${fromEvent.join(', ')}`);

    const workspace = path.resolve(env.GITHUB_WORKSPACE || process.cwd());
    const ctx: ActionContext = {
      workspace,
      signal: cancellation.signal,
      hurry: cancellation.hurry,
      provenance: ciProvenance(env),
    };
    // Where events and metrics go: NOPEA_EVENTS_URL and NOPEA_PUSHGATEWAY_URL of the job's environment.
    const telemetry = telemetryOptions({}, env);
    if (inputs.token) ctx.gitAuthHeader = gitAuthHeader(inputs.token);
    if (inputs.kubeconfig && !(inputs.command === 'diff' && inputs.offline)) {
      const written = await writeKubeconfig(inputs.kubeconfig);
      cleanups.push(written.cleanup);
      ctx.kubeconfigPath = written.path;
    }

    if (inputs.command === 'diff') {
      core.info(`nopea diff${inputs.offline ? ' --offline' : ''}: ${describeRun(inputs, workspace)}`);
      const diffed = await diff(toSyncOptions(inputs, ctx));
      plans = diffed.plans;
      for (const plan of plans) {
        groups.start(`${plan.service}: plan — ${summaryLine(plan)}`);
        core.info(renderText(plan, { color: false }));
      }
      groups.end();
      result = diffOutputs(diffed);
      summary = { command, status: result.outputs.status, plans };
    } else if (inputs.command === 'promote' || inputs.command === 'rollback') {
      core.info(
        `nopea ${inputs.command}${inputs.deployId ? ` ${inputs.deployId}` : ''}: ${describeRun(inputs, workspace)}`,
      );
      const req: RolloutRequest = {
        ...telemetry,
        cwd: workspace,
        wait: inputs.wait,
        full: inputs.full,
        signal: cancellation.signal,
      };
      if (inputs.deployId) req.deployId = inputs.deployId;
      if (inputs.service) req.service = inputs.service;
      if (inputs.stateBranch) req.stateBranch = inputs.stateBranch;
      if (ctx.gitAuthHeader) req.gitAuthHeader = ctx.gitAuthHeader;
      if (ctx.kubeconfigPath) req.kubeconfig = ctx.kubeconfigPath;
      if (inputs.context) req.context = inputs.context;
      if (inputs.timeoutMs !== undefined) req.timeoutMs = inputs.timeoutMs;
      if (inputs.requestTimeoutMs !== undefined) req.requestTimeoutMs = inputs.requestTimeoutMs;
      req.onProgress = (service, p) =>
        core.info(
          `${service}: rollout ${rolloutPosition(p.view, ' ')}${p.view.atGate ? ', waiting at a gate' : ''}`,
        );
      const moved = await moveRollout(inputs.command, req);
      result = moveOutputs(moved);
      core.info(
        `${moved.service}: ${inputs.command} of deploy ${moved.deployId}: ${result.outputs.status}${moved.monitoredBy === 'the deploy run' ? ' (the deploy run monitoring it goes on)' : ''}`,
      );
      summary = { command, status: result.outputs.status, move: moved };
      if (moved.error) {
        annotations.push(...errorAnnotations(moved.error));
        failure = moved.error;
      }
    } else {
      core.info(`nopea sync${inputs.dryRun ? ' --dry-run' : ''}: ${describeRun(inputs, workspace)}`);
      ctx.onEvent = syncLogger(groups);
      const synced = await sync({ ...toSyncOptions(inputs, ctx), ...telemetry });
      groups.end();
      plans = synced.services.flatMap((s) => (s.plan ? [s.plan] : []));
      logSyncResult(synced);
      result = syncOutputs(synced);
      summary = { command, status: result.outputs.status, services: synced.services, wait: inputs.wait };
      for (const s of synced.services) if (s.error) annotations.push(...errorAnnotations(s.error, plans));
      failure = synced.services.find((s) => s.error)?.error;
    }
    annotations.push(...driftAnnotations(plans));
  } catch (err) {
    groups.end();
    failure = err;
    result = errorOutputs(err);
    const error =
      err instanceof NopeaError ? err : new NopeaError('internal', errorMessage(err), { cause: err });
    if (!(err instanceof NopeaError) && err instanceof Error && err.stack) core.debug(err.stack);
    annotations.push(...errorAnnotations(error, plans));
    summary = { command, status: result.outputs.status, error };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const cleanup of cleanups) {
      await cleanup().catch((err: unknown) => core.warning(`cleanup failed: ${errorMessage(err)}`));
    }
  }

  // The runner shows only a few annotations per step: the step's list is capped once, with a count.
  annotate(capAnnotations(annotations));
  // Reporting must not hide the run's outcome: each part fails on its own as a warning.
  try {
    for (const [name, value] of Object.entries(result.outputs)) core.setOutput(name, value);
    core.setOutput('plan', await writePlanFile(plans, failure));
  } catch (err) {
    core.warning(`cannot set the step outputs: ${errorMessage(err)}`);
  }
  if (env.GITHUB_STEP_SUMMARY) {
    try {
      const workflow = env.GITHUB_WORKFLOW_REF?.split('@')[0]?.split('/').pop();
      await core.summary.addRaw(renderSummary(workflow ? { ...summary, workflow } : summary), true).write();
    } catch (err) {
      core.warning(`cannot write the job summary: ${errorMessage(err)}`);
    }
  }
  if (result.exitCode !== 0) {
    // setFailed sets exit code 1; DESIGN.md's 2 (nothing changed) is restored right after.
    core.setFailed(failureMessage(command, result.outputs.status, failure));
  }
  process.exitCode = result.exitCode;
  return result.exitCode;
}
