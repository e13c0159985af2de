/**
 * Runs the bundled Action the way the GitHub runner does: `node <action>/dist/action.js` in the
 * workspace, a fresh environment with `INPUT_*` (declared defaults applied), the file commands
 * (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, `GITHUB_STATE`, `GITHUB_ENV`, `GITHUB_PATH`), the event
 * payload at `GITHUB_EVENT_PATH`, and `RUNNER_TEMP`. The action directory is a copy of action.yml,
 * package.json and dist/action.js outside the repository, so the bundle cannot lean on node_modules.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Parsed GITHUB_OUTPUT. */
  outputs: Record<string, string>;
  /** GITHUB_STEP_SUMMARY's content. */
  summary: string;
  /** What RUNNER_TEMP holds afterwards. */
  tempEntries: string[];
}

export interface RunSpec {
  workspace: string;
  /** Step inputs (`with:`), by their action.yml names. */
  inputs?: Record<string, string>;
  event?: { name: string; payload: unknown };
  /** Extra environment (e.g. KUBECONFIG); the runner's own variables win over nothing else. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Called with all of stdout so far each time more arrives, and the child (to signal it as a runner would). */
  onStdout?: (soFar: string, child: import('node:child_process').ChildProcess) => void;
}

/** A runner: its temp folders and the installed action; `cleanup` removes them. */
export interface FakeRunner {
  run(spec: RunSpec): Promise<ActionRun>;
  cleanup(): Promise<void>;
}

/** Parses the GITHUB_OUTPUT file (`name<<delimiter` blocks, or `name=value` lines). */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** Input defaults from action.yml, except those that are expressions the runner would evaluate. */
async function declaredDefaults(): Promise<Record<string, string>> {
  const action = parse(await readFile(path.join(repoRoot, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
  };
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) {
    if (spec.default !== undefined && !String(spec.default).includes('${{')) out[name] = String(spec.default);
  }
  return out;
}

/** Installs the action (action.yml + dist/action.js) in a temp runner directory. */
export async function fakeRunner(opts: { token: string }): Promise<FakeRunner> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'nopea-runner-'));
  const actionDir = path.join(root, '_actions', 'nopea');
  await mkdir(path.join(actionDir, 'dist'), { recursive: true });
  await copyFile(path.join(repoRoot, 'action.yml'), path.join(actionDir, 'action.yml'));
  // The runner fetches the whole repository: its package.json ("type": "module") makes the bundle ESM.
  await copyFile(path.join(repoRoot, 'package.json'), path.join(actionDir, 'package.json'));
  await copyFile(path.join(repoRoot, 'dist', 'action.js'), path.join(actionDir, 'dist', 'action.js'));
  const defaults = await declaredDefaults();
  let runs = 0;

  async function run(spec: RunSpec): Promise<ActionRun> {
    const dir = path.join(root, `run-${++runs}`);
    const temp = path.join(dir, '_temp');
    const home = path.join(dir, 'home');
    await mkdir(temp, { recursive: true });
    await mkdir(home, { recursive: true });
    const files = {
      GITHUB_OUTPUT: path.join(dir, 'output'),
      GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md'),
      GITHUB_STATE: path.join(dir, 'state'),
      GITHUB_ENV: path.join(dir, 'env'),
      GITHUB_PATH: path.join(dir, 'path'),
    };
    for (const f of Object.values(files)) await writeFile(f, '');
    const event = spec.event ?? { name: 'push', payload: { ref: 'refs/heads/main' } };
    const eventPath = path.join(dir, 'event.json');
    await writeFile(eventPath, JSON.stringify(event.payload));

    const inputs: Record<string, string> = { ...defaults, token: opts.token, ...spec.inputs };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      LANG: 'C.UTF-8',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: spec.workspace,
      GITHUB_EVENT_NAME: event.name,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: 'example/shop',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ID: '4242',
      GITHUB_ACTOR: 'octocat',
      GITHUB_ACTION_PATH: actionDir,
      RUNNER_TEMP: temp,
      RUNNER_OS: 'Linux',
      ...files,
      ...spec.env,
    };
    for (const [name, value] of Object.entries(inputs))
      env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;

    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(actionDir, 'dist', 'action.js')], {
        cwd: spec.workspace,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        spec.onStdout?.(stdout, child);
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs ?? 150_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });
    return {
      ...result,
      outputs: parseOutputFile(await readFile(files.GITHUB_OUTPUT, 'utf8')),
      summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
      tempEntries: await readdir(temp),
    };
  }

  return { run, cleanup: () => rm(root, { recursive: true, force: true }) };
}
