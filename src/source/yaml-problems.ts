/**
 * YAML mistakes as problems a person can act on: the parser's error, moved to the line where the
 * mistake starts (an unclosed quote or bracket is only noticed far below it) and, for the common
 * mistakes, a hint. Also the YAML that parses but cannot become JSON: collection keys, aliases that
 * are undefined or expand too often, and merge keys without a mapping. The parser quotes the source in
 * its messages; those quotes pass through `excerpt`, so a broken line is never echoed whole.
 */
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  visit,
  type Document,
  type LineCounter,
  type YAMLError,
} from 'yaml';
import type { Origin, Problem } from '../errors.js';
import { EXCERPT_CHARS, excerpt, quoted } from '../resources/excerpt.js';
import { MAX_ALIAS_COUNT } from './limits.js';
import { nodeStart } from './locate.js';

// The parser's own words (at most about 40 characters) and the excerpt of the source it quotes.
const DETAIL_CHARS = 40 + EXCERPT_CHARS;

/**
 * Messages in which the parser quotes a token of the source: an unquoted value it could not place
 * (`pw: |hunter2` is a block scalar header with extra characters, `!x9…` a tag). In a Secret that token
 * is the value, so the quote is cut; the line says where it is.
 */
const QUOTES_SOURCE =
  /^(Unexpected \S+ token in YAML stream|Block scalar header includes extra characters|Unresolved tag): .*$/;

/** A YAML parse error as a problem with file, line and, for the common mistakes, a hint. */
export function yamlProblem(err: YAMLError, doc: Document, file: string, lines: LineCounter): Problem {
  const at = (offset: number): Origin => ({ file, line: lines.linePos(offset).line });
  const firstLine = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.message;
  const detail = excerpt(firstLine.replace(QUOTES_SOURCE, '$1'), DETAIL_CHARS);
  if (/Maximum call stack/.test(detail)) {
    return { message: 'YAML error: the document is nested too deeply to parse', origin: at(err.pos[0]) };
  }
  switch (err.code) {
    case 'TAB_AS_INDENT':
      return {
        message: 'YAML syntax error: a tab is used for indentation; YAML allows only spaces',
        origin: at(err.pos[0]),
        hint: 'replace the tabs at the start of the line with spaces',
      };
    case 'DUPLICATE_KEY': {
      const key = scalarStartingAt(doc, err.pos[0]);
      const name = key === undefined ? 'a key' : `key ${quoted(key)}`;
      return {
        message: `duplicate ${name} in the same mapping`,
        origin: at(err.pos[0]),
        hint: 'kubectl would silently keep the last value; remove the duplicate',
      };
    }
    case 'MISSING_CHAR':
      if (/quote/.test(detail)) {
        // The parser notices the missing quote at the end of the file; the useful line is where it opened.
        const opened = quotedStart(doc, err.pos[0]);
        return {
          message: `YAML syntax error: missing closing quote for the string that starts here`,
          origin: at(opened ?? err.pos[0]),
          hint: 'close the quote on the same value, or remove the stray quote',
        };
      }
      return { message: `YAML syntax error: ${detail}`, origin: at(err.pos[0]) };
    case 'BAD_INDENT': {
      // An unclosed `{` or `[` is only noticed where the block structure resumes; point at the opening.
      const flow = /^Flow (map|sequence)/.exec(detail);
      const opened = flow ? unclosedFlowStart(doc, err.pos[0], flow[1] === 'map') : undefined;
      if (flow && opened !== undefined) {
        const close = flow[1] === 'map' ? '}' : ']';
        return {
          message: `YAML syntax error: the flow ${flow[1]} opened here is not closed with "${close}"`,
          origin: at(opened),
          hint: `add the closing "${close}", or indent its continuation lines more than the key`,
        };
      }
      return {
        message: `YAML syntax error: ${detail}`,
        origin: at(err.pos[0]),
        hint: 'check the indentation',
      };
    }
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return {
        message: `YAML syntax error: ${detail}`,
        origin: at(err.pos[0]),
        hint: 'quote values that contain ": " or "#", and check the indentation',
      };
  }
  return { message: `YAML syntax error: ${detail}`, origin: at(err.pos[0]) };
}

function scalarStartingAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Scalar(_key, node) {
      if (node.range?.[0] === offset) {
        found = String(node.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function quotedStart(doc: Document, errorOffset: number): number | undefined {
  let start: number | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && node.range && node.range[0] < errorOffset && node.range[1] >= errorOffset)
        start = node.range[0];
    },
  });
  return start;
}

function unclosedFlowStart(doc: Document, errorOffset: number, wantMap: boolean): number | undefined {
  let start: number | undefined;
  const check = (node: { flow?: boolean; range?: [number, number, number] | null }): void => {
    if (node.flow && node.range && node.range[0] < errorOffset && node.range[1] >= errorOffset)
      start = node.range[0];
  };
  visit(doc, wantMap ? { Map: (_key, node) => check(node) } : { Seq: (_key, node) => check(node) });
  return start;
}

/**
 * Mapping keys that are themselves mappings or lists, a problem each: `{a: 1}: x` or `? [a]` keys are
 * legal YAML but not JSON; typically an unquoted `{{ template }}`.
 */
export function collectionKeys(doc: Document, file: string, lines: LineCounter): Problem[] {
  const problems: Problem[] = [];
  // The nodes `visit` would reach (aliases are not followed), walked with a stack: `visit` builds and
  // freezes a path array at every collection, a tenth of the time of reading a typical manifest.
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isCollection(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]);
    } else if (isPair(node)) {
      if (isCollection(node.key)) {
        problems.push({
          message:
            'a mapping key is itself a mapping or a list, which JSON and the API server cannot represent',
          origin: { file, line: lines.linePos(nodeStart(node.key) ?? 0).line },
          hint: 'quote the key; an unquoted "{{ ... }}" template is read as a mapping (render templates before nopea reads them)',
        });
      }
      stack.push(node.value, node.key);
    }
  }
  return problems;
}

/**
 * An error of turning a parsed document into a value as a problem at the line that caused it: an
 * alias expanded too often (reported at the document, `fallback`), an alias or merge source that is
 * undefined (at the alias), a merge key given something other than mappings (at that value).
 */
export function toJsProblem(
  err: unknown,
  doc: Document,
  file: string,
  lines: LineCounter,
  fallback: Origin,
): Problem {
  const at = (offset: number | undefined): Origin =>
    offset === undefined ? fallback : { file, line: lines.linePos(offset).line };
  const message = err instanceof Error ? err.message : String(err);
  if (/Excessive alias count/.test(message)) {
    return {
      message: `too many YAML aliases: an anchor is expanded more than ${MAX_ALIAS_COUNT} times (nested aliases multiply), as in a "billion laughs" attack`,
      origin: fallback,
      hint: 'write the repeated content out, or use fewer aliases',
    };
  }
  const unresolved = /Unresolved alias[^:]*: (.*)$/.exec(message);
  if (unresolved) return undefinedAlias(at(aliasOffset(doc, unresolved[1]!)));
  if (/Merge sources must be maps/.test(message)) {
    const bad = badMergeSource(doc);
    if (bad?.alias !== undefined) return undefinedAlias(at(bad.offset));
    return {
      message:
        'the merge key "<<" must be given a mapping, an alias of one, or a list of those (as in "<<: *defaults")',
      origin: at(bad?.offset),
    };
  }
  return { message: `YAML error: ${excerpt(message, DETAIL_CHARS)}`, origin: fallback };
}

/**
 * The alias is not named: an unquoted value that starts with `*` is read as one, and that value may be
 * a Secret's (`password: *x9…`). The line says where it is.
 */
function undefinedAlias(origin: Origin): Problem {
  return {
    message:
      'a YAML alias (a value starting with "*") refers to an anchor ("&name") that is not defined before it in this document',
    origin,
    hint: 'define the anchor earlier in the same document, or quote the value if it is text that starts with "*"',
  };
}

/** Where the first alias to an anchor stands, to point an unresolved alias at its line. */
function aliasOffset(doc: Document, name: string): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.source === name && node.range) {
        offset = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return offset;
}

/**
 * The first value of a merge key (`<<`) that is no mapping: its offset and, when it is an alias of an
 * anchor that is not defined before it, the alias name.
 */
function badMergeSource(doc: Document): { offset: number | undefined; alias?: string } | undefined {
  let found: { offset: number | undefined; alias?: string } | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.key) || !isMergeKey(pair.key.value)) return undefined;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        if (isAlias(source)) {
          const target = source.resolve(doc);
          if (target === undefined) found = { offset: nodeStart(source), alias: source.source };
          else if (!isMap(target)) found = { offset: nodeStart(source) };
        } else if (!isMap(source)) {
          found = { offset: nodeStart(source) ?? nodeStart(pair.key) };
        }
        if (found) return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

// The YAML 1.1 schema resolves a plain `<<` key to a symbol; an unresolved one stays the string.
function isMergeKey(value: unknown): boolean {
  return value === '<<' || (typeof value === 'symbol' && value.description === '<<');
}

/**
 * The problem for a document that follows a directive (`%YAML 1.2`, `%TAG`) in `gap`, the text
 * between the previous document and this one, which starts at `offset` of the file. kubectl refuses
 * such documents: it splits the stream at `---` lines, so the directive reaches its YAML reader on
 * its own ("did not find expected <document start>"), and a version other than 1.1 is refused
 * outright ("found incompatible YAML document"). nopea refuses them too rather than read a document
 * kubectl cannot, or read it as YAML 1.2, where `0644` is 644 and `yes` a string.
 */
export function directiveProblem(
  gap: string,
  offset: number,
  file: string,
  lines: LineCounter,
): Problem | undefined {
  const directive = /^%.*$/m.exec(gap);
  if (!directive) return undefined;
  return {
    message: `kubectl cannot read a document that follows the YAML directive ${quoted(directive[0].trim())}`,
    origin: { file, line: lines.linePos(offset + directive.index).line },
    hint: 'remove the directive: kubectl (and so nopea) reads every manifest as YAML 1.1, where 0644 is octal and yes is true',
  };
}
