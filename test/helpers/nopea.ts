/**
 * Runs the nopea CLI as a user would: a child process with its own environment and working
 * directory. Never throws on a non-zero exit; tests assert on the code and output.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tsx = path.join(root, 'node_modules/tsx/dist/esm/index.mjs');
const bin = path.join(root, 'src/cli/bin.ts');

/** Node's arguments that run nopea from source, before nopea's own (for clients that spawn it themselves). */
export const NOPEA_FROM_SOURCE: readonly string[] = ['--import', tsx, bin];

export interface NopeaRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NopeaRunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process after this long (default 120 s) so a hung run fails the test instead of CI. */
  timeoutMs?: number;
  /** Called with the child once it started (to send signals). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  /** Called with all of stderr so far each time more arrives (to act when a stage begins). */
  onStderr?: (soFar: string) => void;
}

/** Runs `nopea <args>` from source (through tsx) in `cwd`. */
export function runNopea(args: string[], opts: NopeaRunOptions): Promise<NopeaRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, bin, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}
