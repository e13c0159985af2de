/**
 * Running git: the one wrapper nopea runs git through, for the state store and for finding the
 * repository and where a deploy came from (`repository.ts`). Ordinary commands go through simple-git;
 * the plumbing commands that are fed on stdin (`cat-file --batch`, `fast-import`) go through a small
 * spawn-based runner instead, because simple-git's stdin support is fixed per instance, writes
 * nothing (and so never closes stdin) for empty input, returns text where `cat-file --batch` output
 * must be cut by byte counts, and refuses GIT_* variables unless each is allowed.
 *
 * Both paths see the same environment: the caller's, minus the variables simple-git guards (`GIT_*`,
 * EDITOR, PAGER, ...) so that a stray `GIT_DIR` or `GIT_INDEX_FILE` from a hook cannot point nopea at
 * another repository, plus `GIT_TERMINAL_PROMPT=0` so a missing credential fails at once instead of
 * waiting on a prompt nobody will answer in CI. Settings for one runner (the auth header) reach git
 * through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` in that environment, never as
 * `-c` arguments: a process's arguments are readable by every user of the machine
 * (`/proc/<pid>/cmdline`), its environment only by its own user. Every invocation is bounded by a
 * timeout, and every message is scrubbed of the configured secrets and of credentials embedded in URLs.
 */
import { spawn } from 'node:child_process';
import { GitError, GitPluginError, simpleGit, type SimpleGit } from 'simple-git';

/** Upper bound for one git invocation unless the caller sets another. */
export const DEFAULT_GIT_TIMEOUT_MS = 60_000;

/** A git invocation that failed, timed out or could not start; output is already scrubbed. */
export class GitCommandError extends Error {
  constructor(
    /** `git <subcommand>`, for messages. */
    readonly command: string,
    readonly exitCode: number | undefined,
    /** stderr and stdout of the process, scrubbed of secrets. */
    readonly output: string,
    readonly timedOut: boolean,
  ) {
    super(
      timedOut
        ? `${command} timed out`
        : `${command} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}${output ? `: ${output.trim()}` : ''}`,
    );
    this.name = 'GitCommandError';
  }
}

/** One object read by `cat-file --batch`. */
export interface GitObject {
  sha: string;
  type: string;
  content: Buffer;
}

/** One git setting, as `-c key=value` would give it. */
export interface GitSetting {
  key: string;
  value: string;
}

/** How to run git for one repository. */
export interface GitOptions {
  /** Repository top level; every command runs there. */
  cwd: string;
  /** Upper bound for one git invocation (simple-git: without output; spawned plumbing: in total). */
  timeoutMs: number;
  /** Values that must never appear in an error message (auth headers, tokens). */
  secrets?: readonly string[];
  /**
   * Settings for every command, in order (a later value of a multi-valued key such as
   * `http.<url>.extraheader` adds to the earlier ones; an empty value clears them). Passed in the
   * environment, never on the command line.
   */
  config?: readonly GitSetting[];
}

// Kept in step with simple-git's environment guard: passing any of these makes it throw.
const GUARDED_ENV = /^(git_.*|editor|visual|pager|prefix|ssh_askpass)$/i;

function cleanEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !GUARDED_ENV.test(key)) env[key] = value;
  }
  env.GIT_TERMINAL_PROMPT = '0';
  return env;
}

/** The `GIT_CONFIG_*` variables that give git these settings as if each were passed with `-c`. */
function configEnvironment(config: readonly GitSetting[]): Record<string, string> {
  if (config.length === 0) return {};
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(({ key, value }, i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

// Carries the exit code through simple-git, which passes GitError subclasses on unchanged.
class ExitError extends GitError {
  constructor(
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(undefined, output);
  }
}

/**
 * Credentials embedded in URLs (`https://x-access-token:TOKEN@host/...`), wherever they occur in the
 * text: masked as `***@` for a text that is shown (the reader still sees that a credential was there),
 * or removed together with their `@` (`'remove'`) for a URL that is recorded, which then holds no user
 * info at all.
 */
export function redactUrlCredentials(text: string, how: 'mask' | 'remove' = 'mask'): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, how === 'mask' ? '$1***@' : '$1');
}

/** Removes every secret, and any credentials embedded in URLs, from a text before it is shown. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = redactUrlCredentials(text);
  // The credential is usually the last word of a header (`AUTHORIZATION: basic <token>`); scrub it alone too.
  const pieces = secrets.flatMap((s) => [s, s.trim().split(/\s+/).pop() ?? '']).filter((p) => p.length >= 4);
  // Longest first, so a whole header is replaced before its parts.
  for (const piece of pieces.sort((a, b) => b.length - a.length)) {
    out = out.split(piece).join('***');
  }
  return out;
}

/** Runs git in one repository with the store's environment, timeout and secret scrubbing. */
export class Git {
  readonly cwd: string;
  private readonly options: GitOptions;
  private readonly env: Record<string, string>;
  private readonly client: SimpleGit;

  constructor(options: GitOptions) {
    this.options = options;
    this.cwd = options.cwd;
    const config = configEnvironment(options.config ?? []);
    this.env = { ...cleanEnvironment(), ...config };
    this.client = simpleGit({
      baseDir: options.cwd,
      timeout: { block: options.timeoutMs },
      allowEnvironment: ['GIT_TERMINAL_PROMPT', ...Object.keys(config)],
      // simple-git refuses GIT_CONFIG_COUNT by default because an inherited one could smuggle in any
      // setting; here the ambient GIT_* variables are removed, so the only ones are ours, and simple-git
      // still checks the settings they carry as it checks `-c` arguments.
      unsafe: { allowUnsafeConfigEnvCount: Object.keys(config).length > 0 },
      // simple-git only fails a command that wrote to stderr; plumbing such as `rev-parse --verify --quiet`
      // reports through the exit code alone, so every non-zero exit becomes an error here.
      errors: (error, result) => {
        if (error instanceof GitPluginError) return error;
        if (result.exitCode !== 0) {
          const output = Buffer.concat([...result.stdErr, ...result.stdOut]).toString('utf8');
          return new ExitError(result.exitCode, output);
        }
        return error;
      },
    }).env(this.env);
  }

  /** The same repository with extra settings and secrets (for commands that talk to a remote). */
  withConfig(config: readonly GitSetting[], secrets: readonly string[]): Git {
    return new Git({
      ...this.options,
      config: [...(this.options.config ?? []), ...config],
      secrets: [...(this.options.secrets ?? []), ...secrets],
    });
  }

  /** Text with this runner's secrets removed. */
  scrub(text: string): string {
    return scrubSecrets(text, this.options.secrets ?? []);
  }

  /** Runs an ordinary git command through simple-git and returns its stdout. */
  async run(args: readonly string[]): Promise<string> {
    const command = `git ${args[0] ?? ''}`;
    try {
      return await this.client.raw([...args]);
    } catch (err) {
      if (err instanceof ExitError) {
        throw new GitCommandError(command, err.exitCode, this.scrub(err.output), false);
      }
      if (err instanceof GitPluginError && err.plugin === 'timeout') {
        throw new GitCommandError(command, undefined, '', true);
      }
      const message = err instanceof Error ? err.message : String(err);
      throw new GitCommandError(command, undefined, this.scrub(message), false);
    }
  }

  /** Runs a plumbing command that reads stdin and returns its stdout as bytes. */
  pipe(args: readonly string[], input: string | Buffer): Promise<Buffer> {
    const command = `git ${args[0] ?? ''}`;
    return new Promise((resolve, reject) => {
      const child = spawn('git', [...args], {
        cwd: this.cwd,
        env: this.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.options.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      // git may exit before reading all of stdin (e.g. on a bad argument); the exit code reports that.
      child.stdin.on('error', () => undefined);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new GitCommandError(command, undefined, this.scrub(err.message), false));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (timedOut) return reject(new GitCommandError(command, undefined, '', true));
        if (code !== 0) {
          const output = Buffer.concat([...stderr, ...stdout]).toString('utf8');
          return reject(new GitCommandError(command, code ?? undefined, this.scrub(output), false));
        }
        resolve(Buffer.concat(stdout));
      });
      child.stdin.end(input);
    });
  }

  /**
   * Reads many objects with one `cat-file --batch` process. Names are anything `cat-file` accepts
   * (`<sha>`, `<commit>:<path>`); a name that does not resolve yields undefined.
   */
  async readObjects(names: readonly string[]): Promise<(GitObject | undefined)[]> {
    if (names.length === 0) return [];
    for (const n of names) {
      if (/[\r\n]/.test(n)) {
        throw new GitCommandError('git cat-file', undefined, `bad object name ${n}`, false);
      }
    }
    const out = await this.pipe(['cat-file', '--batch'], `${names.join('\n')}\n`);
    return parseBatchOutput(out, names.length);
  }
}

/** Splits `cat-file --batch` output into objects, cutting contents by the byte sizes in the headers. */
export function parseBatchOutput(out: Buffer, count: number): (GitObject | undefined)[] {
  const objects: (GitObject | undefined)[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const eol = out.indexOf(0x0a, pos);
    if (eol < 0) throw new GitCommandError('git cat-file', undefined, 'output ended early', false);
    const header = out.toString('utf8', pos, eol);
    pos = eol + 1;
    if (/ (missing|ambiguous)$/.test(header)) {
      objects.push(undefined);
      continue;
    }
    const match = /^([0-9a-f]{40,64}) ([a-z]+) ([0-9]+)$/.exec(header);
    if (!match) throw new GitCommandError('git cat-file', undefined, `unexpected header ${header}`, false);
    const size = Number(match[3]);
    objects.push({
      sha: match[1] as string,
      type: match[2] as string,
      content: out.subarray(pos, pos + size),
    });
    pos += size + 1;
  }
  return objects;
}
