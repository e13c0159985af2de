// Kulta's CRD (`rollouts.kulta.io`), read from ../shared/kulta/source/deploy/crd.yaml and repaired at
// load time, because the file does not install as published (kulta-contract.md §1, kulta/README.md):
// - keep only v1alpha1 (served and storage): the controller watches v1alpha1, and v1beta1 would need
//   the conversion webhook;
// - drop spec.conversion (a Webhook pointing at a Service that does not exist makes every Rollout read
//   and write fail);
// - replace each of the seven `anyOf: [{type: string, enum}, {enum: [null], nullable: true}]` with
//   `type: string` + `enum` + `nullable: true` (schemars 1.x output that is not a structural schema).
// The repaired object is cached as JSON next to the builds, keyed by the file's hash, because parsing
// the 1.3 MB YAML takes most of a second and a warm `cluster:up` must stay fast.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

export const KULTA_CRD_NAME = 'rollouts.kulta.io';
/** Annotation on the installed CRD naming the repaired manifest's hash, so reuse can tell it is current. */
export const KULTA_CRD_HASH_ANNOTATION = 'nopea.test/kulta-crd';
/** Bumped whenever repairKultaCrd changes what it produces. */
const REPAIR_VERSION = 1;
/** How many `anyOf` enums the published v1alpha1 schema has (contract §1). */
const EXPECTED_ANY_OF = 7;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Default Kulta source: ../shared/kulta/source beside the checkout, or NOPEA_KULTA_SOURCE. */
export function kultaSourceDir(repoRoot: string): string {
  return process.env.NOPEA_KULTA_SOURCE
    ? path.resolve(process.env.NOPEA_KULTA_SOURCE)
    : path.resolve(repoRoot, '..', 'shared', 'kulta', 'source');
}

export interface RepairedCrd {
  crd: JsonObject;
  /** JSON paths of the `anyOf` enums that were replaced. */
  replaced: string[];
}

/**
 * Returns the installable CRD for a parsed `deploy/crd.yaml`. Throws when the input is not shaped as
 * the contract describes (another version set, a different number of `anyOf` enums, another anyOf
 * shape), so a changed Kulta source is noticed instead of half-repaired.
 */
export function repairKultaCrd(published: unknown, hash?: string): RepairedCrd {
  if (!isObject(published) || published.kind !== 'CustomResourceDefinition') {
    throw new Error('Kulta crd.yaml: expected one CustomResourceDefinition');
  }
  const crd = structuredClone(published);
  const metadata = crd.metadata;
  const spec = crd.spec;
  if (!isObject(metadata) || metadata.name !== KULTA_CRD_NAME || !isObject(spec)) {
    throw new Error(`Kulta crd.yaml: expected metadata.name ${KULTA_CRD_NAME} and a spec`);
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  const v1alpha1 = versions.find((v) => isObject(v) && v.name === 'v1alpha1');
  if (!isObject(v1alpha1)) throw new Error('Kulta crd.yaml: no v1alpha1 version');
  v1alpha1.served = true;
  v1alpha1.storage = true;
  spec.versions = [v1alpha1];
  delete spec.conversion;

  const replaced: string[] = [];
  const walk = (node: Json, at: string): Json => {
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${at}[${i}]`));
    if (!isObject(node)) return node;
    if ('anyOf' in node) {
      const fixed = repairAnyOfEnum(node, at);
      replaced.push(at);
      return fixed;
    }
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) out[key] = walk(value, `${at}.${key}`);
    return out;
  };
  v1alpha1.schema = walk(v1alpha1.schema ?? null, 'v1alpha1.schema');
  if (replaced.length !== EXPECTED_ANY_OF) {
    throw new Error(
      `Kulta crd.yaml: expected ${EXPECTED_ANY_OF} anyOf enums in v1alpha1, found ${replaced.length}` +
        ` (${replaced.join(', ')}); update test/cluster/kulta-crd.ts`,
    );
  }
  if (hash) {
    metadata.annotations = {
      ...(isObject(metadata.annotations) ? metadata.annotations : {}),
      [KULTA_CRD_HASH_ANNOTATION]: hash,
    };
  }
  return { crd, replaced };
}

function repairAnyOfEnum(node: JsonObject, at: string): JsonObject {
  const branches = node.anyOf;
  const [values, nullBranch] = Array.isArray(branches) ? branches : [];
  const isStringEnum =
    Array.isArray(branches) &&
    branches.length === 2 &&
    isObject(values) &&
    values.type === 'string' &&
    Array.isArray(values.enum) &&
    values.enum.every((v) => typeof v === 'string') &&
    isObject(nullBranch) &&
    nullBranch.nullable === true &&
    Array.isArray(nullBranch.enum) &&
    nullBranch.enum.length === 1 &&
    nullBranch.enum[0] === null;
  if (!isStringEnum || !isObject(values)) {
    throw new Error(`Kulta crd.yaml: unexpected anyOf at ${at}: ${JSON.stringify(node).slice(0, 300)}`);
  }
  const { anyOf: _anyOf, ...rest } = node;
  return {
    ...rest,
    ...(rest.description === undefined && values.description !== undefined
      ? { description: values.description }
      : {}),
    type: 'string',
    enum: values.enum,
    nullable: true,
  };
}

export interface KultaCrdManifest {
  /** Hash of crd.yaml and of the repair; recorded on the installed CRD as an annotation. */
  hash: string;
  /** Reads the repaired CRD as JSON (from the cache after the first time). */
  load: () => Promise<string>;
}

/** Hashes crd.yaml (cheap) and returns a loader for its repaired JSON (cached under cacheDir). */
export function kultaCrdManifest(sourceDir: string, cacheDir: string): KultaCrdManifest {
  const file = path.join(sourceDir, 'deploy', 'crd.yaml');
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch (error) {
    throw new Error(`Kulta's CRD ${file} is missing (set NOPEA_KULTA_SOURCE to Kulta's source)`, {
      cause: error,
    });
  }
  const hash = createHash('sha256')
    .update(`repair-${REPAIR_VERSION}\n`)
    .update(text)
    .digest('hex')
    .slice(0, 16);
  const cached = path.join(cacheDir, `kulta-crd-${hash}.json`);
  const load = async () => {
    try {
      return await fsp.readFile(cached, 'utf8');
    } catch {
      // Not cached yet: parse (the yaml devDependency, loaded only here) and repair.
    }
    const { parseAllDocuments } = await import('yaml');
    const documents = parseAllDocuments(text.toString('utf8')).filter((d) => d.contents !== null);
    if (documents.length !== 1)
      throw new Error(`${file}: expected one YAML document, found ${documents.length}`);
    const [document] = documents;
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
    const json = JSON.stringify(repairKultaCrd(document.toJS(), hash).crd);
    await fsp.mkdir(cacheDir, { recursive: true });
    const partial = `${cached}.${process.pid}.partial`;
    await fsp.writeFile(partial, json);
    await fsp.rename(partial, cached);
    return json;
  };
  return { hash, load };
}
