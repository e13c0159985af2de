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

/**
 * Largest JSON size measured exactly. Aliases make the value a document expands to far larger than
 * its text (a hundred uses of a 7 MiB anchor are 700 MiB, beyond the longest string V8 can build), so
 * the size is counted, never serialised, and the count stops here.
 */
const MEASURE_BYTES = 16 * 1024 * 1024;

/** Refuses a parsed object nested deeper than `MAX_DEPTH` or larger than `MAX_OBJECT_BYTES` as JSON. */
export function objectLimitProblem(value: unknown, origin: Origin): Problem | undefined {
  // Measured without recursion first: the object checks after this recurse.
  const measured = measure(value);
  const what = describeObject(value) ?? 'this object';
  if (measured === 'too deep') {
    return {
      message: `${what} is nested more than ${MAX_DEPTH} levels deep`,
      origin,
      hint: 'no Kubernetes object is this deep; check for a generator or template gone wrong',
    };
  }
  if (measured > MAX_OBJECT_BYTES) {
    const size = measured > MEASURE_BYTES ? `more than ${mib(MEASURE_BYTES)}` : mib(measured);
    return {
      message: `${what} is ${size} as JSON; one object may be at most ${mib(MAX_OBJECT_BYTES)}`,
      origin,
      hint: 'the API server refuses larger requests and etcd stores at most about 1.5 MiB per object: split the data or mount it from elsewhere (a YAML alias counts in full at every use)',
    };
  }
  return undefined;
}

/**
 * The size of `root` as compact JSON in UTF-8 bytes, exact up to `MEASURE_BYTES` and some value above
 * it beyond; or 'too deep' when nested more than `MAX_DEPTH` levels. Shared (aliased) values count at
 * every use, as they would in the request body.
 */
function measure(root: unknown): number | 'too deep' {
  let bytes = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) return 'too deep';
    if (Array.isArray(value)) {
      bytes += 2 + Math.max(0, value.length - 1);
      for (const item of value) stack.push([item, depth + 1]);
    } else if (isPlainObject(value)) {
      const keys = Object.keys(value).filter((key) => value[key] !== undefined);
      bytes += 2 + Math.max(0, keys.length - 1);
      for (const key of keys) {
        bytes += jsonBytes(key) + 1;
        stack.push([value[key], depth + 1]);
      }
    } else {
      bytes += jsonBytes(value);
    }
    if (bytes > MEASURE_BYTES) return bytes;
  }
  return bytes;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null');
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
