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

/** Runs a command, timing it from outside; with /usr/bin/time it also reports peak memory. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; memory?: boolean },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const useTime = Boolean(opts.memory && hasTime);
    const rssFile = useTime ? path.join(os.tmpdir(), `nopea-bench-rss-${process.pid}-${Date.now()}`) : '';
    const argv = useTime ? ['-f', '%M', '-o', rssFile, cmd, ...args] : args;
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
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - start;
      const result: Run = { ms, code: code ?? 1, stdout, stderr };
      if (useTime && fs.existsSync(rssFile)) {
        result.maxRssMb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
        fs.rmSync(rssFile, { force: true });
      }
      resolve(result);
    });
  });
}

export function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.stderr.slice(-3000)}`);
  return r;
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
