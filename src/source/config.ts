/**
 * `nopea.yaml`, the optional repository configuration: which services exist, where their manifests are
 * and how they deploy. Strict by design: an unknown key is an error, because a silently ignored typo
 * (`stategy: canary`) would deploy the wrong way.
 */
import { readFile, access } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { inputError, type Problem } from '../errors.js';
import { isPlainObject } from '../resources/object.js';
import { STRATEGY_NAMES } from '../strategy/names.js';
import { decodeManifest } from './decode.js';
import { MAX_ALIAS_COUNT } from './limits.js';
import { yamlLocator } from './locate.js';
import { typeName, type FieldPath, type Locator } from './validate.js';
import { STRICT_YAML_OPTIONS } from './yaml.js';
import { yamlProblem } from './yaml-problems.js';

/** The configuration file name, at the repository root. */
export const CONFIG_FILE = 'nopea.yaml';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Rules of `git check-ref-format` that a user can plausibly break.
const BRANCH = /^(?![-/.])(?!.*(?:\.\.|\/\/|@\{|\/\.|\.lock\/))[^\s~^:?*[\\\p{Cc}]+(?<![./]|\.lock)$/u;

const dnsLabel = z.string().min(1).max(63).regex(DNS_LABEL);

const serviceSchema = z.strictObject({
  name: dnsLabel,
  paths: z.array(z.string().min(1)).min(1),
  namespace: dnsLabel,
  strategy: z.enum(STRATEGY_NAMES).optional(),
  prune: z.boolean().default(true),
});

const configSchema = z.strictObject({
  services: z.array(serviceSchema).min(1),
  stateBranch: z.string().min(1).regex(BRANCH).optional(),
  stateRemote: z.string().min(1).optional(),
});

/** One service: a name, its manifest paths (relative to the repository root) and how it deploys. */
export type ServiceConfig = z.output<typeof serviceSchema>;

/** The parsed `nopea.yaml`. */
export type NopeaConfig = z.output<typeof configSchema>;

const TOP_KEYS = Object.keys(configSchema.shape);
const SERVICE_KEYS = Object.keys(serviceSchema.shape);

/**
 * Reads `<repoRoot>/nopea.yaml`; undefined when there is none. Throws one `input` NopeaError listing
 * every problem, each with the line of the offending key.
 */
export async function loadConfig(repoRoot: string): Promise<NopeaConfig | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(repoRoot, CONFIG_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw inputError({
        message: `cannot read ${CONFIG_FILE}: ${code ?? String(err)}`,
        origin: { file: CONFIG_FILE, line: 1 },
      });
    }
    if (await exists(path.join(repoRoot, 'nopea.yml'))) {
      throw inputError({
        message: `found nopea.yml, but nopea only reads ${CONFIG_FILE}`,
        origin: { file: 'nopea.yml', line: 1 },
        hint: `rename it: git mv nopea.yml ${CONFIG_FILE}`,
      });
    }
    return undefined;
  }
  const decoded = decodeManifest(bytes, CONFIG_FILE);
  if (!decoded.ok) throw inputError(decoded.problem);
  return parseConfig(decoded.text);
}

/** Parses and checks the text of `nopea.yaml`. */
export function parseConfig(text: string): NopeaConfig {
  const lines = new LineCounter();
  // Plain YAML 1.2 here: the file is nopea's own, not something kubectl would read.
  const doc = parseDocument(text, { ...STRICT_YAML_OPTIONS, lineCounter: lines });
  if (doc.errors.length > 0)
    throw inputError(doc.errors.map((err) => yamlProblem(err, doc, CONFIG_FILE, lines)));
  const at = yamlLocator(doc, text, CONFIG_FILE, lines);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw inputError({ message: `${CONFIG_FILE}: ${String(err)}`, origin: at.origin([]) });
  }
  if (!isPlainObject(value)) {
    throw inputError({
      message: `${CONFIG_FILE} must be a mapping with a "services" list, found ${typeName(value)}`,
      origin: at.origin([]),
      hint: 'see the example in the README: services: [{ name, paths, namespace }]',
    });
  }
  const result = configSchema.safeParse(value);
  const problems = result.success
    ? []
    : result.error.issues.flatMap((issue) => describeIssue(issue, value, at));
  problems.push(...duplicateServices(value, at));
  problems.sort((a, b) => (a.origin?.line ?? 0) - (b.origin?.line ?? 0));
  if (problems.length > 0 || !result.success) throw inputError(problems);
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown, at: Locator): Problem[] {
  const fieldPath = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = formatPath(fieldPath);
  const found = valueAt(root, fieldPath);
  const problem = (message: string, hint?: string, p: FieldPath = fieldPath): Problem =>
    hint ? { message, origin: at.origin(p), hint } : { message, origin: at.origin(p) };
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = fieldPath.length === 0 ? TOP_KEYS : SERVICE_KEYS;
      return issue.keys.map((key) => {
        const guess = closest(key, allowed);
        const inside = fieldPath.length === 0 ? CONFIG_FILE : where;
        return problem(
          `unknown key "${key}" in ${inside}`,
          `${guess ? `did you mean "${guess}"? ` : ''}allowed keys: ${allowed.join(', ')}`,
          [...fieldPath, key],
        );
      });
    }
    case 'invalid_value':
      return [
        problem(
          `${where} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; found ${typeName(found)}`,
        ),
      ];
    case 'invalid_type':
      if (found === undefined) return [problem(`${where} is missing`, requiredHint(fieldPath))];
      return [problem(`${where} must be ${article(issue.expected)}, found ${typeName(found)}`)];
    case 'too_small':
      return [problem(`${where} must not be empty`, requiredHint(fieldPath))];
    case 'too_big':
      return [problem(`${where} is longer than ${String(issue.maximum)} characters`)];
    case 'invalid_format':
      if (fieldPath.at(-1) === 'stateBranch') {
        return [problem(`${where} ${JSON.stringify(found)} is not a valid git branch name`)];
      }
      return [
        problem(
          `${where} ${JSON.stringify(found)} is not a valid name`,
          'use lowercase letters, digits and "-", starting and ending with a letter or digit (a DNS label)',
        ),
      ];
    default:
      return [problem(`${where}: ${issue.message}`)];
  }
}

function duplicateServices(value: Record<string, unknown>, at: Locator): Problem[] {
  const services = value.services;
  if (!Array.isArray(services)) return [];
  const first = new Map<string, number>();
  const problems: Problem[] = [];
  services.forEach((service: unknown, i) => {
    if (!isPlainObject(service) || typeof service.name !== 'string') return;
    const earlier = first.get(service.name);
    if (earlier === undefined) {
      first.set(service.name, i);
      return;
    }
    const line = at.origin(['services', earlier, 'name']).line;
    problems.push({
      message: `service "${service.name}" is declared twice (first on line ${line})`,
      origin: at.origin(['services', i, 'name']),
      hint: 'service names must be unique: state, inventory and prune are kept per service',
    });
  });
  return problems;
}

function requiredHint(fieldPath: FieldPath): string | undefined {
  switch (fieldPath.at(-1)) {
    case 'services':
      return 'add e.g. services: [{ name: web, paths: [deploy/web], namespace: web }]';
    case 'paths':
      return 'list the manifest files or directories of the service, relative to the repository root';
    case 'namespace':
      return 'name the namespace the service deploys to';
    default:
      return undefined;
  }
}

function formatPath(fieldPath: FieldPath): string {
  let out = '';
  for (const p of fieldPath) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || CONFIG_FILE;
}

function valueAt(root: unknown, fieldPath: FieldPath): unknown {
  let node = root;
  for (const p of fieldPath) {
    if (Array.isArray(node) && typeof p === 'number') node = node[p];
    else if (isPlainObject(node) && typeof p === 'string' && Object.hasOwn(node, p)) node = node[p];
    else return undefined;
  }
  return node;
}

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'a mapping';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** The allowed key a typo most likely meant (edit distance at most 2), if any. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
