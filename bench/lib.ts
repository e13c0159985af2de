/**
 * What the benchmark's parts share: running a command timed from outside (with its peak memory), the
 * result rows and targets every part adds to, git repositories like a CI checkout, request counts.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeManifests } from './generate.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cli = path.join(root, 'dist/cli.js');

export interface Run {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  maxRssMb?: number;
  /** CPU time of the command (user + system), ms; measured with the peak memory. */
  cpuMs?: number;
}

export interface Target {
  name: string;
  value: string;
  target: string;
  ok: boolean;
}

export const targets: Target[] = [];
export const rows: [string, string][] = [];

export function record(name: string, value: string): void {
  rows.push([name, value]);
  console.log(`  ${name}: ${value}`);
}

export function check(name: string, value: number, limit: number, unit: string, digits = 2): void {
  const ok = value <= limit;
  targets.push({ name, value: `${value.toFixed(digits)}${unit}`, target: `≤ ${limit}${unit}`, ok });
}

export const hasTime = fs.existsSync('/usr/bin/time');

/** Runs a command, timing it from outside; with /usr/bin/time it also reports peak memory and CPU time. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; memory?: boolean; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const useTime = Boolean(opts.memory && hasTime);
    const rssFile = useTime ? path.join(os.tmpdir(), `nopea-bench-rss-${process.pid}-${Date.now()}`) : '';
    const argv = useTime ? ['-f', '%M %U %S', '-o', rssFile, cmd, ...args] : args;
    const start = performance.now();
    const child = spawn(useTime ? '/usr/bin/time' : cmd, argv, {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - start;
      const result: Run = { ms, code: code ?? 1, stdout, stderr };
      if (useTime && fs.existsSync(rssFile)) {
        // The last line: a killed command's has a line about the signal before it.
        const [kib, user, system] = fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ');
        result.maxRssMb = Number(kib) / 1024;
        result.cpuMs = Math.round((Number(user) + Number(system)) * 1000);
        fs.rmSync(rssFile, { force: true });
      }
      resolve(result);
    });
  });
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) the processes have used so far, ms, from /proc (0 for one that is gone). */
export function cpuOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command name in parentheses: utime and stime are the 12th and 13th.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone, or not Linux
    }
  }
  return Math.round((ticks * 1000) / clockTicks);
}

export function must<T extends Run>(r: T, what: string): T {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.stderr.slice(-3000)}`);
  return r;
}

/**
 * Deletes a section's namespaces and waits until they are gone (bounded at 120 s), so the next
 * measurement does not run beside the namespace controller's clean-up of thousands of objects (it
 * keeps both cores busy for many seconds). Returns a line saying how long it took.
 */
export async function deleteNamespaces(
  kubectl: string,
  names: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  const started = performance.now();
  const deleted = await run(kubectl, ['delete', 'namespace', ...names, '--ignore-not-found', '--timeout=120s'], opts); // prettier-ignore
  const s = ((performance.now() - started) / 1000).toFixed(0);
  return `namespaces deleted in ${s} s${deleted.code === 0 ? '' : ` (not all: ${deleted.stderr.trim()})`}`;
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

/** A repository with the manifests committed and a bare remote, like a CI checkout. */
export function makeRepo(dir: string, files: Map<string, string>): string {
  const remote = path.join(dir, 'remote.git');
  const work = path.join(dir, 'work');
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '--bare', remote);
  git(dir, 'clone', '-q', remote, work);
  writeManifests(work, files);
  git(work, 'add', '.');
  git(work, '-c', 'user.name=bench', '-c', 'user.email=bench@nopea.local', 'commit', '-qm', 'manifests');
  git(work, 'push', '-q', 'origin', 'HEAD:main');
  return work;
}

/** nopea's own request accounting from its `-o json` output. */
export function requestsOf(r: Run): Record<string, number> {
  const parsed = JSON.parse(r.stdout) as { requests?: Record<string, number> };
  return parsed.requests ?? {};
}

/** One stage of a run and how long it took, as nopea's `-o json` `stages` list them. */
export interface StageTiming {
  name: string;
  ms: number;
}

/** Where one nopea run's wall time went, from its `-o json` `startupMs` and `stages`. */
export interface StageBreakdown {
  wallMs: number;
  /** Process start to the command running (Node, module loading, argument parsing). */
  startupMs: number;
  /** The run's own stages before any service (state, discovery, ...), in order. */
  run: StageTiming[];
  /** The service's stages (plan, lock, apply, wait, record, ...), in order; a name can repeat. */
  service: StageTiming[];
  /** Wall time in no stage: output, exit, and what the stages do not cover. */
  otherMs: number;
}

/** The stage breakdown of a `nopea sync|diff -o json` run (every service's stages, in order). */
export function stagesOf(r: Run): StageBreakdown {
  const parsed = JSON.parse(r.stdout) as {
    startupMs?: number;
    stages?: StageTiming[];
    services?: { stages?: StageTiming[] }[];
  };
  const startupMs = parsed.startupMs ?? 0;
  const runStages = parsed.stages ?? [];
  const service = (parsed.services ?? []).flatMap((s) => s.stages ?? []);
  const staged = [...runStages, ...service].reduce((n, s) => n + s.ms, 0);
  const wallMs = Math.round(r.ms);
  return { wallMs, startupMs, run: runStages, service, otherMs: wallMs - startupMs - staged };
}

/** Milliseconds per stage name, summed over its repeats, in first-seen order. */
export function stageTotals(stages: StageTiming[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const s of stages) totals[s.name] = (totals[s.name] ?? 0) + s.ms;
  return totals;
}

/**
 * `startup 540, run [state 210, discovery 26], service [plan 257+75, apply 126, ...], other 276 (ms)`:
 * a name's repeats joined with +, stages of 0 ms left out.
 */
export function formatBreakdown(b: StageBreakdown): string {
  const list = (stages: StageTiming[]): string => {
    const byName = new Map<string, number[]>();
    for (const s of stages) if (s.ms > 0) byName.set(s.name, [...(byName.get(s.name) ?? []), s.ms]);
    return [...byName].map(([name, ms]) => `${name} ${ms.join('+')}`).join(', ') || '-';
  };
  const service = b.service.length > 0 ? `, service [${list(b.service)}]` : '';
  return `startup ${b.startupMs}, run [${list(b.run)}]${service}, other ${b.otherMs} (ms)`;
}

/** kubectl's own request count, from its `-v=6` request log lines. */
export function kubectlRequests(stderr: string): { total: number; writes: number } {
  const lines = stderr
    .split('\n')
    .filter((l) => /"Response" verb="\w+"|\b(GET|PATCH|POST|PUT|DELETE) https?:\/\//.test(l));
  const writes = lines.filter((l) =>
    /verb="(PATCH|POST|PUT|DELETE)"|\b(PATCH|POST|PUT|DELETE) https?:\/\//.test(l),
  ).length;
  return { total: lines.length, writes };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rounded to three decimals, for the JSON results. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
