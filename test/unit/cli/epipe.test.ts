import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeRepo } from '../../helpers/git.js';

const root = path.resolve(import.meta.dirname, '../../..');

describe('a closed stdout', () => {
  it('ends `diff -o json | head -c1` quietly, with the exit code of the command', async () => {
    // An offline diff of many objects prints far more than a pipe buffer holds.
    const files: Record<string, string> = {};
    for (let i = 0; i < 400; i++) {
      files[`app/cm-${i}.yaml`] =
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\ndata:\n  k: "${'v'.repeat(200)}"\n`;
    }
    const repo = await makeRepo({ withRemote: false, files });
    onTestFinished(() => repo.cleanup());

    const child = spawn(
      process.execPath,
      [
        '--import',
        path.join(root, 'node_modules/tsx/dist/esm/index.mjs'),
        path.join(root, 'src/cli/bin.ts'),
        'diff',
        '--offline',
        'app',
        '-s',
        'web',
        '-n',
        'web',
        '-o',
        'json',
      ],
      { cwd: repo.work, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Like `head -c1`: read one chunk, then close the read end.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|internal error|at .*\.ts:\d+/);
    expect(code).toBe(0);
  });
});
