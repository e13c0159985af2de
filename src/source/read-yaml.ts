/**
 * Reading a YAML manifest file as kubectl does: a multi-document stream in which empty documents are
 * skipped and a broken document is reported without stopping the documents after it, so one typo
 * costs one problem rather than the whole file. A document after a `%YAML` or `%TAG` directive is
 * refused, as kubectl refuses it, rather than read in another YAML version than kubectl's 1.1.
 */
import { isScalar, parseAllDocuments } from 'yaml';
import type { Problem } from '../errors.js';
import type { RawDocument, RawDocuments } from './documents.js';
import { MAX_ALIAS_COUNT, nestingProblem } from './limits.js';
import { linesOf, yamlLocator } from './locate.js';
import { KUBECTL_YAML_OPTIONS } from './yaml.js';
import { collectionKeys, directiveProblem, toJsProblem, yamlProblem } from './yaml-problems.js';

/** The non-empty documents of a YAML stream, and a problem for each one that cannot be read. */
export function readYaml(text: string, file: string): RawDocuments {
  const tooDeep = nestingProblem(text, file, false);
  if (tooDeep) return { documents: [], problems: [tooDeep] };
  const lines = linesOf(text);
  const docs = parseAllDocuments(text, KUBECTL_YAML_OPTIONS);
  const documents: RawDocument[] = [];
  const problems: Problem[] = [];
  let previousEnd = 0;
  for (const doc of docs) {
    const [start, , end] = doc.range;
    const directive = directiveProblem(text.slice(previousEnd, start), previousEnd, file, lines);
    previousEnd = end;
    if (directive) {
      problems.push(directive);
      continue;
    }
    if (doc.errors.length > 0) {
      // A broken document is reported and skipped; the documents after the next `---` are still read.
      for (const err of doc.errors) problems.push(yamlProblem(err, doc, file, lines));
      continue;
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    const at = yamlLocator(doc, text, file, lines);
    const complexKeys = collectionKeys(doc, file, lines);
    if (complexKeys.length > 0) {
      problems.push(...complexKeys);
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      problems.push(toJsProblem(err, doc, file, lines, at.origin([])));
      continue;
    }
    if (value === null || value === undefined) continue;
    documents.push({ value, at });
  }
  return { documents, problems };
}
