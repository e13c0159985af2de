/**
 * The import rules `.ci/run` checks (dependency-cruiser): no circles, and no arrow back up the
 * layers of DESIGN.md's module map. From the bottom: `errors.ts` and `resources/`; then the stages
 * that know one thing each (`source/`, `plan/`, `cluster/`, `state/`, `memory/`); then those that
 * combine them (`health/`, `apply/`, `strategy/`, `progressive/`, `metrics/` — which hooks the API
 * client's request observer — and `events/`, which delivers CDEvents and drives a run's metrics);
 * then `surface/`, the facade; on top the interfaces (`cli/`, `action/`, `mcp/`, `http/`), which are
 * peers.
 */
const below = (...folders) => `^src/(${folders.join('|')})/`;

/** What each folder may import besides itself and the root modules every layer shares (errors, poll, duration, version). */
const ALLOWED = {
  resources: [],
  source: ['resources'],
  plan: ['resources'],
  cluster: ['resources'],
  state: ['resources', 'memory'],
  memory: ['resources'],
  health: ['resources', 'cluster'],
  apply: ['resources', 'cluster', 'health', 'plan'],
  strategy: ['resources', 'cluster', 'health', 'plan', 'apply', 'memory'],
  progressive: ['resources', 'cluster', 'health', 'plan', 'apply', 'strategy'],
  events: ['resources', 'state', 'memory', 'metrics'],
  metrics: ['resources', 'cluster'],
};
const LAYERS = [...Object.keys(ALLOWED), 'surface'];
const INTERFACES = ['cli', 'action', 'mcp', 'http'];

/**
 * The strategy vocabulary imports nothing but errors.ts: `nopea.yaml` (source) and the deploy record
 * (state) use it — the strategy names, and the canary steps and analysis with their rules.
 */
const SHARED_VOCABULARY = '^src/strategy/(names|steps)\\.ts$';

/** The CLI commands that start a server interface (`nopea serve`, `nopea mcp`): the binary hosts them. */
const SERVER_COMMANDS = '^src/cli/commands/(serve|mcp)\\.ts$';

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import circles make modules impossible to read, test or load one at a time.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...Object.entries(ALLOWED).map(([folder, allowed]) => ({
      name: `layers-${folder}`,
      comment: `src/${folder}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing else in src'} (and errors.ts, poll.ts, duration.ts).`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: {
        path: '^src/',
        pathNot: [
          `^src/(${[folder, ...allowed].join('|')})/`,
          '^src/(errors|poll|duration|version)\\.ts$',
          SHARED_VOCABULARY,
        ],
      },
    })),
    {
      name: 'surface-below-interfaces',
      comment: 'The facade never imports an interface.',
      severity: 'error',
      from: { path: '^src/surface/' },
      to: { path: below(...INTERFACES) },
    },
    ...INTERFACES.map((iface) => ({
      name: `interfaces-are-peers-${iface}`,
      comment: `src/${iface}/ imports no other interface: shared helpers live below them.`,
      severity: 'error',
      from: { path: `^src/${iface}/`, pathNot: SERVER_COMMANDS },
      to: { path: below(...INTERFACES.filter((i) => i !== iface)) },
    })),
    {
      name: 'pure-plan-and-memory',
      comment: 'plan/ and memory/ are pure: no file system, processes or network.',
      severity: 'error',
      from: { path: below('plan', 'memory') },
      to: {
        path: '^(node:)?(fs|fs/promises|child_process|net|http|https|dgram|os)$',
        dependencyTypes: ['core'],
      },
    },
    {
      name: 'root-modules-at-the-bottom',
      comment: 'The root modules import nothing from src but errors.ts.',
      severity: 'error',
      from: { path: '^src/(errors|poll|duration)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/errors\\.ts$' },
    },
    {
      name: 'no-src-from-outside-layers',
      comment: `Every module under src/ belongs to a known folder: ${[...LAYERS, ...INTERFACES].join(', ')}.`,
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${[...LAYERS, ...INTERFACES].join('|')})/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a circle through types is still a circle for a reader.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
