import { describe, expect, it } from 'vitest';
import { planService } from '../../../src/plan/classify.js';
import { renderMarkdown, renderText, summaryLine, unifiedDiff } from '../../../src/plan/render.js';
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
      unifiedDiff({ ...plan.entries[0]!, action: 'unchanged', before: undefined, after: undefined }),
    ).toBe('');
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
