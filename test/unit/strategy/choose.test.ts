import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { chooseStrategy } from '../../../src/strategy/choose.js';
import type { StrategyName } from '../../../src/strategy/names.js';

const directOnly = new Set<StrategyName>(['direct']);
const all = new Set<StrategyName>(['direct', 'canary', 'blue-green']);
const canaryAdvice = {
  strategy: 'canary' as const,
  reasons: ['ImagePullBackOff broke web (confidence 0.50)'],
};

describe('chooseStrategy', () => {
  it('lets an explicit strategy win: the flag over nopea.yaml, both over memory', () => {
    expect(
      chooseStrategy({ flag: 'direct', configured: 'canary', advice: canaryAdvice, available: all }),
    ).toEqual({
      name: 'direct',
      by: 'flag',
      reason: '--strategy direct',
    });
    expect(chooseStrategy({ configured: 'blue-green', advice: canaryAdvice, available: all })).toMatchObject({
      name: 'blue-green',
      by: 'config',
    });
    expect(
      chooseStrategy({ flag: 'auto', configured: 'canary', advice: canaryAdvice, available: all }),
    ).toMatchObject({
      name: 'canary',
      by: 'memory',
    });
  });

  it('refuses an explicit strategy that cannot run, as invalid input naming where it came from', () => {
    const attempt = () => chooseStrategy({ configured: 'canary', available: directOnly });
    expect(attempt).toThrow(NopeaError);
    expect(attempt).toThrow(
      /strategy canary \(strategy: canary in nopea.yaml\) cannot run: progressive delivery/,
    );
    try {
      attempt();
    } catch (err) {
      expect((err as NopeaError).kind).toBe('input');
    }
  });

  it('follows advice it cannot run as direct, with a warning saying what memory advised and why', () => {
    const choice = chooseStrategy({ advice: canaryAdvice, available: directOnly });
    expect(choice.name).toBe('direct');
    expect(choice.by).toBe('memory');
    expect(choice.reason).toContain('advised canary (ImagePullBackOff broke web (confidence 0.50))');
    expect(choice.warning).toMatch(/^memory advises canary \(ImagePullBackOff.*\), but progressive delivery/);
  });

  it('deploys directly by default when memory knows nothing yet', () => {
    expect(chooseStrategy({ available: all })).toEqual({
      name: 'direct',
      by: 'default',
      reason: 'auto: no deploy of this service remembered yet',
    });
  });
});
