// The command line's process: what src/cli/bin.ts starts once Node's compile cache is on.
import { hideBin } from 'yargs/helpers';
import { main } from './main.js';

// A reader that goes away (`nopea diff -o json | head -c1`) closes stdout: what nopea still has to
// print is dropped, quietly, and the command itself runs to its end (a sync still records its deploy).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
    throw err;
  });
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `nopea: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
