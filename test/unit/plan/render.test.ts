import { describe, expect, it } from 'vitest';
import { planService } from '../../../src/plan/classify.js';
import { fenced, renderMarkdown, renderText, summaryLine, unifiedDiff } from '../../../src/plan/render.js';
import { deploymentIntent, desiredOf, dryRun, live, nopeaFields } from './fixtures.js';

function samplePlan() {
  const before = deploymentIntent('registry.local/api:v1');
  const now = deploymentIntent('registry.local/api:v2');
  const l = live(before, [{ manager: 'nopea', operation: 'Apply', fieldsV1: nopeaFields() }]);
  return planService({
    service: 'web',
    mode: 'cluster',
    stateCommit: 'abcdef1234567890',
    objects: [{ desired: desiredOf(now), intent: now, lastApplied: before, live: l, dryRun: dryRun(now, l) }],
    prune: [],
  });
}

/** The same change planned offline: against what nopea last applied, no cluster. */
function offlinePlan() {
  const before = deploymentIntent('registry.local/api:v1');
  const now = deploymentIntent('registry.local/api:v2');
  return planService({
    service: 'web',
    mode: 'offline',
    stateCommit: 'abcdef1234567890',
    objects: [{ desired: desiredOf(now), intent: now, lastApplied: before }],
    prune: [],
  });
}

describe('render', () => {
  it('renders a kubectl-style unified diff without colour off a TTY', () => {
    const text = renderText(samplePlan(), { color: false });
    expect(text).toContain('~ update    apps/Deployment/web/api  deploy/api.yaml:1');
    expect(text).toContain('--- apps/Deployment/web/api (live)');
    expect(text).toContain('+++ apps/Deployment/web/api (after sync)');
    expect(text).toMatch(/^-\s+- image: registry.local\/api:v1$/m);
    expect(text).toMatch(/^\+\s+- image: registry.local\/api:v2$/m);
    expect(text).toContain(
      'Plan: 0 to create, 1 to update, 0 drifted, 0 in conflict, 0 to prune, 0 unchanged.',
    );
    expect(text).not.toContain('\u001b[');
  });

  it('colours only when asked', () => {
    expect(renderText(samplePlan(), { color: true })).toContain('\u001b[');
  });

  it('renders Markdown with a table and folded diffs, truncating with a note', () => {
    const md = renderMarkdown(samplePlan());
    expect(md).toContain('| `apps/Deployment/web/api` | update | deploy/api.yaml:1 |');
    expect(md).toContain('<details><summary><code>apps/Deployment/web/api</code> (update)</summary>');
    const small = renderMarkdown(samplePlan(), { maxBytes: 600 });
    expect(small).toContain('**Truncated:** 1 diff(s) left out');
    expect(Buffer.byteLength(small)).toBeLessThanOrEqual(600);
  });

  it('renders nothing for unchanged entries', () => {
    const plan = samplePlan();
    expect(
      unifiedDiff(
        { ...plan.entries[0]!, action: 'unchanged', before: undefined, after: undefined },
        plan.mode,
      ),
    ).toBe('');
  });

  it('labels the before side of an offline diff as last applied, in text and Markdown', () => {
    const plan = offlinePlan();
    const text = renderText(plan, { color: false });
    const md = renderMarkdown(plan);
    for (const out of [text, md]) {
      expect(out).toContain('--- apps/Deployment/web/api (last applied)');
      expect(out).not.toContain('(live)');
    }
  });

  it('fences Markdown diffs so that no manifest value can close the fence', () => {
    const plan = samplePlan();
    const e = plan.entries[0]!;
    // A top-level block scalar next to a change lands in the diff's context as `   \`\`\``, which
    // closes a plain fence, and the heading after it would be Markdown.
    const value = '```\n# injected heading\n';
    const doc = (v: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'api' },
      body: value,
      data: { v },
    });
    e.before = doc('old');
    e.after = doc('new');
    const md = renderMarkdown(plan);
    expect(md).toMatch(/^ {3}```$/m);
    const open = /^(`{3,})diff$/m.exec(md)?.[1] ?? '';
    expect(open.length).toBeGreaterThan(3);
    const inside = md.slice(md.indexOf(`${open}diff\n`), md.indexOf(`\n${open}\n`));
    expect(inside).toContain('# injected heading');
  });
});

describe('fenced', () => {
  it('uses a fence longer than any backtick run in the text', () => {
    expect(fenced('a ```` b')).toBe('`````text\na ```` b\n`````\n');
    expect(fenced('plain')).toBe('```text\nplain\n```\n');
    expect(fenced('+x', 'diff')).toBe('```diff\n+x\n```\n');
  });
});

describe('summary line', () => {
  it('does not count kept prune entries as deletions', () => {
    const plan = planService({
      service: 'web',
      mode: 'offline',
      objects: [],
      prune: [
        {
          id: '/ConfigMap/web/old',
          apiVersion: 'v1',
          lastApplied: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old' } },
        },
        {
          id: '/ConfigMap/web/keep',
          apiVersion: 'v1',
          lastApplied: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'keep', annotations: { 'nopea.dev/prune': 'disabled' } },
          },
        },
      ],
    });
    expect(summaryLine(plan)).toBe(
      '0 to create, 0 to update, 0 drifted, 0 in conflict, 1 to prune (1 kept), 0 unchanged',
    );
  });
});
