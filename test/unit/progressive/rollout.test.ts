import { describe, expect, it } from 'vitest';
import {
  nextStepStatus,
  splitOf,
  stepsOf,
  viewOf,
  walkBackWeights,
} from '../../../src/progressive/rollout.js';
import type { KubeObject } from '../../../src/resources/object.js';

function canary(status?: Record<string, unknown>, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'kulta.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'web', namespace: 'demo', ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: 4,
      strategy: {
        canary: {
          stableService: 'web-stable',
          canaryService: 'web-canary',
          steps: [
            { setWeight: 20, pause: { duration: '5s' } },
            { setWeight: 50, pause: {} },
            { setWeight: 100 },
          ],
        },
      },
    },
    ...(status ? { status } : {}),
  };
}

describe('viewOf', () => {
  it('reads the steps, the phase, the step and weight, and a manual gate', () => {
    expect(stepsOf(canary())).toEqual([
      { setWeight: 20, pause: '5s' },
      { setWeight: 50, pause: null },
      { setWeight: 100 },
    ]);
    expect(viewOf(canary())).toMatchObject({
      strategy: 'canary',
      atGate: false,
      replicas: 4,
      promoting: false,
    });
    const gate = viewOf(
      canary({
        phase: 'Progressing',
        currentStepIndex: 1,
        currentWeight: 50,
        pauseStartTime: '2026-12-01T10:00:00Z',
      }),
    );
    expect(gate).toMatchObject({ phase: 'Progressing', step: 1, weight: 50, atGate: true });
    // A timed pause is not a gate: it ends by itself.
    expect(viewOf(canary({ phase: 'Progressing', currentStepIndex: 0, pauseStartTime: 'x' })).atGate).toBe(
      false,
    );
    expect(viewOf(canary(undefined, { 'kulta.io/promote': 'true' })).promoting).toBe(true);
  });

  it('sees a blue-green Rollout in Preview as waiting for its promotion', () => {
    const bg: KubeObject = {
      apiVersion: 'kulta.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: 'demo' },
      spec: {
        replicas: 2,
        strategy: { blueGreen: { activeService: 'web-active', previewService: 'web-preview' } },
      },
      status: { phase: 'Preview' },
    };
    expect(viewOf(bg)).toMatchObject({ strategy: 'blue-green', atGate: true, steps: [] });
  });
});

describe('the status writes of contract §9', () => {
  it('moves exactly one step on, Completed at the last', () => {
    const at = (step: number) =>
      viewOf(canary({ phase: 'Progressing', currentStepIndex: step, currentWeight: 0 }));
    expect(nextStepStatus(at(0), Date.parse('2026-12-01T10:00:00.000Z'))).toEqual({
      phase: 'Progressing',
      currentStepIndex: 1,
      currentWeight: 50,
      pauseStartTime: '2026-12-01T10:00:00Z',
    });
    expect(nextStepStatus(at(1), 0)).toMatchObject({
      phase: 'Completed',
      currentStepIndex: 2,
      currentWeight: 100,
    });
  });

  it('walks replicas back one at a time and splits like Kulta', () => {
    expect(walkBackWeights(4)).toEqual([75, 50, 25]);
    expect(walkBackWeights(1)).toEqual([]);
    expect(splitOf(4, 20)).toEqual({ stable: 3, canary: 1 });
    expect(splitOf(2, 80)).toEqual({ stable: 0, canary: 2 });
    expect(splitOf(4, 0)).toEqual({ stable: 4, canary: 0 });
  });
});
