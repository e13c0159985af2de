// Bundles the CLI (dist/cli.js, a single ESM file with a shebang) and the GitHub Action (dist/action.js,
// run by the runner's node24). `--check` rebuilds both into a temporary directory and fails when the
// committed dist/ differs (stale bundle) or holds files the build no longer makes.
//
// Start-up of the CLI: `nopea --help` must not pay for the Kubernetes client, git, YAML and zod, about
// 1.7 MB of the 1.9 MB file. The command modules (src/cli/commands/*.ts, which src/cli/main.ts imports
// dynamically) are first bundled on their own as CommonJS, then placed in the CLI bundle as one CommonJS
// module: esbuild wraps that in a function that runs on the first command, so at start-up V8 only
// pre-parses it and evaluates none of it.
import { build } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const check = process.argv.includes('--check');
const outdir = check ? mkdtempSync(join(tmpdir(), 'nopea-dist-')) : 'dist';

const entries = [
  { in: 'src/cli/bin.ts', out: 'cli' },
  { in: 'src/action/bin.ts', out: 'action' },
];

const builtins = new Set(builtinModules);

/**
 * Node's own `punycode` prints a DeprecationWarning on Node 22+ (the Action runs on node24) when the
 * URL code of the Kubernetes client's fetch library loads it. The userland package of the same name and
 * API replaces it when node_modules has one; otherwise the built-in stays.
 */
let userlandPunycode;
try {
  userlandPunycode = createRequire(import.meta.url).resolve('punycode/');
} catch {
  userlandPunycode = undefined;
}

/**
 * Node built-ins are loaded when the code that uses them first runs, not at start-up. An ESM bundle
 * would import every built-in any dependency names (https, tls, child_process, ...) before the first
 * line runs, which alone costs `nopea --help` tens of milliseconds; as `require()` inside esbuild's
 * lazily initialised modules they load only for the command that needs them.
 */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (!builtins.has(name)) return undefined;
      if (args.path === 'punycode' && userlandPunycode) return { path: userlandPunycode };
      if (args.namespace === 'lazy-builtin') return { path: `node:${name}`, external: true };
      return { path: `node:${name}`, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * zod re-exports its ~40 message locales as `z.locales` (a quarter of a megabyte); nopea keeps zod's
 * default, English, which zod imports on its own. If zod moves the file, nothing matches and the build
 * simply carries every locale again.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir)) return undefined;
      // The module's path names it in the bundle: keep it free of where the checkout lives, or dist/
      // would differ between two clones of the same commit.
      const dir = join(args.resolveDir, '..', 'locales');
      return { path: 'zod/v4/locales/en-only.js', namespace: 'zod-locales', pluginData: { dir } };
    });
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: args.pluginData.dir,
      loader: 'js',
    }));
  },
};

const commandNames = readdirSync('src/cli/commands')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

const commandsBundle = (
  await build({
    stdin: {
      contents: commandNames.map((n) => `export * as ${n} from './src/cli/commands/${n}.ts';`).join('\n'),
      resolveDir: '.',
      loader: 'ts',
    },
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20.19',
    plugins: [zodEnglishOnly],
    // Minified once, in the CLI bundle: minifying twice makes esbuild warn about its own output.
    minify: false,
    legalComments: 'eof',
    logLevel: 'warning',
  })
).outputFiles[0].text;

/** `./commands/<name>.js` imported by src/cli/main.ts → that command's part of the lazy CommonJS module. */
const lazyCommands = {
  name: 'lazy-commands',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/[\w-]+\.js$/ }, (args) => {
      if (!args.importer.endsWith(join('src', 'cli', 'main.ts'))) return undefined;
      const name = args.path.slice('./commands/'.length, -'.js'.length);
      if (!commandNames.includes(name)) return undefined;
      return { path: name, namespace: 'cli-command' };
    });
    b.onLoad({ filter: /.*/, namespace: 'cli-command' }, (args) => ({
      contents: `module.exports = require('nopea-cli-commands')[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^nopea-cli-commands$/ }, () => ({ path: 'commands', namespace: 'cli-commands' }));
    b.onLoad({ filter: /.*/, namespace: 'cli-commands' }, () => ({ contents: commandsBundle, loader: 'js' }));
  },
};

await build({
  entryPoints: entries,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The CLI supports Node 20.19+; the Action runs on node24, which runs the same syntax.
  target: 'node20.19',
  minify: true,
  legalComments: 'eof',
  plugins: [lazyCommands, zodEnglishOnly, lazyBuiltins],
  // The commands module is dependency code that esbuild would otherwise lint as ours.
  logOverride: { 'equals-negative-zero': 'silent' },
  banner: {
    // Some dependencies still call require(), and so do the lazy built-ins: give ESM output a real one.
    js: "import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

if (check) {
  const stale = [];
  const built = readdirSync(outdir);
  for (const name of built) {
    const committed = join('dist', name);
    if (!existsSync(committed) || !readFileSync(committed).equals(readFileSync(join(outdir, name))))
      stale.push(committed);
  }
  for (const name of existsSync('dist') ? readdirSync('dist') : []) {
    if (!built.includes(name)) stale.push(`dist/${name} (no longer built)`);
  }
  rmSync(outdir, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dist/ is stale (${stale.join(', ')}); run \`npm run build\` and commit dist/.`);
    process.exit(1);
  }
  console.log('dist/ is up to date');
}
