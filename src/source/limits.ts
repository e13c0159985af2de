/**
 * What nopea refuses to read, and the checks that refuse it: objects the API server could never
 * accept, nesting deep enough to overflow the parser's stack, and aliases that expand without bound.
 * Each is refused with a problem before it can cost memory or a crash, never by failing later.
 */
import type { Origin, Problem } from '../errors.js';
import { isPlainObject } from '../resources/object.js';
import { describeObject } from './validate.js';

/**
 * Largest object nopea accepts, measured as JSON. The API server refuses request bodies over 3 MiB and
 * etcd stores at most about 1.5 MiB per object, so anything larger can never be applied.
 */
export const MAX_OBJECT_BYTES = 3 * 1024 * 1024;

/**
 * Deepest nesting accepted. Real objects, CRD schemas included, stay far below; the YAML parser recurses
 * per level and overflows the stack somewhere near 850, so deeper input is refused before parsing.
 */
export const MAX_DEPTH = 256;

/** How often one anchor may be expanded (nested aliases multiply); bounds "billion laughs" documents. */
export const MAX_ALIAS_COUNT = 100;

/**
 * Refuses text nested deeper than `MAX_DEPTH` before any parser recurses into it. Flow brackets and
 * block indentation levels are counted and added up, an over-estimate for YAML (brackets inside plain
 * scalars count too) that no real manifest comes near. JSON strings are skipped exactly.
 */
export function nestingProblem(text: string, file: string, json: boolean): Problem | undefined {
  let flow = 0;
  let block: number[] = [];
  let line = 1;
  let lineStart = true;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
      lineStart = true;
      continue;
    }
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (lineStart && !json) {
      lineStart = false;
      block = blockLevels(text, i, block);
    }
    if (c === 0x22 && json) inString = true;
    else if (c === 0x5b || c === 0x7b) flow++;
    else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--;
    if (flow + block.length > MAX_DEPTH) {
      return {
        message: `nested more than ${MAX_DEPTH} levels deep`,
        origin: { file, line },
        hint: 'no Kubernetes object is this deep; check for a generator or template gone wrong',
      };
    }
  }
  return undefined;
}

// The indentation levels open at the line starting at `start`; `- - x` opens one level per dash.
function blockLevels(text: string, start: number, open: number[]): number[] {
  let i = start;
  while (text[i] === ' ') i++;
  if (text[i] === '\n' || text[i] === '\r' || text[i] === '#' || i >= text.length) return open;
  const indent = i - start;
  const levels = open.filter((level) => level < indent);
  levels.push(indent);
  while (text[i] === '-' && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
    i += 2;
    while (text[i] === ' ') i++;
    levels.push(i - start);
  }
  return levels;
}

/** Refuses a parsed object nested deeper than `MAX_DEPTH` or larger than `MAX_OBJECT_BYTES` as JSON. */
export function objectLimitProblem(value: unknown, origin: Origin): Problem | undefined {
  // Checked without recursion first: the size check and the object checks after it recurse.
  if (depthExceeds(value, MAX_DEPTH)) {
    return {
      message: `${describeObject(value) ?? 'this object'} is nested more than ${MAX_DEPTH} levels deep`,
      origin,
      hint: 'no Kubernetes object is this deep; check for a generator or template gone wrong',
    };
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  if (bytes > MAX_OBJECT_BYTES) {
    const what = describeObject(value) ?? 'this object';
    return {
      message: `${what} is ${mib(bytes)} as JSON; one object may be at most ${mib(MAX_OBJECT_BYTES)}`,
      origin,
      hint: 'the API server refuses larger requests and etcd stores at most about 1.5 MiB per object: split the data or mount it from elsewhere',
    };
  }
  return undefined;
}

function depthExceeds(root: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > limit) return true;
    if (Array.isArray(value)) for (const item of value) stack.push([item, depth + 1]);
    else if (isPlainObject(value)) for (const key of Object.keys(value)) stack.push([value[key], depth + 1]);
  }
  return false;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
