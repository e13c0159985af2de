// No Secret value reaches the state branch, in any form and in any commit of its history: not the
// plain text, not its base64, not its unsalted sha256. Nor the printed plan and summaries.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { useNamespace } from '../../helpers/cluster.js';
import { git, makeRepo } from '../../helpers/git.js';
import { getLive, output, readState, scenario, syncCli } from './scenario.js';

/** Every form of a value that would give it away. */
function forms(value: string): string[] {
  const b64 = Buffer.from(value).toString('base64');
  return [
    value,
    b64,
    // base64 without padding, as it may appear inside longer encodings
    b64.replace(/=+$/, ''),
    createHash('sha256').update(value).digest('hex'),
    createHash('sha256').update(b64).digest('hex'),
  ];
}

/** The content of every object reachable from the branch: blobs, trees and commit messages. */
async function branchObjects(remote: string, branch: string): Promise<{ id: string; text: string }[]> {
  const list = await git(remote, 'rev-list', '--objects', `refs/heads/${branch}`);
  const ids = list
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
  const out: { id: string; text: string }[] = [];
  for (const id of ids) {
    const type = await git(remote, 'cat-file', '-t', id);
    // Trees are binary; their entry names are what can leak, and `ls-tree` prints them.
    const text = type === 'tree' ? await git(remote, 'ls-tree', id) : await git(remote, 'cat-file', '-p', id);
    out.push({ id, text });
  }
  return out;
}

describe('Secrets on the state branch', () => {
  const ns = useNamespace('sync-secret');

  it('never stores a planted value, its base64 or its sha256, in any commit', async () => {
    const plain = `plain-${randomBytes(12).toString('hex')}`;
    const data = `data-${randomBytes(12).toString('hex')}`;
    const files = await scenario(
      'secret',
      { PLAIN: plain, DATA_B64: Buffer.from(data).toString('base64') },
      'app',
    );
    const repo = await makeRepo({ files });
    onTestFinished(() => repo.cleanup());
    const args = ['app', '-s', 'vault', '-n', ns.name, '--timeout', '60s'];

    const runs = [await syncCli(args, { cwd: repo.work })];
    expect(runs[0]!.code, output(runs[0]!)).toBe(0);
    const live = await getLive(`/api/v1/namespaces/${ns.name}/secrets/credentials`);
    const liveData = live?.data as Record<string, string>;
    expect(Buffer.from(liveData.password!, 'base64').toString()).toBe(plain);
    expect(Buffer.from(liveData.token!, 'base64').toString()).toBe(data);

    // Rotate both values: the plan compares them, the last-applied entry is rewritten.
    const plain2 = `plain-${randomBytes(12).toString('hex')}`;
    const data2 = `data-${randomBytes(12).toString('hex')}`;
    const rotated = await scenario(
      'secret',
      { PLAIN: plain2, DATA_B64: Buffer.from(data2).toString('base64') },
      'app',
    );
    await writeFile(path.join(repo.work, 'app/secret.yaml'), rotated['app/secret.yaml']!);
    await repo.commitAll('rotate');
    runs.push(await syncCli(args, { cwd: repo.work }));
    expect(runs[1]!.code, output(runs[1]!)).toBe(0);
    expect(runs[1]!.stdout).toMatch(/~ update\s+\/Secret\/\S+\/credentials/);
    // A resync with nothing to change records nothing more, and prints the plan JSON with the Secret entry.
    runs.push(await syncCli([...args, '-o', 'json'], { cwd: repo.work }));
    expect(runs[2]!.code, output(runs[2]!)).toBe(0);

    const state = await readState(repo.remote, 'vault');
    expect(state.deploys).toHaveLength(2);
    expect(state.lastApplied.has(`/Secret/${ns.name}/credentials`)).toBe(true);

    const objects = await branchObjects(repo.remote, 'nopea-state');
    expect(objects.length).toBeGreaterThan(10);
    const secretFiles = objects.filter((o) => o.text.includes('"kind": "Secret"'));
    expect(secretFiles.length).toBeGreaterThanOrEqual(2);
    const planted = [plain, data, plain2, data2].flatMap(forms);
    for (const o of objects) {
      for (const p of planted)
        expect(o.text.includes(p), `object ${o.id} contains ${p}:\n${o.text}`).toBe(false);
    }
    // Nor does anything nopea printed.
    for (const r of runs) {
      for (const p of planted)
        expect(`${r.stdout}${r.stderr}`.includes(p), `output contains ${p}`).toBe(false);
    }
  });
});
