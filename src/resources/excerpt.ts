/**
 * Quoting what a user wrote back in a problem, safely. Problems reach CI logs, annotations and job
 * summaries, also for the untrusted content of a fork's pull request, so a quote is one line, at most
 * `EXCERPT_CHARS` long, and anything that looks like a credential is masked before it is cut (so a cut
 * never leaves the start of a secret behind).
 */
import { MASK } from './secrets.js';

/** The longest quote of user content a problem carries. */
export const EXCERPT_CHARS = 80;

// Each rule keeps its leading group (the scheme, header or key) and masks what follows.
const CREDENTIALS: readonly [RegExp, string][] = [
  // URL userinfo: https://user:token@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, `$1${MASK}@`],
  // An HTTP Authorization header, as in git's http.extraheader: everything after it.
  [/\b(authorization\s*["']?\s*[:=]\s*).*$/gim, `$1${MASK}`],
  // Authentication schemes followed by their credential.
  [/\b(basic|bearer|token)(\s+)[\w+/=.~-]{8,}/gi, `$1$2${MASK}`],
  // key: value and key=value where the key names a credential (token, password, secret, api key).
  [
    /\b([\w.-]*(?:token|passw(?:or)?d|secret|api[_-]?key|credentials?|private[_-]?key)[\w.-]*["']?\s*[:=]\s*["']?)[^\s"',;}\]]+/gi,
    `$1${MASK}`,
  ],
  // Token formats that are recognisable on their own (GitHub, GitLab, Slack, AWS, JWTs).
  [
    /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|glpat-[\w-]{20,}|xox[abprs]-[\w-]{10,}|AKIA[0-9A-Z]{16}|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*)/g,
    MASK,
  ],
  // Long base64 runs that mix cases and digits, the shape of an encoded secret (hex digests do not mix cases).
  [/(?=[A-Za-z0-9+/]*[0-9])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{32,}={0,2}/g, MASK],
];

/** `text` with everything that looks like a credential replaced by `***`. */
export function maskCredentials(text: string): string {
  let out = text;
  for (const [pattern, replacement] of CREDENTIALS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * The first line of `text`, credentials masked, at most `max` characters; an ellipsis marks that
 * something was left out (the rest of the line, or further lines).
 */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  const [first = '', ...rest] = text.split(/\r?\n/);
  const line = Array.from(maskCredentials(first));
  const more = rest.some((l) => l.trim() !== '');
  if (line.length <= max && !more) return line.join('');
  return `${line.slice(0, max - 1).join('')}…`;
}

/** A user's string as a JSON-quoted excerpt, for messages such as `metadata.name "…"`. */
export function quoted(value: string): string {
  return JSON.stringify(excerpt(value));
}
