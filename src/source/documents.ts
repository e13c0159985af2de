/**
 * A document as a syntax reader hands it on, before the object checks: its value and a locator for its
 * fields. One document may hold many objects: a `kind: List` is flattened into its items, as kubectl
 * does, so each item is checked, applied and located on its own.
 */
import type { Problem } from '../errors.js';
import { isPlainObject } from '../resources/object.js';
import { within } from './locate.js';
import type { Locator } from './validate.js';

/** One top-level document before the object checks, with where its fields are. */
export interface RawDocument {
  value: unknown;
  at: Locator;
}

/** Documents read from one file, and the syntax problems that kept others from being read. */
export interface RawDocuments {
  documents: RawDocument[];
  problems: Problem[];
}

/** Calls `visit` for each object of a document, descending into `*List` items the way kubectl does. */
export function forEachItem(doc: RawDocument, visit: (item: RawDocument) => void): void {
  const { value, at } = doc;
  if (isListObject(value)) {
    value.items.forEach((item: unknown, i: number) =>
      forEachItem({ value: item, at: within(at, ['items', i]) }, visit),
    );
  } else {
    visit(doc);
  }
}

// kubectl treats any `*List` object with an `items` array as a list and applies the items.
function isListObject(value: unknown): value is { kind: string; items: unknown[] } {
  return (
    isPlainObject(value) &&
    typeof value.kind === 'string' &&
    value.kind.endsWith('List') &&
    Array.isArray(value.items)
  );
}
