import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import {
  DEFAULT_CANARY_STEPS,
  checkCanarySteps,
  formatCanarySteps,
  kultaDuration,
  parseCanarySteps,
  readKultaDuration,
  readPause,
} from '../../../src/strategy/steps.js';

/** The problems `--canary-steps <text>` is refused with, as `message (hint)` lines. */
function refused(text: string): string[] {
  try {
    parseCanarySteps(text);
  } catch (err) {
    expect(err).toBeInstanceOf(NopeaError);
    expect((err as NopeaError).kind).toBe('input');
    return (err as NopeaError).problems.map((p) => (p.hint ? `${p.message} (${p.hint})` : p.message));
  }
  throw new Error(`expected --canary-steps "${text}" to be refused`);
}

describe('parseCanarySteps', () => {
  it('reads weights with a timed pause, a manual gate or none', () => {
    expect(parseCanarySteps('10:30s,50:gate,100')).toEqual([
      { weight: 10, pause: { seconds: 30 } },
      { weight: 50, pause: 'gate' },
      { weight: 100 },
    ]);
    expect(parseCanarySteps(' 5 : 1m30s , 20:2h, 20 : 90m ,100 ')).toEqual([
      { weight: 5, pause: { seconds: 90 } },
      { weight: 20, pause: { seconds: 7200 } },
      { weight: 20, pause: { seconds: 5400 } },
      { weight: 100 },
    ]);
    expect(parseCanarySteps('100')).toEqual([{ weight: 100 }]);
  });

  it('names the flag it was given as', () => {
    expect(() => parseCanarySteps('50', 'canary-steps')).toThrow(
      /^canary-steps step 1 weight is 50 on the last step/,
    );
  });

  it('refuses an empty flag, an empty step and a step with two pauses', () => {
    expect(refused(' ')).toEqual([
      '--canary-steps is empty (give the steps as weight:pause, e.g. --canary-steps "10:30s,50:gate,100")',
    ]);
    expect(refused('10:30s,,100')).toEqual([
      '--canary-steps step 2 is empty (separate the steps with single commas: 10:30s,50:gate,100)',
    ]);
    expect(refused('10:30s:gate,100')).toEqual([
      '--canary-steps step 1 "10:30s:gate" is not weight or weight:pause (e.g. 100, 10:30s or 50:gate)',
    ]);
  });

  it('refuses weights that are not whole percentages, every one at once', () => {
    expect(refused('ten:30s,10%,12.5,150,100')).toEqual([
      '--canary-steps step 1 weight must be a whole number from 0 to 100 (the percent of replicas on the new version), found "ten"',
      '--canary-steps step 2 weight must be a whole number from 0 to 100 (the percent of replicas on the new version), found "10%"',
      '--canary-steps step 3 weight must be a whole number from 0 to 100 (the percent of replicas on the new version), found "12.5"',
      '--canary-steps step 4 weight must be a whole number from 0 to 100 (the percent of replicas on the new version), found 150',
    ]);
  });

  it('refuses pauses Kulta cannot be given, saying what to write instead', () => {
    const howTo = 'write whole seconds, minutes or hours (30s, 5m, 1h30m), or gate to wait for nopea promote';
    expect(refused('10:30,20:Gate,30:,40:7d,50:0s,60:200h,70:24h1m,80:1.5m,100')).toEqual([
      '--canary-steps step 1 pause "30" needs a unit (write 30s, 30m or 30h, or gate to wait for nopea promote)',
      `--canary-steps step 2 pause "Gate" is not a duration or gate (${howTo})`,
      `--canary-steps step 3 pause "" is not a duration or gate (${howTo})`,
      '--canary-steps step 4 pause "7d" is not a duration or gate (Kulta has no unit for days: write 168h (at most 168h))',
      '--canary-steps step 5 pause "0s" is no time at all: Kulta refuses a zero duration (leave the pause out to move on at once)',
      '--canary-steps step 6 pause "200h" is longer than Kulta allows (168h, 7 days) (use at most 168h, or gate to wait for a promote however long it takes)',
      '--canary-steps step 7 pause "24h1m" cannot be given to Kulta, which reads one number and one unit (at most 86400s, 1440m or 168h) (above 24h use whole hours: 24h or 25h)',
      `--canary-steps step 8 pause "1.5m" is not a duration or gate (${howTo})`,
    ]);
  });

  it('refuses steps out of order: weights going down, 100 before the end, no 100 at the end, a pause on it', () => {
    expect(refused('50:gate,25:30s,100')).toEqual([
      '--canary-steps step 2 weight 25 is lower than the step before (50): weights must not go down (a canary only moves forward; to go back to the old version, run nopea rollback)',
    ]);
    expect(refused('10:30s,100:gate,100')).toEqual([
      '--canary-steps step 2 weight is 100 before the last step: a step of 100 ends the rollout (lower it below 100, or make it the last step)',
    ]);
    expect(refused('10:30s,50:gate')).toEqual([
      '--canary-steps step 2 weight is 50 on the last step: the last step must be 100 (end with 100: after its last step Kulta moves every replica to the new version anyway)',
    ]);
    expect(refused('10:30s,100:gate')).toEqual([
      '--canary-steps step 2 pause is on the last step, which ends the rollout at 100: there is nothing left to wait for (put the pause on the step before)',
    ]);
  });

  it('formats steps back into the flag form, in the unit Kulta is given', () => {
    const steps = parseCanarySteps('10:120s,20:1h30m,50:gate,100');
    expect(formatCanarySteps(steps)).toBe('10:2m,20:90m,50:gate,100');
    expect(parseCanarySteps(formatCanarySteps(steps))).toEqual(steps);
  });
});

describe('DEFAULT_CANARY_STEPS', () => {
  it('is 10, 25 and 50 with 30 s each, then 100, and passes every rule', () => {
    expect(formatCanarySteps(DEFAULT_CANARY_STEPS)).toBe('10:30s,25:30s,50:30s,100');
    expect(checkCanarySteps(DEFAULT_CANARY_STEPS)).toEqual([]);
  });
});

describe('kultaDuration', () => {
  it('writes one number and one unit within Kulta’s ceilings, the largest unit that is exact', () => {
    const cases: [number, string | undefined][] = [
      [30, '30s'],
      [90, '90s'],
      [120, '2m'],
      [5400, '90m'],
      [86_399, '86399s'],
      [86_400, '24h'],
      [86_460, undefined],
      [90_000, '25h'],
      [604_800, '168h'],
      [608_400, undefined],
      [0, undefined],
      [1.5, undefined],
    ];
    for (const [seconds, written] of cases) expect(kultaDuration(seconds), String(seconds)).toBe(written);
  });
});

describe('readPause and readKultaDuration', () => {
  it('say what a pause must be when it is a number, a mapping or nothing', () => {
    expect(readPause(30)).toEqual({
      message: 'needs a unit, found the number 30',
      hint: 'write 30s, 30m or 30h, or gate to wait for nopea promote',
    });
    expect(readPause({})).toEqual({
      message: 'must be a duration such as 30s, or gate, found a mapping',
      hint: "for Kulta's pause: {} (wait for a promote) write gate; for a timed pause a duration such as 30s",
    });
    expect(readPause(null)).toMatchObject({
      message: 'must be a duration such as 30s, or gate, found nothing',
    });
    expect(readPause(['30s'])).toMatchObject({
      message: 'must be a duration such as 30s, or gate, found a list',
    });
    expect(readPause('gate')).toEqual({ pause: 'gate' });
  });

  it('reads other Kulta durations without offering a gate', () => {
    expect(readKultaDuration('1m')).toEqual({ seconds: 60 });
    expect(readKultaDuration('gate')).toEqual({
      message: '"gate" is not a duration',
      hint: 'write whole seconds, minutes or hours (30s, 5m, 1h30m)',
    });
    expect(readKultaDuration(true)).toMatchObject({
      message: 'must be a duration such as 30s, found the boolean true',
    });
    expect(readKultaDuration('0m')).toMatchObject({ hint: 'leave it out to start at once' });
  });

  it('quotes what was written through the caller’s quote', () => {
    expect(readPause('soon', (text) => `<${text}>`)).toMatchObject({
      message: '<soon> is not a duration or gate',
    });
    expect(readPause('x'.repeat(100))).toMatchObject({
      message: `"${'x'.repeat(39)}…" is not a duration or gate`,
    });
  });
});

describe('checkCanarySteps', () => {
  it('checks steps that are already values: at least one, each valid, then their order', () => {
    expect(checkCanarySteps([])).toEqual([
      { message: 'are empty: Kulta needs at least one step', hint: 'e.g. 10:30s,50:gate,100' },
    ]);
    expect(
      checkCanarySteps([{ weight: 101 }, { weight: 50, pause: { seconds: 86_460 } }, { weight: 100 }]),
    ).toEqual([
      {
        index: 0,
        field: 'weight',
        message:
          'must be a whole number from 0 to 100 (the percent of replicas on the new version), found 101',
      },
      {
        index: 1,
        field: 'pause',
        message: 'of 86460 seconds cannot be given to Kulta',
        hint: 'use whole seconds from 1 to 604800 that Kulta can write as one number and unit',
      },
    ]);
    expect(checkCanarySteps([{ weight: 50 }, { weight: 20 }])).toHaveLength(2);
  });
});
