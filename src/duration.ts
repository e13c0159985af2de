/**
 * Durations as flags, Action inputs and API fields take them: `90s`, `5m`, `1h30m`, or plain seconds.
 */
import { NopeaError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration flag; `flag` names it in the error. */
export function parseDuration(value: string | number, flag: string): number {
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === text) {
    return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0));
  }
  throw new NopeaError('input', {
    message: `${flag} "${text}" is not a duration`,
    hint: 'use e.g. 90s, 5m, 1h30m, or a number of seconds',
  });
}

/** `1m 5s`, `12.3 s`, `850 ms`: short human form for summaries. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m}m ${s}s` : `${m}m`;
}
