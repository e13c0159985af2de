/**
 * Shape checks on one desired object, done before any cluster is involved: what every Kubernetes object
 * needs (apiVersion, kind, metadata.name) and the metadata rules every API server enforces. Kind-specific
 * schema checks are left to the server-side dry run.
 */
import type { Origin, Problem } from '../errors.js';
import { groupOf, isPlainObject, type KubeObject } from '../resources/object.js';
import { isSecret } from '../resources/secrets.js';
import { excerpt, quoted } from '../resources/excerpt.js';
import {
  invalidGroupVersion,
  invalidKind,
  invalidLabelValue,
  invalidName,
  invalidNamespace,
  invalidQualifiedKey,
  MAX_ANNOTATIONS_BYTES,
} from './names.js';

/** A path into a document: mapping keys and sequence indexes. */
export type FieldPath = readonly (string | number)[];

/** Maps a field of the document being checked back to the repository, so problems point at their line. */
export interface Locator {
  /** Origin of the node at `path`, or of its closest ancestor that exists. */
  origin(path: FieldPath): Origin;
  /** Source text of the scalar at `path`, when known, to quote it back in hints. */
  text(path: FieldPath): string | undefined;
}

/** The checked object, or every problem found in it. */
export type Checked = { ok: true; object: KubeObject } | { ok: false; problems: Problem[] };

/** Describes a value's type the way a YAML author thinks of it (a string as a short, masked excerpt). */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'a mapping';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  return `a ${typeof value}`;
}

/** `Deployment web` when kind and name are readable, for messages about a whole object. */
export function describeObject(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  const kind = typeof value.kind === 'string' && value.kind ? value.kind : 'object';
  const meta = isPlainObject(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' && meta.name ? meta.name : undefined;
  if (!name) return undefined;
  const ns = typeof meta.namespace === 'string' && meta.namespace ? `${meta.namespace}/` : '';
  return `${kind} ${ns}${name}`;
}

/**
 * Checks one document against what every Kubernetes object needs. On success the object is returned
 * with null `namespace`, `labels` and `annotations` removed: kubectl treats them as absent, and the
 * rest of nopea relies on `KubeObject`'s types.
 */
export function checkObject(value: unknown, at: Locator): Checked {
  const problems: Problem[] = [];
  const report = (path: FieldPath, message: string, hint?: string): void => {
    problems.push(hint ? { message, origin: at.origin(path), hint } : { message, origin: at.origin(path) });
  };
  // A bare scalar usually means broken indentation or a missing `key:`; the hint is about syntax.
  if (!isPlainObject(value)) {
    const hint = Array.isArray(value)
      ? 'separate objects with "---", or wrap them in a list object: apiVersion: v1, kind: List, items: [...]'
      : 'every document must be a mapping with apiVersion, kind and metadata; check the indentation and the "key: value" syntax';
    // Not quoted: a document whose structure is lost may be a Secret whose values are in it.
    const found = typeof value === 'string' ? 'a string' : typeName(value);
    report([], `expected a Kubernetes object (a mapping), found ${found}`, hint);
    return { ok: false, problems };
  }

  const apiVersion = checkApiVersion(value.apiVersion, (m, h) => report(['apiVersion'], m, h));
  const kind = checkKind(value.kind, at, (m, h) => report(['kind'], m, h));
  const meta = value.metadata;
  if (meta === undefined || meta === null) {
    report(['metadata'], 'metadata is missing', 'add "metadata:" with at least "name:"');
  } else if (!isPlainObject(meta)) {
    report(
      ['metadata'],
      `metadata must be a mapping, found ${typeName(meta)}`,
      'write "metadata:" followed by indented fields such as "name: web"',
    );
  } else {
    checkName(meta, apiVersion, kind, at, report);
    checkNamespace(meta, at, report);
    checkStringMap(meta, 'labels', at, report);
    checkStringMap(meta, 'annotations', at, report);
  }
  if (apiVersion !== undefined && kind !== undefined && isSecret({ apiVersion, kind })) {
    // Its values are checked here alone: the walk below names the paths it reports, and in a Secret
    // those (an invalid key) may hold a value.
    checkSecretValues(value, report);
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== 'data' && k !== 'stringData') rest[k] = v;
    checkJsonValues(rest, [], report);
  } else {
    checkJsonValues(value, [], report);
  }

  if (problems.length > 0) return { ok: false, problems };
  if (isPlainObject(meta)) {
    for (const field of ['namespace', 'labels', 'annotations']) if (meta[field] === null) delete meta[field];
  }
  return { ok: true, object: value as KubeObject };
}

type Report = (path: FieldPath, message: string, hint?: string) => void;

function requireString(
  value: unknown,
  field: string,
  hint: string,
  at: Locator,
  report: (message: string, hint?: string) => void,
): string | undefined {
  if (value === undefined || value === null) {
    report(`${field} is missing`, hint);
    return undefined;
  }
  if (typeof value !== 'string') {
    report(`${field} must be a string, found ${typeName(value)}`, quoteHint(field, value, at, [field]));
    return undefined;
  }
  if (value.trim() === '') {
    report(`${field} is empty`, hint);
    return undefined;
  }
  return value;
}

function checkApiVersion(
  value: unknown,
  report: (message: string, hint?: string) => void,
): string | undefined {
  const hint = 'add the API version, e.g. "apiVersion: v1" or "apiVersion: apps/v1"';
  if (value === undefined || value === null) {
    report('apiVersion is missing', hint);
    return undefined;
  }
  if (typeof value !== 'string' || value.trim() === '') {
    report(`apiVersion must be a non-empty string such as "v1" or "apps/v1", found ${typeName(value)}`, hint);
    return undefined;
  }
  const parts = value.split('/');
  if (parts.length > 2 || parts.some((p) => p === '' || /\s/.test(p))) {
    report(`apiVersion ${quoted(value)} is not of the form "version" or "group/version"`, hint);
    return undefined;
  }
  const why = parts.length === 2 ? invalidGroupVersion(parts[0]!, parts[1]!) : invalidGroupVersion('', value);
  if (why) {
    report(`apiVersion ${quoted(value)} ${why}`, hint);
    return undefined;
  }
  return value;
}

function checkKind(
  value: unknown,
  at: Locator,
  report: (message: string, hint?: string) => void,
): string | undefined {
  const hint = 'add the kind, e.g. "kind: Deployment"';
  const kind = requireString(value, 'kind', hint, at, report);
  if (kind === undefined) return undefined;
  const why = invalidKind(kind);
  if (why) {
    // A kind is part of API paths and of the state branch's file names, so a malformed one stops here.
    report(`kind ${quoted(kind)} ${why}`);
    return undefined;
  }
  return kind;
}

function checkName(
  meta: Record<string, unknown>,
  apiVersion: string | undefined,
  kind: string | undefined,
  at: Locator,
  report: Report,
): void {
  const name = meta.name;
  if (name === undefined || name === null || name === '') {
    if (typeof meta.generateName === 'string' && meta.generateName) {
      report(
        ['metadata', 'generateName'],
        'metadata.generateName without metadata.name is not supported: server-side apply needs a fixed name',
        'set metadata.name; generateName would create a new object on every sync',
      );
    } else {
      const missing = name === '' ? 'metadata.name is empty' : 'metadata.name is missing';
      report(name === undefined ? ['metadata'] : ['metadata', 'name'], missing, 'add "name:" under metadata');
    }
    return;
  }
  if (typeof name !== 'string') {
    report(
      ['metadata', 'name'],
      `metadata.name must be a string, found ${typeName(name)}`,
      quoteHint('name', name, at, ['metadata', 'name']),
    );
    return;
  }
  const why = invalidName(apiVersion === undefined ? '' : groupOf(apiVersion), kind ?? '', name);
  if (why) report(['metadata', 'name'], `metadata.name ${quoted(name)} ${why}`);
}

function checkNamespace(meta: Record<string, unknown>, at: Locator, report: Report): void {
  const ns = meta.namespace;
  if (ns === undefined || ns === null) return;
  if (typeof ns !== 'string') {
    report(
      ['metadata', 'namespace'],
      `metadata.namespace must be a string, found ${typeName(ns)}`,
      quoteHint('namespace', ns, at, ['metadata', 'namespace']),
    );
    return;
  }
  // An empty namespace means "the default namespace" to kubectl; the identify stage applies it.
  if (ns === '') return;
  const why = invalidNamespace(ns);
  if (why) report(['metadata', 'namespace'], `metadata.namespace ${quoted(ns)} ${why}`);
}

function checkStringMap(
  meta: Record<string, unknown>,
  field: 'labels' | 'annotations',
  at: Locator,
  report: Report,
): void {
  const map = meta[field];
  if (map === undefined || map === null) return;
  const what = field === 'labels' ? 'label' : 'annotation';
  if (!isPlainObject(map)) {
    report(
      ['metadata', field],
      `metadata.${field} must be a mapping of strings, found ${typeName(map)}`,
      `write each ${what} as an indented "key: value" line`,
    );
    return;
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(map)) {
    const path = ['metadata', field, key];
    const badKey = invalidQualifiedKey(field === 'annotations' ? key.toLowerCase() : key);
    if (badKey) report(path, `${what} key ${quoted(key)} ${badKey}`);
    if (value === null || value === undefined) {
      report(path, `${what} ${quoted(key)} has no value`, `write ${excerpt(key)}: "" for an empty value`);
      continue;
    }
    if (typeof value !== 'string') {
      // The classic: `version: 1.0` is the number 1 and `enabled: on` the boolean true in YAML 1.1.
      report(
        path,
        `${what} ${quoted(key)} must be a string, found ${typeName(value)}`,
        quoteHint(key, value, at, path),
      );
      continue;
    }
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (field === 'labels') {
      const badValue = invalidLabelValue(value);
      if (badValue) report(path, `label ${quoted(key)} value ${quoted(value)} ${badValue}`);
    }
  }
  if (bytes > MAX_ANNOTATIONS_BYTES) {
    report(
      ['metadata', field],
      `metadata.annotations total ${bytes} bytes; the API server allows at most ${MAX_ANNOTATIONS_BYTES}`,
      'move large values into a ConfigMap',
    );
  }
}

// The API server's rule for the keys of a Secret's (and a ConfigMap's) data.
const CONFIG_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** A value's type without the value (`a list`, `a number`), for messages about a Secret's values. */
function shapeOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return isPlainObject(value) ? 'a mapping' : `a ${typeof value}`;
}

/**
 * A Secret's `data` and `stringData` are mappings of strings. Checked here because the API server's
 * answer to a value of another type (`PIN: 1234`, a YAML number) quotes the value back, and that answer
 * would reach the log, the step summary and the deploy record. No message here shows a value.
 */
function checkSecretValues(secret: Record<string, unknown>, report: Report): void {
  for (const field of ['data', 'stringData'] as const) {
    const values = secret[field];
    if (values === undefined || values === null) continue;
    if (!isPlainObject(values)) {
      report(
        [field],
        `Secret ${field} must be a mapping of strings, found ${shapeOf(values)}`,
        'write each value as an indented "key: value" line',
      );
      continue;
    }
    for (const [key, v] of Object.entries(values)) {
      if (!CONFIG_KEY.test(key)) {
        // A value that lost its `key:` structure (an env file line `PASS: x` read as a key) may be a
        // secret itself: the key is not quoted, the line says where it is.
        report(
          [field, key],
          `Secret ${field} has a key that is not a valid key (letters, digits, "-", "_" and "." only, at most 253); it is not shown, as it may hold a value`,
          'check the line: a value in the key, or an env file line without "="',
        );
        continue;
      }
      if (v === null || typeof v === 'string') continue;
      report(
        [field, key],
        `Secret ${field} ${quoted(key)} must be a string, found ${shapeOf(v)} (its value is not shown)`,
        field === 'data'
          ? 'data values are base64 strings: base64-encode the value, or move it to stringData and quote it'
          : 'quote the value, as in "1234"',
      );
    }
  }
}

function quoteHint(key: string, value: unknown, at: Locator, path: FieldPath): string {
  const name = excerpt(key);
  if (isPlainObject(value) || Array.isArray(value)) return `"${name}" takes a single string value`;
  const source = excerpt(at.text(path) ?? String(value));
  return `quote it: ${name}: ${/^["']/.test(source) ? source : JSON.stringify(source)}`;
}

/**
 * Flags values JSON cannot carry (YAML's `.inf`/`.nan`, or anything that is not plain data). `path` is
 * the walk's own, pushed and popped as it goes (a new array per value was most of the walk's time), so
 * a report takes a copy.
 */
function checkJsonValues(value: unknown, path: (string | number)[], report: Report): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      const where = path.length ? path.join('.') : 'the document';
      report(
        [...path],
        `${where} is ${String(value)}, which JSON (and so the API server) cannot represent`,
        'quote it if it is meant as a string',
      );
    }
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      checkJsonValues(value[i], path, report);
      path.pop();
    }
    return;
  }
  if (isPlainObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
    for (const key of Object.keys(value)) {
      path.push(key);
      checkJsonValues(value[key], path, report);
      path.pop();
    }
    return;
  }
  report(
    [...path],
    `${path.join('.')} is not plain data (${Object.prototype.toString.call(value)})`,
    'remove the YAML tag on this value',
  );
}
