/**
 * The two YAML dialects nopea reads. Manifests are read as kubectl reads them (go-yaml v2 via
 * sigs.k8s.io/yaml: YAML 1.1, so `0644` is 420 and `on` is true), because a manifest must mean here
 * what it means to `kubectl apply`. nopea's own files are plain YAML 1.2, which has no such surprises.
 */
import type { DocumentOptions, ParseOptions, SchemaOptions } from 'yaml';

// Tags kubectl's YAML reader (go-yaml v2 via sigs.k8s.io/yaml) does not resolve: timestamps stay strings,
// `1:20` is not base-60, and binary/set/omap would produce values JSON cannot carry.
const KUBECTL_UNSUPPORTED_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:set',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
]);

/**
 * Plain YAML 1.2 with unique keys, for text that is not a Kubernetes manifest read like kubectl:
 * nopea's own `nopea.yaml`, and JSON files (parsed as YAML only for node positions).
 */
export const STRICT_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.2',
  uniqueKeys: true,
  prettyErrors: false,
};

/** YAML options matching kubectl: version 1.1 scalars, merge keys, unique keys, no exotic tags. */
export const KUBECTL_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  merge: true,
  uniqueKeys: true,
  prettyErrors: false,
  // Problems are reported as values; the library must not print warnings of its own.
  logLevel: 'error',
  customTags: (tags) =>
    tags.filter((tag) => {
      if (typeof tag !== 'object' || !('tag' in tag)) return true;
      return !KUBECTL_UNSUPPORTED_TAGS.has(tag.tag) && tag.format !== 'TIME';
    }),
};
