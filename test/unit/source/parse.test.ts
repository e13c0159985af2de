import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_OBJECT_BYTES } from '../../../src/source/limits.js';
import { parseManifests } from '../../../src/source/parse.js';
import { REPO } from './cases.js';

function yaml(text: string) {
  return parseManifests(text, 'm.yaml', 'yaml');
}

function objects(text: string, format: 'yaml' | 'json' = 'yaml') {
  const parsed = parseManifests(text, format === 'json' ? 'm.json' : 'm.yaml', format);
  expect(parsed.problems).toEqual([]);
  return parsed.manifests.map((m) => m.object);
}

const cm = (name: string, extra = '') =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

describe('parseManifests: YAML as kubectl reads it', () => {
  it('reads YAML 1.1 scalars: octal modes, on/yes/no booleans, timestamps as strings, merge keys', () => {
    const text = readFileSync(path.join(REPO, 'fixtures/valid/yaml11.yaml'), 'utf8');
    const [pod] = objects(text);
    const spec = pod!.spec as {
      containers: Record<string, unknown>[];
      volumes: { configMap: { defaultMode: unknown } }[];
      hostAliases: { ip: unknown; hostnames: unknown[] }[];
      schedulingGates: { name: unknown }[];
    };
    expect(spec.volumes[0]!.configMap.defaultMode).toBe(420);
    expect(spec.containers[0]).toEqual({
      imagePullPolicy: 'IfNotPresent',
      image: 'busybox',
      name: 'main',
      stdin: true,
      tty: true,
    });
    expect(spec.containers[1]).toMatchObject({
      image: 'alpine',
      stdin: false,
      imagePullPolicy: 'IfNotPresent',
    });
    expect(pod!.metadata.annotations).toEqual({ created: '2024-01-02' });
    expect(spec.schedulingGates[0]!.name).toBe('2001-12-14t21:59:43.10-05:00');
    expect(spec.hostAliases[0]!.ip).toBe('10.0.0.1');
  });

  it('keeps unquoted dates and base-60 lookalikes as strings, as go-yaml v2 does', () => {
    const [obj] = objects(cm('dates', 'data:\n  day: 2024-01-02\n  time: 12:30\n  zero: 0o644\n'));
    expect(obj!.data).toEqual({ day: '2024-01-02', time: '12:30', zero: '0o644' });
  });

  it('skips empty and comment-only documents of a multi-document stream, keeping document lines', () => {
    const text = readFileSync(path.join(REPO, 'fixtures/valid/tree/multi.yaml'), 'utf8');
    const parsed = parseManifests(text, 'tree/multi.yaml', 'yaml');
    expect(parsed.problems).toEqual([]);
    expect(parsed.manifests.map((m) => [m.object.metadata.name, m.origin])).toEqual([
      ['multi-one', { file: 'tree/multi.yaml', line: 4 }],
      ['multi-two', { file: 'tree/multi.yaml', line: 11 }],
    ]);
  });

  it('returns nothing for an empty file, a comment-only file or a lone "---"', () => {
    for (const text of ['', '\n\n', '# nothing here\n', '---\n', '---\n...\n', '\uFEFF']) {
      expect(yaml(text)).toEqual({ manifests: [], problems: [] });
    }
  });

  it('flattens kind: List, each item keeping its own line', () => {
    const text = readFileSync(path.join(REPO, 'fixtures/valid/tree/list.yaml'), 'utf8');
    const parsed = parseManifests(text, 'list.yaml', 'yaml');
    expect(parsed.manifests.map((m) => [m.object.kind, m.object.metadata.name, m.origin.line])).toEqual([
      ['ConfigMap', 'item-one', 4],
      ['ConfigMap', 'item-two', 9],
    ]);
  });

  it('flattens typed lists (DeploymentList) and nested lists the way kubectl does', () => {
    const text = [
      'apiVersion: apps/v1',
      'kind: DeploymentList',
      'items:',
      '  - apiVersion: v1',
      '    kind: List',
      '    items:',
      '      - {apiVersion: v1, kind: ConfigMap, metadata: {name: inner}}',
      '  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}',
    ].join('\n');
    const parsed = yaml(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.manifests.map((m) => [m.object.metadata.name, m.origin.line])).toEqual([
      ['inner', 7],
      ['web', 8],
    ]);
  });

  it('reports every problem of a file, pointing each at its own line, and still loads the good documents', () => {
    const text = [
      cm('good'),
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  labels:',
      '    version: 1.0',
      '---',
      'a: {b: 1',
      'c: 2',
      '---',
      cm('also-good'),
    ].join('\n');
    const parsed = yaml(text);
    expect(parsed.manifests.map((m) => m.object.metadata.name)).toEqual(['good', 'also-good']);
    expect(parsed.problems.map((p) => [p.origin?.line, p.message])).toEqual([
      [9, 'metadata.name is missing'],
      [11, 'label "version" must be a string, found the number 1'],
      [13, expect.stringContaining('flow map opened here is not closed')],
    ]);
    expect(parsed.problems[1]!.hint).toBe('quote it: version: "1.0"');
  });

  it('tells to quote YAML 1.1 booleans used as annotation values, quoting the source text', () => {
    const parsed = yaml(cm('x', '  annotations:\n    enabled: yes\n'));
    expect(parsed.problems).toEqual([
      {
        message: 'annotation "enabled" must be a string, found the boolean true',
        origin: { file: 'm.yaml', line: 6 },
        hint: 'quote it: enabled: "yes"',
      },
    ]);
  });

  it('rejects tabs used for indentation with the line', () => {
    const parsed = yaml('apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n');
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]).toMatchObject({
      origin: { file: 'm.yaml', line: 4 },
      hint: expect.stringContaining('spaces'),
    });
  });

  it('rejects duplicate keys, naming the key', () => {
    const parsed = yaml(cm('x', '  name: y\n'));
    expect(parsed.problems).toEqual([
      expect.objectContaining({ message: 'duplicate key "name" in the same mapping' }),
    ]);
    expect(parsed.problems[0]!.origin).toEqual({ file: 'm.yaml', line: 5 });
  });

  it('stops an alias bomb quickly, but allows moderate alias use', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const start = Date.now();
    const parsed = yaml(cm('bomb', `data:\n${levels.map((l) => `  ${l}`).join('\n')}\n`));
    expect(Date.now() - start).toBeLessThan(2000);
    expect(parsed.problems).toEqual([
      expect.objectContaining({ message: expect.stringContaining('too many YAML aliases') }),
    ]);

    const uses = Array.from({ length: 20 }, (_, i) => `  k${i}: *v`).join('\n');
    const ok = objects(cm('aliases', `data:\n  base: &v shared\n${uses}\n`));
    expect(Object.keys(ok[0]!.data as object)).toHaveLength(21);
  });

  it('rejects documents that are not mappings', () => {
    expect(yaml('just text\n').problems[0]!.message).toMatch(/found a string$/);
    expect(yaml('- a\n- b\n').problems[0]!.message).toContain('found a list');
    expect(yaml('42\n').problems[0]!.message).toContain('found the number 42');
  });

  it('rejects values JSON cannot carry, such as .inf', () => {
    const parsed = yaml(cm('x', 'data:\n  ratio: .nan\n'));
    expect(parsed.problems[0]).toMatchObject({
      message: 'data.ratio is NaN, which JSON (and so the API server) cannot represent',
    });
    expect(parsed.problems[0]!.origin).toEqual({ file: 'm.yaml', line: 6 });
  });

  it('refuses absurd nesting before parsing it, and accepts deep but sane documents', () => {
    const flow = (n: number) => cm('deep', `data:\n  x: ${'['.repeat(n)}${']'.repeat(n)}\n`);
    const block = (n: number) =>
      cm('deep', `spec:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i + 2)}k:`).join('\n')} 1\n`);
    const dashes = (n: number) => cm('deep', `spec:\n  list:\n  ${'- '.repeat(n)}x\n`);
    const json = (n: number) =>
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"},"x":${'['.repeat(n)}"[[[["${']'.repeat(n)}}`;
    for (const sane of [flow(200), block(200), dashes(200)]) expect(yaml(sane).problems).toEqual([]);
    expect(parseManifests(json(240), 'm.json', 'json').problems).toEqual([]);
    for (const n of [300, 100_000]) {
      for (const parsed of [
        yaml(flow(n)),
        yaml(block(Math.min(n, 2000))),
        yaml(dashes(n)),
        parseManifests(json(n), 'm.json', 'json'),
      ]) {
        expect(parsed.problems).toEqual([
          expect.objectContaining({ message: 'nested more than 256 levels deep' }),
        ]);
      }
    }
    expect(yaml(flow(300)).problems[0]!.origin).toEqual({ file: 'm.yaml', line: 6 });
  });

  it('removes null namespace, labels and annotations, which kubectl treats as absent', () => {
    const [obj] = objects(cm('x', '  namespace:\n  labels:\n  annotations: ~\n'));
    expect(obj!.metadata).toEqual({ name: 'x' });
  });

  it('rejects an object larger than the limit, naming it', () => {
    const blob = 'x'.repeat(MAX_OBJECT_BYTES);
    const parsed = yaml(cm('huge', `  namespace: apps\ndata:\n  blob: ${blob}\n`));
    expect(parsed.problems).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(
          /^ConfigMap apps\/huge is 3\.0 MiB as JSON; one object may be at most 3\.0 MiB/,
        ),
        origin: { file: 'm.yaml', line: 1 },
      }),
    ]);
  });
});

describe('parseManifests: what problems quote', () => {
  const token = 'eC1hY2Nlc3MtdG9rZW46Z2hzX0ZBS0VUT0tFTkZPUlRFU1RTMTIzNDU2';

  it('never quotes the token the parser could not place, and at most a short, masked excerpt of a line', () => {
    // A git config read as YAML: the parser quotes the token it cannot place.
    const tail = ' and more'.repeat(40);
    const gitConfig = `[http]\n\textraheader = AUTHORIZATION: basic ${token}${tail}\n`;
    const flow = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}} ghp_${'A1b2'.repeat(9)}${tail}\n`;
    for (const text of [gitConfig, flow]) {
      const { problems } = yaml(text);
      expect(problems.length).toBeGreaterThan(0);
      for (const p of problems) {
        expect(p.message.length, p.message).toBeLessThanOrEqual(140);
        expect(p.message).not.toMatch(/eC1h|ghp_/);
      }
    }
    expect(yaml(gitConfig).problems.at(-1)!.message).toBe(
      'YAML syntax error: Unexpected scalar token in YAML stream',
    );
    // Unquoted values a Secret may hold that the parser cannot read: never quoted back.
    for (const value of ['|hunter2xyz', '>hunter2xyz', '!hunter2xyz']) {
      const { problems } = yaml(
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  pw: ${value}\n`,
      );
      // (A tag the parser does not know is no error: the value is read as the tag's, empty.)
      if (!value.startsWith('!')) expect(problems.length, value).toBeGreaterThan(0);
      for (const p of problems) expect(p.message, value).not.toContain('hunter2');
    }
  });

  it('never quotes a document that is a string (a Secret that lost its structure), and quotes a long name as a short excerpt', () => {
    const line = `password ${token}${' x'.repeat(100)}`;
    expect(yaml(`"${line}"\n`).problems[0]!.message).toBe(
      'expected a Kubernetes object (a mapping), found a string',
    );
    const name = `n${'-x'.repeat(200)}`;
    const [problem] = yaml(cm(name)).problems;
    expect(problem!.message).toMatch(/^metadata\.name "n(-x)+…" is 401 characters long/);
    expect(problem!.message.length).toBeLessThan(160);
  });
});

describe("parseManifests: mistakes that are the user's, at their line", () => {
  it("refuses an alias expansion too large to serialise at the document's line, not with an internal error", () => {
    // 81 uses of a 7 MiB string stay under the alias count limit, but would expand to 567 MiB of JSON,
    // longer than the longest string V8 can build ("Invalid string length").
    const leaf = 'x'.repeat(7 * 1024 * 1024);
    const nine = (alias: string) => `[${Array(9).fill(`*${alias}`).join(', ')}]`;
    const text = `# a size bomb\napiVersion: example.com/v1\nkind: Bomb\nmetadata:\n  name: bomb\nspec:\n  leaf: &a "${leaf}"\n  nine: &b ${nine('a')}\n  eighty-one: ${nine('b')}\n`;
    expect(yaml(text).problems).toEqual([
      {
        message: 'Bomb bomb is more than 16.0 MiB as JSON; one object may be at most 3.0 MiB',
        origin: { file: 'm.yaml', line: 2 },
        hint: expect.stringContaining('a YAML alias counts in full at every use'),
      },
    ]);
  });

  it('points an undefined merge alias, and a merge of something else, at its own line', () => {
    const undefinedAlias = cm('x', 'data:\n  a: "1"\nspec:\n  template:\n    <<: *defaults\n');
    expect(yaml(undefinedAlias).problems).toEqual([
      {
        message:
          'a YAML alias (a value starting with "*") refers to an anchor ("&name") that is not defined before it in this document',
        origin: { file: 'm.yaml', line: 9 },
        hint: expect.stringContaining('quote the value if it is text that starts with "*"'),
      },
    ]);
    const list = cm('x', 'spec:\n  base: &base [1, 2]\n  merged:\n    a: 1\n    <<: [*base]\n');
    expect(yaml(list).problems).toEqual([
      {
        message:
          'the merge key "<<" must be given a mapping, an alias of one, or a list of those (as in "<<: *defaults")',
        origin: { file: 'm.yaml', line: 9 },
      },
    ]);
  });

  it('refuses a document after a %YAML directive, as kubectl does, instead of reading it as YAML 1.2', () => {
    // kubectl 1.36 on this document: "error converting YAML to JSON: yaml: found incompatible YAML
    // document". Read as YAML 1.2 it would mean mode 644 and flag "yes"; kubectl's YAML 1.1 reads 420 and
    // true, as nopea does without the directive.
    const body = cm('modes', 'data:\n  mode: "0644"\nspec:\n  mode: 0644\n  flag: yes\n');
    const parsed = yaml(`# modes\n%YAML 1.2\n---\n${body}---\n${cm('next')}`);
    expect(parsed.problems).toEqual([
      {
        message: 'kubectl cannot read a document that follows the YAML directive "%YAML 1.2"',
        origin: { file: 'm.yaml', line: 2 },
        hint: 'remove the directive: kubectl (and so nopea) reads every manifest as YAML 1.1, where 0644 is octal and yes is true',
      },
    ]);
    expect(parsed.manifests.map((m) => m.object.metadata.name)).toEqual(['next']);
    // kubectl refuses %YAML 1.1 and %TAG too ("did not find expected <document start>").
    for (const directive of ['%YAML 1.1', '%TAG !e! tag:example.com,2000:']) {
      expect(yaml(`${directive}\n---\n${body}`).problems[0]!.origin).toEqual({ file: 'm.yaml', line: 1 });
    }
    expect(objects(body)[0]!.spec).toEqual({ mode: 420, flag: true });
  });
});

describe('parseManifests: JSON', () => {
  it('reads a single object and a List with item lines', () => {
    const single = objects(
      '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"mode": "0644"}}',
      'json',
    );
    expect(single[0]!.data).toEqual({ mode: '0644' });
    const list = [
      '{',
      '  "apiVersion": "v1",',
      '  "kind": "List",',
      '  "items": [',
      '    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},',
      '    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}',
      '  ]',
      '}',
    ].join('\n');
    const parsed = parseManifests(list, 'list.json', 'json');
    expect(parsed.manifests.map((m) => [m.object.metadata.name, m.origin.line])).toEqual([
      ['a', 5],
      ['b', 6],
    ]);
  });

  it('accepts tab-indented JSON and points problems at the key line', () => {
    const text = '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {\n\t\t"name": 7\n\t}\n}\n';
    const parsed = parseManifests(text, 'm.json', 'json');
    expect(parsed.problems).toEqual([
      expect.objectContaining({
        message: 'metadata.name must be a string, found the number 7',
        origin: { file: 'm.json', line: 5 },
      }),
    ]);
  });

  it('is strict JSON: trailing commas and comments are errors with a line; duplicate keys are errors', () => {
    const trailing = parseManifests('{\n  "a": 1,\n}\n', 'm.json', 'json');
    expect(trailing.problems).toEqual([expect.objectContaining({ origin: { file: 'm.json', line: 3 } })]);
    expect(trailing.problems[0]!.message).toMatch(/^JSON syntax error: /);
    const comment = parseManifests('// hi\n{}', 'm.json', 'json');
    expect(comment.problems[0]!.message).toMatch(/^JSON syntax error/);
    const dup = parseManifests('{"apiVersion": "v1", "apiVersion": "v2"}', 'm.json', 'json');
    expect(dup.problems[0]!.message).toBe('duplicate key "apiVersion" in the same mapping');
  });

  it('never quotes the text around a JSON syntax error: it may be a Secret value', () => {
    const value = 'hunter2-VeryLongSecretValue';
    for (const text of [
      `{"apiVersion": "v1", "kind": "Secret", "stringData": {"pw": ${value}}}`,
      `{"pw": ${value}}`,
      `{\n  "apiVersion": "v1",\n  "kind": "Secret",\n  "metadata": {"name": "s"},\n  "stringData": {"pw": "a" ${value}}\n}`,
    ]) {
      const [problem] = parseManifests(text, 'm.json', 'json').problems;
      expect(problem!.message).toMatch(/^JSON syntax error: /);
      expect(problem!.message).not.toMatch(/hunter|VeryLong/);
    }
    // The line is still found, though the message that had it quoted is cut.
    const deep = `{\n  "apiVersion": "v1",\n  "kind": "Secret",\n  "metadata": {"name": "s"},\n  "stringData": {"pw": ${value}}\n}`;
    expect(parseManifests(deep, 'm.json', 'json').problems[0]!.origin).toEqual({ file: 'm.json', line: 5 });
  });

  it('treats an empty .json file like an empty YAML file', () => {
    expect(parseManifests('  \n', 'm.json', 'json')).toEqual({ manifests: [], problems: [] });
  });
});

describe('parseManifests: __proto__ keys', () => {
  // Decision: __proto__ is a legal key in JSON and Kubernetes (ConfigMap data), so it loads as an
  // ordinary own property; what must never happen is a change to any prototype.
  it('loads them as own properties without touching any prototype (YAML and JSON)', () => {
    const text = readFileSync(path.join(REPO, 'fixtures/valid/proto-payload.yaml'), 'utf8');
    const [obj] = objects(text);
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(obj!.metadata)).toBe(Object.prototype);
    expect(Object.hasOwn(obj!, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(obj, '__proto__')!.value).toEqual({ polluted: 'top' });
    expect(Object.hasOwn(obj!.data as object, '__proto__')).toBe(true);
    expect((obj as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(obj)).data.__proto__).toBe('a ConfigMap key may be called __proto__');

    const [json] = objects(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p"},"__proto__":{"polluted":1}}',
      'json',
    );
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not pollute through merge keys either', () => {
    objects(cm('m', 'data:\n  base: &b {__proto__: {polluted: 1}}\n  merged:\n    <<: *b\n'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
