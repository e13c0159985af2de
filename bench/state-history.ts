/**
 * A state branch with a long history, for the benchmark that checks nopea reads only its tip:
 * `commits` deploy commits of one service, written with one `git fast-import` (seconds, not the
 * minutes the store would take), each adding a deploy record and dropping the oldest beyond the
 * retention of 50, the last one adding `current.json` and the memory graph folded from the records.
 */
import { execFileSync } from 'node:child_process';
import { foldAll } from '../src/memory/graph.js';
import { observationOf } from '../src/surface/memory.js';
import type { DeployRecord } from '../src/state/format.js';

const RETENTION = 50;
const START = Date.parse('2026-11-01T00:00:00.000Z');
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID for deploy `i`: its time is the deploy's, its randomness the index (sorted like time). */
function ulidOf(ms: number, i: number): string {
  let time = '';
  for (let t = ms, k = 0; k < 10; k++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32]! + time;
  let rest = '';
  for (let n = i, k = 0; k < 16; k++, n = Math.floor(n / 32)) rest = CROCKFORD[n % 32]! + rest;
  return time + rest;
}

function recordOf(i: number, service: string, namespace: string): DeployRecord {
  const started = START + i * 60_000;
  const failed = i % 7 === 3;
  const record: DeployRecord = {
    format: 1,
    id: ulidOf(started, i),
    service,
    namespace,
    source: { commit: i.toString(16).padStart(40, '0') },
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(started + 20_000).toISOString(),
    strategy: { name: 'direct', reason: 'default', by: 'default' },
    plan: { create: 0, update: 1, drift: 0, conflict: 0, unchanged: 9, prune: 0 },
    stages: [{ name: 'apply', ms: 40 }],
    outcome: failed ? 'failed' : 'succeeded',
  };
  if (failed) record.error = { kind: 'deploy', message: 'image pull', reasons: ['ImagePullBackOff'] };
  return record;
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Writes `refs/heads/<branch>` of the bare repository `gitDir` with `commits` deploy commits. */
export function writeStateHistory(
  gitDir: string,
  branch: string,
  commits: number,
  service = 'web',
  namespace = 'prod',
): void {
  const dir = `.nopea/services/${service}`;
  const chunks: string[] = [];
  const records: DeployRecord[] = [];
  for (let i = 0; i < commits; i++) {
    const record = recordOf(i, service, namespace);
    records.push(record);
    const files: string[] = [`M 100644 inline ${dir}/deploys/${record.id}.json`, data(json(record))];
    if (i === 0) files.push('M 100644 inline .nopea/format', data('1\n'));
    const expired = records[i - RETENTION];
    if (expired) files.push(`D ${dir}/deploys/${expired.id}.json`);
    if (i === commits - 1) {
      const kept = records.slice(-RETENTION);
      files.push(
        `M 100644 inline .nopea/graph.json`,
        data(json(foldAll(kept.flatMap((r) => observationOf(r) ?? [])))),
      );
      files.push(
        `M 100644 inline ${dir}/current.json`,
        data(
          json({
            format: 1,
            service,
            deployId: record.id,
            status: record.outcome,
            updatedAt: record.finishedAt,
          }),
        ),
      );
    }
    const at = Math.floor(Date.parse(record.finishedAt) / 1000);
    chunks.push(
      `commit refs/heads/${branch}`,
      `committer nopea <nopea@users.noreply.github.com> ${at} +0000`,
      data(`deploy ${service} ${record.id} ${record.outcome}\n`),
      ...files,
      '',
    );
  }
  chunks.push('done', '');
  execFileSync('git', ['fast-import', '--quiet', '--done'], { cwd: gitDir, input: chunks.join('\n') });
}

function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}`;
}
