// Bundles the CLI (dist/cli.js, an ESM entry with a shebang, and its chunks under dist/cli/) and the
// GitHub Action (dist/action.js, one file, run by the runner's node24). `--check` rebuilds both into a
// temporary directory and fails when the committed dist/ differs (stale bundle) or holds files the
// build no longer makes.
//
// Start-up of the CLI: every run pays for parsing and evaluating the code it loads, so a command loads
// only its own (code splitting: src/cli/main.ts imports each command's module dynamically), and
// `nopea --help` none of the Kubernetes client, git, YAML or zod.
import { build } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const check = process.argv.includes('--check');
const outdir = check ? mkdtempSync(join(tmpdir(), 'nopea-dist-')) : 'dist';
// Chunk names carry content hashes: a build starts from an empty dist/, or old chunks would stay.
if (!check) rmSync(outdir, { recursive: true, force: true });

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

/**
 * nopea takes one thing from the Kubernetes client: `KubeConfig` (kubeconfig files, contexts, auth
 * plugins). The package's index loads the whole generated API with it (a thousand model and API
 * classes, half of the client's bundle and tens of milliseconds at start-up), and so does config.js
 * for two helpers of the generated `ApiClient`s nopea never makes. The index resolves to config.js,
 * and config.js's import of the generated code to just those two helpers. src/cluster/connect.ts is
 * the one importer, of `KubeConfig` alone.
 */
const kubeConfigOnly = {
  name: 'kube-config-only',
  setup(b) {
    const dist = join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')));
    b.onResolve({ filter: /^@kubernetes\/client-node$/ }, () => ({ path: join(dist, 'config.js') }));
    b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) => {
      if (args.importer !== join(dist, 'config.js')) return undefined;
      return {
        path: 'client-node/gen-for-config.js',
        namespace: 'kube-config-only',
        pluginData: { dir: join(dist, 'gen') },
      };
    });
    b.onLoad({ filter: /.*/, namespace: 'kube-config-only' }, (args) => ({
      contents:
        "export { createConfiguration } from './configuration.js';\nexport { ServerConfiguration } from './servers.js';",
      resolveDir: args.pluginData.dir,
      loader: 'js',
    }));
    // node-fetch, and the whatwg-url and tr46 (a 300 kB mapping table) it brings, are four fifths of
    // what is left. They serve config.js's applyToFetchOptions (its `Headers`) and the generated API's
    // fetch, neither of which nopea calls (it sends its own requests, src/cluster/client.ts); Node's own
    // Headers and fetch stand in for them.
    b.onResolve({ filter: /^node-fetch$/ }, (args) => {
      if (!args.importer.startsWith(dist)) return undefined;
      return { path: 'client-node/node-fetch.js', namespace: 'kube-config-fetch' };
    });
    b.onLoad({ filter: /.*/, namespace: 'kube-config-fetch' }, () => ({
      // Looked up when called: reading Node's global Headers or fetch loads its undici (~20 ms).
      contents:
        'export function Headers(init) {\n  return new globalThis.Headers(init);\n}\nexport default (...args) => globalThis.fetch(...args);',
      loader: 'js',
    }));
  },
};

/**
 * yargs renders the whole help text of a command right after starting its handler, to have it at hand
 * should the handler fail and yargs print it (tens of milliseconds of text wrapping at the start of
 * every sync). nopea's fail handler never prints yargs' help for a handler's error, so the call goes.
 * `--help` does not use the cache and is unaffected. If yargs changes the line, the build stops here.
 */
const YARGS_HELP_CACHE = 'yargs.getInternalMethods().getUsageInstance().cacheHelpMessage();';
const yargsNoHelpCache = {
  name: 'yargs-no-help-cache',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]yargs[\\/]build[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(YARGS_HELP_CACHE)) {
        throw new Error(`${args.path} no longer caches the help text as expected: review yargsNoHelpCache`);
      }
      return { contents: source.replace(YARGS_HELP_CACHE, ''), loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The CLI supports Node 20.19+; the Action runs on node24, which runs the same syntax.
  target: 'node20.19',
  minify: true,
  legalComments: 'eof',
  plugins: [kubeConfigOnly, zodEnglishOnly, yargsNoHelpCache, lazyBuiltins],
  banner: {
    // Some dependencies still call require(), and so do the lazy built-ins: give ESM output a real one.
    js: "import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

// The CLI: an entry that parses the command line, and chunks under dist/cli/ that src/cli/main.ts
// imports for the command named, so a command loads only the code it uses (`sync` never loads the MCP
// SDK, hono or prom-client) and `--help` none of it.
await build({
  ...common,
  entryPoints: [{ in: 'src/cli/bin.ts', out: 'cli' }],
  outdir,
  splitting: true,
  chunkNames: 'cli/[name]-[hash]',
});
// The Action runs one operation per step: one file.
await build({ ...common, entryPoints: [{ in: 'src/action/bin.ts', out: 'action' }], outdir });

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

if (check) {
  const stale = [];
  const built = filesUnder(outdir);
  for (const name of built) {
    const committed = join('dist', name);
    if (!existsSync(committed) || !readFileSync(committed).equals(readFileSync(join(outdir, name))))
      stale.push(committed);
  }
  for (const name of existsSync('dist') ? filesUnder('dist') : []) {
    if (!built.includes(name)) stale.push(`dist/${name} (no longer built)`);
  }
  rmSync(outdir, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dist/ is stale (${stale.join(', ')}); run \`npm run build\` and commit dist/.`);
    process.exit(1);
  }
  console.log('dist/ is up to date');
}
