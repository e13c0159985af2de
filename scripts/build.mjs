// Bundles the CLI (dist/cli.js) into a single ESM file with a shebang. `--check` rebuilds into a
// temporary directory and fails when the committed dist/ differs (stale bundle).
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const check = process.argv.includes('--check');
const outdir = check ? mkdtempSync(join(tmpdir(), 'nopea-dist-')) : 'dist';

const entries = [{ in: 'src/cli/bin.ts', out: 'cli' }];

await build({
  entryPoints: entries,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  minify: true,
  legalComments: 'eof',
  banner: {
    // Some dependencies still call require(); give ESM output a real one.
    js: "import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

if (check) {
  const stale = [];
  for (const name of readdirSync(outdir)) {
    const committed = join('dist', name);
    if (!existsSync(committed) || !readFileSync(committed).equals(readFileSync(join(outdir, name))))
      stale.push(committed);
  }
  rmSync(outdir, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dist/ is stale (${stale.join(', ')}); run \`npm run build\` and commit dist/.`);
    process.exit(1);
  }
  console.log('dist/ is up to date');
}
