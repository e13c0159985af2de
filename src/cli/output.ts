/**
 * How the CLI talks: results on stdout (text or JSON), progress and errors on stderr; colour only
 * on a TTY and never with NO_COLOR.
 */
import { styleText } from 'node:util';
import { NopeaError, errorJson, errorMessage, formatProblem } from '../errors.js';
import { errorExitCode } from '../surface/outcome.js';

export type OutputFormat = 'text' | 'json';

/**
 * Whether a stream should get ANSI colour: never with NO_COLOR (any non-empty value, no-color.org),
 * always with FORCE_COLOR (except `0`/`false`), never on a `dumb` terminal, else only on a TTY, so logs
 * and pipes stay plain.
 */
export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.TERM === 'dumb') return false;
  return Boolean(stream.isTTY);
}

/**
 * Whether progress may rewrite a live line: only on a TTY that is not a CI log (some CI runners give
 * jobs a pseudo-terminal, whose log would fill with carriage returns). Otherwise progress is plain
 * periodic lines.
 */
export function useLiveProgress(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI !== 'false';
  return Boolean(stream.isTTY) && !ci && env.TERM !== 'dumb';
}

/** Most problems printed one per line; the rest are counted (a file of 100,000 bad documents). */
export const PROBLEMS_SHOWN = 50;

/** Writes an error's problems to stderr, `file:line: message`, at most PROBLEMS_SHOWN of them. */
export function printProblems(err: NopeaError, stream: NodeJS.WriteStream = process.stderr): void {
  const label = useColor(stream) ? styleText('red', 'error:', { validateStream: false }) : 'error:';
  for (const p of err.problems.slice(0, PROBLEMS_SHOWN)) stream.write(`${label} ${formatProblem(p)}\n`);
  const more = err.problems.length - PROBLEMS_SHOWN;
  if (more > 0)
    stream.write(`${label} and ${more.toLocaleString('en-US')} more problems (-o json lists them all)\n`);
}

/** Writes a failure to stderr (and, for JSON output, as a JSON object on stdout); returns the exit code. */
export function reportError(err: unknown, format: OutputFormat): number {
  const color = useColor(process.stderr);
  const label = color ? styleText('red', 'error:') : 'error:';
  if (err instanceof NopeaError) {
    printProblems(err);
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ error: errorJson(err) }, null, 2)}\n`);
    }
    return errorExitCode(err);
  }
  process.stderr.write(`${label} internal error: ${errorMessage(err)}\n`);
  if (process.env.NOPEA_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify({ error: errorJson(err) })}\n`);
  }
  return errorExitCode(err);
}

/**
 * Milliseconds from the process's start to the command's: Node's start-up, module loading and
 * argument parsing, the first of a run's fixed costs (`startupMs` of `-o json`).
 */
export function startupTime(): number {
  return Math.round(performance.now());
}
