/**
 * `nopea.yaml`, the optional repository configuration: which services exist, where their manifests are
 * and how they deploy. Strict by design: an unknown key is an error, because a silently ignored typo
 * (`stategy: canary`) would deploy the wrong way.
 */
import { readFile, access, realpath } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { inputError, NopeaError, type Problem } from '../errors.js';
import { isPlainObject } from '../resources/object.js';
import { STRATEGY_REQUESTS } from '../strategy/names.js';
import {
  CANARY_METRICS,
  orderRefusals,
  readKultaDuration,
  readPause,
  weightRefusal,
  type CanaryAnalysis,
  type CanaryMetricName,
  type CanaryStep,
  type Refusal,
  type StepRefusal,
} from '../strategy/steps.js';
import { forbiddenPath, symlinkProblem } from './boundary.js';
import { decodeManifest } from './decode.js';
import { quoted } from '../resources/excerpt.js';
import { MAX_ALIAS_COUNT } from './limits.js';
import { formatFieldPath, linesOf, yamlLocator } from './locate.js';
import { invalidDnsLabel, invalidName, invalidNamespace } from './names.js';
import { typeName, type FieldPath, type Locator } from './validate.js';
import { STRICT_YAML_OPTIONS } from './yaml.js';
import { toJsProblem, yamlProblem } from './yaml-problems.js';

/** The configuration file name, at the repository root. */
export const CONFIG_FILE = 'nopea.yaml';

// Rules of `git check-ref-format` that a user can plausibly break.
const BRANCH = /^(?![-/.])(?!.*(?:\.\.|\/\/|@\{|\/\.|\.lock\/))[^\s~^:?*[\\\p{Cc}]+(?<![./]|\.lock)$/u;

/** A non-empty string that `why` (one of names.ts's rules) does not reject. */
function named(why: (value: string) => string | undefined): z.ZodString {
  return z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const reason = why(value);
      if (reason) ctx.addIssue({ code: 'custom', message: reason });
    });
}

// Remote bases make a render depend on the network and on content outside the commit: opt-in only.
const kustomizeSchema = z.strictObject({
  allowRemote: z.boolean().default(false),
});

/**
 * Marks a custom issue whose message is a predicate for the field's path (`steps[1].pause` + `"90x" is
 * not a duration`), with its hint: the refusals of strategy/steps.ts.
 */
interface Predicate {
  predicate: true;
  hint?: string;
}

function addRefusal(ctx: z.RefinementCtx, path: (string | number)[], refusal: Refusal): void {
  const params: Predicate = refusal.hint ? { predicate: true, hint: refusal.hint } : { predicate: true };
  ctx.addIssue({ code: 'custom', path, message: refusal.message, params });
}

/** What was read, or undefined once its refusal is reported at `path`. */
function accepted<T extends object>(ctx: z.RefinementCtx, path: string[], read: T | Refusal): T | undefined {
  if (!('message' in read)) return read;
  addRefusal(ctx, path, read);
  return undefined;
}

function refusalPath(refusal: StepRefusal): (string | number)[] {
  if (refusal.index === undefined) return [];
  return refusal.field ? [refusal.index, refusal.field] : [refusal.index];
}

// The type checks are zod's (so a string weight reads like every other type mistake); the rules of a
// step are strategy/steps.ts's, shared with --canary-steps.
const stepShape = z.strictObject({ weight: z.number(), pause: z.unknown().optional() });

const stepSchema = stepShape.transform((raw, ctx): CanaryStep => {
  const weight = weightRefusal(raw.weight);
  if (weight) addRefusal(ctx, ['weight'], weight);
  const read = raw.pause === undefined ? undefined : accepted(ctx, ['pause'], readPause(raw.pause, quoted));
  return read ? { weight: raw.weight, pause: read.pause } : { weight: raw.weight };
});

const stepsSchema = z
  .array(stepSchema)
  .min(1)
  .transform((steps, ctx) => {
    for (const refusal of orderRefusals(steps, 'config')) addRefusal(ctx, refusalPath(refusal), refusal);
    return steps;
  });

// Units and ranges of each metric, so a threshold written in the wrong unit (500 for 500 ms) is refused
// instead of never failing a canary.
const THRESHOLDS: Record<CanaryMetricName, { max: number; rule: string; hint: string }> = {
  'error-rate': {
    max: 100,
    rule: 'must be a percentage above 0 and at most 100',
    hint: 'error-rate is the percent of requests answered with a 5xx; e.g. threshold: 5 fails the canary from 5% on',
  },
  'latency-p95': {
    max: 60,
    rule: 'must be a number of seconds above 0 and at most 60',
    hint: 'latency-p95 is in seconds: threshold: 0.5 fails the canary from 500 ms on',
  },
};

const metricShape = z.strictObject({ name: z.enum(CANARY_METRICS), threshold: z.number() });

const metricSchema = metricShape.superRefine((metric, ctx) => {
  const { max, rule, hint } = THRESHOLDS[metric.name];
  if (metric.threshold <= 0 || metric.threshold > max) {
    addRefusal(ctx, ['threshold'], { message: `${rule}, found ${metric.threshold}`, hint });
  }
});

const analysisShape = z.strictObject({
  metrics: z.array(metricSchema).min(1),
  warmupDuration: z.unknown().optional(),
});

const analysisSchema = analysisShape.transform((raw, ctx): CanaryAnalysis => {
  const seen = new Set<string>();
  raw.metrics.forEach((metric, i) => {
    if (seen.has(metric.name)) {
      addRefusal(ctx, ['metrics', i, 'name'], {
        message: `${quoted(metric.name)} is listed twice`,
        hint: 'give each metric one threshold',
      });
    }
    seen.add(metric.name);
  });
  const warmup =
    raw.warmupDuration === undefined
      ? undefined
      : accepted(ctx, ['warmupDuration'], readKultaDuration(raw.warmupDuration, quoted));
  return warmup ? { metrics: raw.metrics, warmupSeconds: warmup.seconds } : { metrics: raw.metrics };
});

// The HTTPRoute Kulta shifts traffic on; nopea names it, never creates it.
const httpRouteSchema = named((value) => invalidName('gateway.networking.k8s.io', 'HTTPRoute', value));

// Steps left out: the --canary-steps flag, else the default steps (strategy/steps.ts) apply.
const canaryShape = z.strictObject({
  steps: stepsSchema.optional(),
  analysis: analysisSchema.optional(),
  httpRoute: httpRouteSchema.optional(),
});

const blueGreenShape = z.strictObject({
  httpRoute: httpRouteSchema.optional(),
});

const serviceSchema = z.strictObject({
  // Service names become Lease names and state branch directories.
  name: named((value) => invalidDnsLabel(value, 'name')),
  paths: z.array(z.string().min(1)).min(1),
  namespace: named(invalidNamespace),
  // `auto` (the default): memory advises; an explicit strategy always wins.
  strategy: z.enum(STRATEGY_REQUESTS).optional(),
  prune: z.boolean().default(true),
  kustomize: kustomizeSchema.optional(),
  // How canary and blue-green run, whoever chose them (flag, nopea.yaml or memory).
  canary: canaryShape.optional(),
  blueGreen: blueGreenShape.optional(),
});

// What memory advises: `auto` deploys canary when a failure pattern's confidence is above this.
const memorySchema = z.strictObject({
  canaryThreshold: z.number().gt(0).lt(1).optional(),
});

// How much history the state branch keeps: deploy records (and their occurrences) per service.
const retentionSchema = z.strictObject({
  deploys: z.int().min(1).max(10_000).optional(),
});

const configSchema = z.strictObject({
  services: z.array(serviceSchema).min(1),
  stateBranch: z.string().min(1).regex(BRANCH).optional(),
  stateRemote: z.string().min(1).optional(),
  memory: memorySchema.optional(),
  retention: retentionSchema.optional(),
});

/**
 * One service: a name, its manifest paths (relative to the repository root) and how it deploys, with
 * the settings of canary (`steps` checked and parsed, `analysis` with `warmupSeconds`) and blue-green.
 */
export type ServiceConfig = z.output<typeof serviceSchema>;

/** The parsed `nopea.yaml`. */
export type NopeaConfig = z.output<typeof configSchema>;

const TOP_KEYS = Object.keys(configSchema.shape);
const SERVICE_KEYS = Object.keys(serviceSchema.shape);
/** The keys allowed inside each nested mapping (or each item of a list), for "unknown key" hints. */
const NESTED_KEYS: Record<string, string[]> = {
  services: SERVICE_KEYS,
  kustomize: Object.keys(kustomizeSchema.shape),
  memory: Object.keys(memorySchema.shape),
  retention: Object.keys(retentionSchema.shape),
  canary: Object.keys(canaryShape.shape),
  blueGreen: Object.keys(blueGreenShape.shape),
  steps: Object.keys(stepShape.shape),
  analysis: Object.keys(analysisShape.shape),
  metrics: Object.keys(metricShape.shape),
};

/**
 * Reads `<repoRoot>/nopea.yaml`; undefined when there is none. Throws one `input` NopeaError listing
 * every problem, each with the line of the offending key.
 */
export async function loadConfig(repoRoot: string): Promise<NopeaConfig | undefined> {
  const file = path.join(repoRoot, CONFIG_FILE);
  let bytes: Buffer;
  try {
    // A nopea.yaml that links into .git or out of the repository is refused before it is read.
    const [root, real] = await Promise.all([realpath(repoRoot), realpath(file)]);
    const forbidden = forbiddenPath(root, real);
    if (forbidden)
      throw inputError(await symlinkProblem(root, path.join(root, CONFIG_FILE), real, forbidden));
    bytes = await readFile(real);
  } catch (err) {
    if (err instanceof NopeaError) throw err;
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
  const lines = linesOf(text);
  // Plain YAML 1.2 here: the file is nopea's own, not something kubectl would read.
  const doc = parseDocument(text, STRICT_YAML_OPTIONS);
  if (doc.errors.length > 0)
    throw inputError(doc.errors.map((err) => yamlProblem(err, doc, CONFIG_FILE, lines)));
  const at = yamlLocator(doc, text, CONFIG_FILE, lines);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw inputError(toJsProblem(err, doc, CONFIG_FILE, lines, at.origin([])));
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
  problems.push(...duplicateServices(value, at), ...sharedRoutes(value, at));
  problems.sort((a, b) => (a.origin?.line ?? 0) - (b.origin?.line ?? 0));
  if (problems.length > 0 || !result.success) throw inputError(problems);
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown, at: Locator): Problem[] {
  const fieldPath = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = formatFieldPath(fieldPath) || CONFIG_FILE;
  const found = valueAt(root, fieldPath);
  const problem = (message: string, hint?: string, p: FieldPath = fieldPath): Problem =>
    hint ? { message, origin: at.origin(p), hint } : { message, origin: at.origin(p) };
  switch (issue.code) {
    case 'unrecognized_keys': {
      // An item of a list takes the keys of the list's name (`steps[1]` those of a step).
      const owner = fieldPath.findLast((p): p is string => typeof p === 'string');
      const allowed = fieldPath.length === 0 ? TOP_KEYS : (owner && NESTED_KEYS[owner]) || SERVICE_KEYS;
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
      if (found === undefined) return [problem(`${where} is missing`, fieldHint(fieldPath))];
      return [
        problem(
          `${where} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; found ${typeName(found)}`,
          fieldHint(fieldPath),
        ),
      ];
    case 'invalid_type':
      if (found === undefined)
        return [problem(`${where} is missing`, requiredHint(fieldPath) ?? fieldHint(fieldPath))];
      return [
        problem(
          `${where} must be ${article(issue.expected)}, found ${typeName(found)}`,
          fieldHint(fieldPath),
        ),
      ];
    case 'too_small':
      if (issue.origin === 'number' || issue.origin === 'int') {
        const bound = issue.inclusive ? 'at least' : 'above';
        return [problem(`${where} must be ${bound} ${String(issue.minimum)}, found ${typeName(found)}`)];
      }
      return [problem(`${where} must not be empty`, requiredHint(fieldPath) ?? fieldHint(fieldPath))];
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int') {
        const bound = issue.inclusive ? 'at most' : 'below';
        return [problem(`${where} must be ${bound} ${String(issue.maximum)}, found ${typeName(found)}`)];
      }
      if (issue.origin === 'array') {
        return [problem(`${where} has more than ${String(issue.maximum)} items`)];
      }
      return [problem(`${where} is longer than ${String(issue.maximum)} characters`)];
    case 'invalid_format':
      // Only stateBranch has a format; names are checked by names.ts's rules (the custom issues).
      return [problem(`${where} ${quoted(String(found))} is not a valid git branch name`)];
    case 'custom': {
      const params = issue.params as Partial<Predicate> | undefined;
      if (params?.predicate) return [problem(`${where} ${issue.message}`, params.hint)];
      return [problem(`${where} ${quoted(String(found))} ${issue.message}`)];
    }
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

/**
 * Two services that name the same HTTPRoute in one namespace: Kulta rewrites the whole `rules` of a
 * route for its Rollout (contract §5), so two Rollouts on one route overwrite each other's weights.
 */
function sharedRoutes(value: Record<string, unknown>, at: Locator): Problem[] {
  const services = value.services;
  if (!Array.isArray(services)) return [];
  const first = new Map<string, { service: string; line: number }>();
  const problems: Problem[] = [];
  services.forEach((service: unknown, i) => {
    if (!isPlainObject(service) || typeof service.name !== 'string') return;
    if (typeof service.namespace !== 'string') return;
    const namespace = service.namespace;
    for (const strategy of ['canary', 'blueGreen'] as const) {
      const settings = service[strategy];
      if (!isPlainObject(settings) || typeof settings.httpRoute !== 'string') continue;
      const key = `${namespace}/${settings.httpRoute}`;
      const path = ['services', i, strategy, 'httpRoute'];
      const earlier = first.get(key);
      if (!earlier) {
        first.set(key, { service: service.name, line: at.origin(path).line });
      } else if (earlier.service !== service.name) {
        problems.push({
          message: `HTTPRoute ${quoted(settings.httpRoute)} in namespace ${namespace} is already the route of service "${earlier.service}" (line ${earlier.line})`,
          origin: at.origin(path),
          hint: "give each service its own HTTPRoute: Kulta rewrites a route's rules for one Rollout, so two would overwrite each other's weights",
        });
      }
    }
  });
  return problems;
}

/** Hints for the progressive delivery settings, by the field's name inside its mapping. */
const FIELD_HINTS: Record<string, string> = {
  'canary.steps':
    'list the steps, e.g. steps: [{weight: 10, pause: 30s}, {weight: 50, pause: gate}, {weight: 100}]',
  'steps.weight':
    'every step needs a weight from 0 to 100, e.g. weight: 25; Kulta rejects a step with only a pause: put the pause on the step with the weight',
  'analysis.metrics': 'e.g. metrics: [{name: error-rate, threshold: 5}, {name: latency-p95, threshold: 0.5}]',
  'metrics.name':
    'Kulta computes only error-rate (percent of 5xx responses) and latency-p95 (seconds) from Prometheus',
  'metrics.threshold':
    'the canary fails when the metric reaches it: e.g. 5 (error-rate, %) or 0.5 (latency-p95, s)',
  'canary.httpRoute': 'name the Gateway API HTTPRoute whose weights Kulta shifts, e.g. httpRoute: web',
  'blueGreen.httpRoute': 'name the Gateway API HTTPRoute Kulta switches to the preview, e.g. httpRoute: web',
};

function fieldHint(fieldPath: FieldPath): string | undefined {
  const names = fieldPath.filter((p): p is string => typeof p === 'string');
  return FIELD_HINTS[names.slice(-2).join('.')];
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
  if (expected === 'int') return 'a whole number';
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
