/**
 * How the CLI talks: results on stdout (text or JSON), progress and errors on stderr; colour only
 * on a TTY and never with NO_COLOR.
 */
import { styleText } from 'node:util';
import { NopeaError, errorMessage, formatProblem } from '../errors.js';

export type OutputFormat = 'text' | 'json';

/** Whether a stream should get ANSI colour. */
export function useColor(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

/** Writes a failure to stderr (and, for JSON output, as a JSON object on stdout); returns the exit code. */
export function reportError(err: unknown, format: OutputFormat): number {
  const color = useColor(process.stderr);
  const label = color ? styleText('red', 'error:') : 'error:';
  if (err instanceof NopeaError) {
    for (const p of err.problems) process.stderr.write(`${label} ${formatProblem(p)}\n`);
    if (format === 'json') {
      process.stdout.write(
        `${JSON.stringify({ error: { kind: err.kind, problems: err.problems } }, null, 2)}\n`,
      );
    }
    return err.exitCode;
  }
  process.stderr.write(`${label} internal error: ${errorMessage(err)}\n`);
  if (process.env.NOPEA_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (format === 'json') {
    process.stdout.write(
      `${JSON.stringify({ error: { kind: 'internal', problems: [{ message: errorMessage(err) }] } })}\n`,
    );
  }
  return 1;
}
