/**
 * From field paths to source lines: every object and every problem names the file and line it came
 * from, so a mistake is reported where the user wrote it. The object checks ask a locator about field
 * paths; this file answers from the parsed YAML document's node positions.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Document } from 'yaml';
import type { FieldPath, Locator } from './validate.js';

/** Resolves field paths of a parsed YAML document to the line of the key (or list item) in its source. */
export function yamlLocator(doc: Document, text: string, file: string, lines: LineCounter): Locator {
  const find = (path: FieldPath): { offset: number; text?: string } => {
    let node: unknown = doc.contents;
    let offset = nodeStart(node) ?? 0;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        // Keys the lookup cannot see (merged in with `<<`) fall back to the enclosing mapping.
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return { offset };
        offset = nodeStart(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        node = node.items[segment];
        offset = nodeStart(node) ?? offset;
      } else {
        return { offset };
      }
    }
    if (isScalar(node) && node.range) return { offset, text: text.slice(node.range[0], node.range[1]) };
    return { offset };
  };
  return {
    origin: (path) => ({ file, line: lines.linePos(find(path).offset).line }),
    text: (path) => find(path).text,
  };
}

/**
 * yaml's LineCounter for `text`, its line starts taken from the text: 0 and the offset after each
 * `\n` (where yaml's parser reports them, `\r\n` included). The parser's own count skips the line
 * breaks it passes over while it recovers from an error, which put later errors lines too early.
 */
export function linesOf(text: string): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', nl + 1)) lines.addNewLine(nl + 1);
  return lines;
}

/** A field path as a person writes it: `services[0].name`, `resources[2]`. */
export function formatFieldPath(fieldPath: FieldPath): string {
  let out = '';
  for (const p of fieldPath) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** A locator for a sub-tree (a List item), so its paths and origin are relative to the item. */
export function within(at: Locator, prefix: FieldPath): Locator {
  return {
    origin: (path) => at.origin([...prefix, ...path]),
    text: (path) => at.text([...prefix, ...path]),
  };
}

/** The source offset a YAML node starts at, when the parser recorded one. */
export function nodeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
    const start: unknown = node.range[0];
    if (typeof start === 'number') return start;
  }
  return undefined;
}
