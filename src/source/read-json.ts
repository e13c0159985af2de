/**
 * Reading a `.json` manifest file as kubectl's JSON reader does: one strict JSON value, no trailing
 * commas or comments. The text is parsed as YAML too, but only for node positions and duplicate keys,
 * so JSON problems and objects carry lines like YAML ones.
 */
import { parseDocument } from 'yaml';
import type { RawDocuments } from './documents.js';
import { excerpt } from '../resources/excerpt.js';
import { nestingProblem } from './limits.js';
import { linesOf, yamlLocator } from './locate.js';
import type { Locator } from './validate.js';
import { STRICT_YAML_OPTIONS } from './yaml.js';
import { yamlProblem } from './yaml-problems.js';

/** The one document of a JSON file (none when it is empty), or the problem that keeps it from being read. */
export function readJson(text: string, file: string): RawDocuments {
  // An empty .json file is treated like an empty YAML file: no objects, not an error.
  if (text.trim() === '') return { documents: [], problems: [] };
  const tooDeep = nestingProblem(text, file, true);
  if (tooDeep) return { documents: [], problems: [tooDeep] };
  const lines = linesOf(text);
  // The YAML parse only supplies node positions and duplicate-key detection; JSON.parse decides validity
  // (YAML would accept trailing commas and comments, kubectl's JSON reader does not).
  const doc = parseDocument(text, STRICT_YAML_OPTIONS);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(message);
    const offset = position
      ? Number(position[1])
      : (unexpectedTokenAt(message, text) ?? doc.errors[0]?.pos[0]);
    const line = offset === undefined ? 1 : lines.linePos(offset).line;
    // V8 quotes the text around the error (`Unexpected token 'x', "…" is not valid JSON`, or
    // `…, ..."…"... is not valid JSON` deeper in the file): dropped, it may be a Secret's value.
    const detail = excerpt(message.replace(/ in JSON at position \d+.*$|,\s*(?:\.\.\.)?".*$/s, ''));
    return {
      documents: [],
      problems: [
        {
          message: `JSON syntax error: ${detail}`,
          origin: { file, line },
          hint: 'JSON allows no trailing commas, comments or single quotes; use a .yaml file for those',
        },
      ],
    };
  }
  const problems = doc.errors
    .filter((err) => err.code === 'DUPLICATE_KEY')
    .map((err) => yamlProblem(err, doc, file, lines));
  if (problems.length > 0) return { documents: [], problems };
  const at: Locator =
    doc.errors.length === 0
      ? yamlLocator(doc, text, file, lines)
      : { origin: () => ({ file, line: 1 }), text: () => undefined };
  return { documents: [{ value, at }], problems: [] };
}

/**
 * Where V8's `Unexpected token 'x', ..."<context>"... is not valid JSON` points (that message has no
 * position): its context found in the text. A context cut at its start begins 10 characters before
 * the token (V8's context length); an uncut one is the whole text, searched for the token.
 */
function unexpectedTokenAt(message: string, text: string): number | undefined {
  const m = /^Unexpected token '(.)', (\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON$/.exec(message);
  if (!m) return undefined;
  const [, token = '', cut, context = ''] = m;
  const at = text.indexOf(context);
  if (at < 0) return undefined;
  return at + (cut ? Math.min(10, context.length) : Math.max(context.indexOf(token), 0));
}
