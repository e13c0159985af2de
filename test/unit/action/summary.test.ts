import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { clampMarkdown, renderSummary, SUMMARY_LIMIT } from '../../../src/action/summary.js';
import type { PlanEntry } from '../../../src/plan/types.js';
import { entry, plan, moved, synced, waitingRollout } from './fixtures.js';

const bytes = (s: string): number => Buffer.byteLength(s);

/** An entry whose diff is about `size` bytes. */
function bigEntry(i: number, size: number): PlanEntry {
  const e = entry(`cm-${i}`, 'update');
  e.after = { ...e.after!, data: { value: 'x'.repeat(size) } };
  return e;
}

describe('renderSummary for a sync', () => {
  it('fences diffs so that a manifest value cannot close the fence and write Markdown', () => {
    const e = entry('evil', 'update');
    // Unchanged, so in the diff's context: `   \`\`\`` there would close a plain fence.
    const value = '```\n# injected heading\n';
    e.before = { ...e.before!, body: value };
    e.after = { ...e.after!, body: value };
    const md = renderSummary({ command: 'diff', status: 'planned', plans: [plan('web', [e])] });
    const open = /^(`{3,})diff$/m.exec(md)?.[1];
    expect(open!.length).toBeGreaterThan(3);
    expect(md).toMatch(/^ {3}```$/m);
    const inside = md.slice(md.indexOf(`${open}diff`), md.indexOf(`\n${open}\n`));
    expect(inside).toContain('# injected heading');
  });

  it('shows outcome, deploy id, health, counts, the plan table and folded diffs', () => {
    const md = renderSummary({ command: 'sync', status: 'succeeded', services: [synced()] });
    expect(md).toContain('## nopea sync: succeeded');
    expect(md).toContain('### `web`: succeeded');
    expect(md).toContain(
      '- **Deploy id:** `01JDEPLOY0000000000000000A`, recorded on the state branch in `0123456789ab`',
    );
    expect(md).toContain('- **Health:** healthy: 2/2 ready after 4.2 s');
    expect(md).toContain('- **Changed:** 1 created, 2 updated, 0 pruned');
    expect(md).toContain('| Object | Change | Origin | Note |');
    expect(md).toContain('| `/ConfigMap/web/a` | create | deploy/a.yaml:3 |');
    expect(md).toContain('<details><summary><code>/ConfigMap/web/b</code> (update)</summary>');
    expect(md).not.toContain('Truncated');
  });

  it('shows the problems and an unhealthy wait of a failed sync', () => {
    const s = synced({
      outcome: 'failed',
      health: { ...synced().health!, ok: false, timedOut: true },
      error: new NopeaError('deploy', [
        { message: 'service web not healthy within 60 s' },
        { message: 'apps/Deployment/web/api: pod api-1: ImagePullBackOff' },
      ]),
    });
    const md = renderSummary({ command: 'sync', status: 'failed', services: [s] });
    expect(md).toContain('## nopea sync: failed');
    expect(md).toContain('- **Health:** not healthy within the timeout: 2/2 ready after 4.2 s');
    expect(md).toContain(
      '```text\nservice web not healthy within 60 s\napps/Deployment/web/api: pod api-1: ImagePullBackOff\n```',
    );
  });

  it('says when the health was not checked and when no deploy happened', () => {
    const noWait = renderSummary({
      command: 'sync',
      status: 'succeeded',
      services: [synced({ health: undefined })],
      wait: false,
    });
    expect(noWait).toContain('- **Health:** not checked (`wait: false`)');
    const dry = renderSummary({
      command: 'sync',
      status: 'dry-run',
      services: [synced({ outcome: 'dry-run', health: undefined, objects: [], stateCommit: undefined })],
    });
    expect(dry).toContain('## nopea sync: dry run (nothing written)');
    expect(dry).toContain('- **Health:** not checked (dry run)');
    expect(dry).toContain('- **Would change:** 1 created, 2 updated, 0 pruned');
    expect(dry).not.toContain('Deploy');
    const refused = renderSummary({
      command: 'sync',
      status: 'refused',
      services: [
        synced({
          outcome: 'failed',
          health: undefined,
          objects: [],
          stateCommit: undefined,
          error: new NopeaError('guard', 'too many prunes'),
        }),
      ],
    });
    expect(refused).toContain('- **Deploy:** none (stopped before the first write)');
  });
});

describe('renderSummary for a progressive rollout', () => {
  const rollout = waitingRollout('shop');

  it('tells how to promote or roll back a sync paused at a gate', () => {
    const md = renderSummary({
      command: 'sync',
      status: 'paused',
      services: [synced({ outcome: 'paused', rollout })],
      workflow: 'deploy.yml',
    });
    expect(md).toContain('`shop/web` waits (Progressing, step 2, 50% on the new version) for a promote');
    expect(md).toContain(
      'gh workflow run deploy.yml -f command=promote -f service=web -f deploy-id=01JDEPLOY0000000000000000A',
    );
    expect(md).toContain('-f command=rollback');
  });

  it('shows a promote that waits at the next gate, and the problems of a failed one', () => {
    const move = moved('promote', rollout);
    const paused = renderSummary({
      command: 'promote',
      status: 'paused',
      move: { ...move, outcome: 'paused' },
    });
    expect(paused).toContain('- **Service:** `web`, deploy `D1`');
    expect(paused).toContain('gh workflow run <workflow file> -f command=promote');
    const failed = renderSummary({
      command: 'promote',
      status: 'rolled-back',
      move: {
        ...move,
        outcome: 'rolled-back',
        error: new NopeaError('deploy', 'analysis failed: error-rate 0.2 > 0.05'),
      },
    });
    expect(failed).toContain('analysis failed: error-rate 0.2 > 0.05');
    expect(failed).not.toContain('gh workflow run');
  });
});

describe('renderSummary for a diff and for errors', () => {
  it('renders each plan, with a line per service when there are several', () => {
    const md = renderSummary({
      command: 'diff',
      status: 'planned',
      plans: [plan('a', [entry('x', 'create')], 'offline'), plan('b', [entry('y', 'unchanged')])],
    });
    expect(md).toContain('## nopea diff: planned');
    expect(md).toContain('- `a`: 1 to create, 0 to update');
    expect(md).toContain('### nopea plan: `a`');
    expect(md).toContain('(offline: compared with the state branch only)');
    expect(md).toContain('### nopea plan: `b`');
  });

  it('lists the problems of a failed run', () => {
    const err = new NopeaError('input', [{ message: 'bad', origin: { file: 'a.yaml', line: 2 } }]);
    const md = renderSummary({ command: 'sync', status: 'invalid', error: err });
    expect(md).toBe('## nopea sync: invalid input (nothing changed)\n\n```text\na.yaml:2: bad\n```\n');
  });
});

describe('the 1 MiB limit', () => {
  it('drops diffs with a note to stay under the budget', () => {
    const entries = Array.from({ length: 40 }, (_, i) => bigEntry(i, 50_000));
    const md = renderSummary({ command: 'diff', status: 'planned', plans: [plan('big', entries)] });
    expect(bytes(md)).toBeLessThan(SUMMARY_LIMIT);
    expect(md).toMatch(/\*\*Truncated:\*\* \d+ diff\(s\) left out/);
    // The table still lists every object.
    expect(md).toContain('| `/ConfigMap/web/cm-39` | update |');
  });

  it('cuts even a table that alone is over the budget, and says so', () => {
    const entries = Array.from({ length: 3000 }, (_, i) =>
      entry(`a-very-long-configmap-name-${i}`, 'create'),
    );
    const md = renderSummary({
      command: 'sync',
      status: 'dry-run',
      services: [synced({ outcome: 'dry-run', plan: plan('huge', entries), objects: [] })],
      maxBytes: 100_000,
    });
    expect(bytes(md)).toBeLessThanOrEqual(100_000);
    expect(md).toContain('**Truncated:** this summary was cut');
  });

  it('shares the budget between several services', () => {
    const services = ['a', 'b', 'c'].map((name) =>
      synced({
        service: name,
        plan: plan(
          name,
          Array.from({ length: 10 }, (_, i) => bigEntry(i, 20_000)),
        ),
      }),
    );
    const md = renderSummary({ command: 'sync', status: 'succeeded', services, maxBytes: 150_000 });
    expect(bytes(md)).toBeLessThanOrEqual(150_000);
    for (const name of ['a', 'b', 'c']) {
      expect(md).toContain(`### nopea plan: \`${name}\``);
      expect(md).toContain(`<code>/ConfigMap/web/cm-0</code>`);
    }
  });
});

describe('clampMarkdown', () => {
  it('returns text within the budget unchanged', () => {
    expect(clampMarkdown('short\n', 100)).toBe('short\n');
  });

  it('closes an open fence and details block', () => {
    const text = `<details><summary>x</summary>\n\n\`\`\`diff\n${'+line\n'.repeat(500)}\`\`\`\n</details>\n`;
    const out = clampMarkdown(text, 1500);
    expect(bytes(out)).toBeLessThanOrEqual(1500);
    expect(out).toMatch(/\+line\n```\n<\/details>\n\n> \*\*Truncated:\*\*/);
  });

  it('never splits a multi-byte character', () => {
    const out = clampMarkdown(`${'ü'.repeat(2000)}\n${'ü'.repeat(2000)}`, 1000);
    expect(out).not.toContain('\uFFFD');
  });

  it('closes a long fence that shorter backtick runs inside it did not close', () => {
    const text = `\`\`\`\`text\n${'line\n```\n'.repeat(300)}\`\`\`\`\n`;
    const out = clampMarkdown(text, 1500);
    expect(out).toMatch(/\n````\n\n> \*\*Truncated:\*\*/);
  });
});
