import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../../src/version.js';

const run = promisify(execFile);
const cli = ['--import', 'tsx', 'src/cli/bin.ts'];

async function nopea(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...cli, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cli', () => {
  it('prints the version', async () => {
    const r = await nopea('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('prints help that names the commands', async () => {
    const r = await nopea('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nopea <command>');
  });

  it('exits 2 with a hint when no command is given', async () => {
    const r = await nopea();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nopea --help/);
  });

  it('refuses a single-valued flag given twice, naming it, before anything runs', async () => {
    const r = await nopea('sync', 'app', '-s', 'web', '--timeout', '90s', '--timeout', '30s');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeout was given more than once (90s, 30s); give it once');
    expect(r.stderr).toContain('Nothing was run.');
  });
});
