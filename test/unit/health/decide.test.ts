import { describe, expect, it } from 'vitest';
import {
  failureFamily,
  failsAtOnce,
  initialState,
  nextState,
  type Decision,
  type Observation,
  type WaitState,
} from '../../../src/health/decide.js';
import type { Assessment } from '../../../src/health/assessment.js';
import type { PodFailure } from '../../../src/health/pods.js';

const DEP = 'apps/Deployment/web/api';
const JOB = 'batch/Job/web/migrate';
const opts = { failGraceMs: 15_000, crashLoopRestarts: 3 };
const progressing: Assessment = { state: 'progressing', message: '0/2 replicas available' };

function problem(reason: string, extra: Partial<PodFailure> = {}): PodFailure {
  return {
    pod: 'api-5f6b-x',
    namespace: 'web',
    uid: 'uid-1',
    container: 'api',
    reason,
    message: `${reason} message`,
    restartCount: 0,
    scope: 'container',
    ...extra,
  };
}

function obs(problems: PodFailure[], assessment: Assessment = progressing, id = DEP): Observation {
  return { id, assessment, problems };
}

/** Runs polls at the given times (ms after start) and returns every decision. */
function run(polls: [at: number, observations: Observation[]][], ids = [DEP], o = opts): Decision[] {
  let state: WaitState = initialState(ids, 1_000_000);
  const out: Decision[] = [];
  for (const [at, observations] of polls) {
    const d = nextState(state, observations, 1_000_000 + at, o);
    out.push(d);
    state = d.state;
  }
  return out;
}

describe('grace period', () => {
  it('does not fail on a pull error that clears up before the grace period', () => {
    const ds = run([
      [0, [obs([problem('ErrImagePull')])]],
      [5_000, [obs([problem('ImagePullBackOff')])]],
      [9_000, [obs([])]],
      [20_000, [obs([], { state: 'ready', message: '2/2 replicas available' })]],
    ]);
    expect(ds.map((d) => d.done)).toEqual([false, false, false, true]);
    expect(ds.at(-1)!.failed).toEqual([]);
  });

  it('fails once the same pull problem has lasted the grace period, across ErrImagePull/ImagePullBackOff', () => {
    const ds = run([
      [0, [obs([problem('ErrImagePull')])]],
      [6_000, [obs([problem('ImagePullBackOff')])]],
      [12_000, [obs([problem('ErrImagePull')])]],
      [15_000, [obs([problem('ImagePullBackOff')])]],
    ]);
    expect(ds.map((d) => d.done)).toEqual([false, false, false, true]);
    const api = ds[3]!.state.objects.get(DEP)!;
    expect(api).toMatchObject({
      state: 'failed',
      reason: 'ImagePullBackOff',
      message: 'pod api-5f6b-x container api: ImagePullBackOff: ImagePullBackOff message',
      since: 15_000,
    });
    expect(api.failure?.pod).toBe('api-5f6b-x');
  });

  it('shows a pending problem in the message while the grace period runs', () => {
    const ds = run([
      [0, [obs([problem('ImagePullBackOff')])]],
      [4_000, [obs([problem('ImagePullBackOff')])]],
    ]);
    expect(ds[1]!.state.objects.get(DEP)).toMatchObject({
      state: 'progressing',
      message:
        '0/2 replicas available; pod api-5f6b-x container api: ImagePullBackOff for 4s (fails after 15s)',
      failure: { reason: 'ImagePullBackOff' },
    });
  });

  it('says when the earliest pending grace period ends, so the loop can look again then', () => {
    const ds = run([
      [0, [obs([problem('ImagePullBackOff')])]],
      [4_000, [obs([problem('ImagePullBackOff'), problem('CreateContainerError', { uid: 'uid-2' })])]],
      [20_000, [obs([], { state: 'ready', message: '2/2 replicas available' })]],
    ]);
    expect(ds[0]!.graceEndsAt).toBe(1_000_000 + 15_000);
    expect(ds[1]!.graceEndsAt).toBe(1_000_000 + 15_000);
    expect(ds[2]!.graceEndsAt).toBeUndefined();
  });

  it('restarts the clock when a problem went away and came back', () => {
    const ds = run([
      [0, [obs([problem('ImagePullBackOff')])]],
      [10_000, [obs([])]],
      [12_000, [obs([problem('ImagePullBackOff')])]],
      [20_000, [obs([problem('ImagePullBackOff')])]],
      [27_000, [obs([problem('ImagePullBackOff')])]],
    ]);
    expect(ds.map((d) => d.done)).toEqual([false, false, false, false, true]);
  });

  it('tracks a replacement pod separately (by uid)', () => {
    const ds = run([
      [0, [obs([problem('CreateContainerConfigError')])]],
      [10_000, [obs([problem('CreateContainerConfigError', { uid: 'uid-2', pod: 'api-5f6b-y' })])]],
      [20_000, [obs([problem('CreateContainerConfigError', { uid: 'uid-2', pod: 'api-5f6b-y' })])]],
      [25_000, [obs([problem('CreateContainerConfigError', { uid: 'uid-2', pod: 'api-5f6b-y' })])]],
    ]);
    expect(ds.map((d) => d.done)).toEqual([false, false, false, true]);
  });

  it('fails with a grace period of zero on the first sighting', () => {
    const [d] = run([[0, [obs([problem('ImagePullBackOff')])]]], [DEP], { ...opts, failGraceMs: 0 });
    expect(d!.failed).toEqual([DEP]);
  });
});

describe('immediate failures', () => {
  it('fails a crash loop at once from the restart threshold, not before', () => {
    expect(failsAtOnce(problem('CrashLoopBackOff', { restartCount: 2 }), opts)).toBe(false);
    expect(failsAtOnce(problem('CrashLoopBackOff', { restartCount: 3 }), opts)).toBe(true);
    const ds = run([
      [0, [obs([problem('CrashLoopBackOff', { restartCount: 1 })])]],
      [3_000, [obs([problem('CrashLoopBackOff', { restartCount: 3 })])]],
    ]);
    expect(ds.map((d) => d.done)).toEqual([false, true]);
    expect(ds[1]!.state.objects.get(DEP)?.reason).toBe('CrashLoopBackOff');
  });

  it('fails an invalid image name at once', () => {
    const [d] = run([[0, [obs([problem('InvalidImageName')])]]]);
    expect(d!.failed).toEqual([DEP]);
  });

  it('fails at once on a failed assessment (ProgressDeadlineExceeded, Job Failed)', () => {
    const pde: Assessment = {
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message: 'timed out progressing',
    };
    const jobFailed: Assessment = {
      state: 'failed',
      reason: 'BackoffLimitExceeded',
      message: 'backoff limit',
    };
    const [d] = run([[0, [obs([], pde), obs([], jobFailed, JOB)]]], [DEP, JOB]);
    expect(d!.done).toBe(true);
    expect(d!.failed).toEqual([DEP, JOB]);
    expect(d!.state.objects.get(JOB)).toMatchObject({ reason: 'BackoffLimitExceeded', since: 0 });
  });

  it('never fails on failed pods (replaced by their controller) or unschedulable ones; they become warnings', () => {
    const ds = run([
      [
        0,
        [
          obs([
            problem('Evicted', { scope: 'pod', container: undefined }),
            problem('Unschedulable', {
              scope: 'scheduling',
              container: undefined,
              message: '0/1 nodes are available',
            }),
          ]),
        ],
      ],
      [60_000, [obs([problem('Evicted', { scope: 'pod', container: undefined })])]],
    ]);
    expect(ds.map((d) => d.done)).toEqual([false, false]);
    expect(ds[0]!.state.objects.get(DEP)?.warnings).toEqual([
      'pod api-5f6b-x: Evicted: Evicted message',
      'pod api-5f6b-x: Unschedulable: 0/1 nodes are available',
    ]);
  });
});

describe('Jobs', () => {
  it('leaves crash restarts to the Job’s backoffLimit but fails a pod that cannot start', () => {
    const crash = problem('CrashLoopBackOff', { restartCount: 5, pod: 'migrate-x' });
    const [d1] = run([[0, [obs([crash], progressing, JOB)]]], [JOB]);
    expect(d1!.done).toBe(false);
    expect(d1!.state.objects.get(JOB)?.warnings).toEqual([
      'pod migrate-x container api: CrashLoopBackOff: CrashLoopBackOff message',
    ]);
    const pull = problem('ImagePullBackOff', { pod: 'migrate-x' });
    const ds = run(
      [
        [0, [obs([pull], progressing, JOB)]],
        [15_000, [obs([pull], progressing, JOB)]],
      ],
      [JOB],
    );
    expect(ds[1]!.failed).toEqual([JOB]);
  });
});

describe('state bookkeeping', () => {
  it('keeps ready objects ready without observing them again and is done when all are ready', () => {
    const ready: Assessment = { state: 'ready', message: 'completed (1 succeeded)' };
    const ds = run(
      [
        [0, [obs([]), obs([], ready, JOB)]],
        [2_000, [obs([])]],
        [4_000, [obs([], { state: 'ready', message: '2/2 replicas available' })]],
      ],
      [DEP, JOB],
    );
    expect(ds.map((d) => d.done)).toEqual([false, false, true]);
    expect(ds[2]!.state.objects.get(JOB)).toMatchObject({ state: 'ready', since: 0 });
    expect(ds[2]!.state.objects.get(DEP)).toMatchObject({ state: 'ready', since: 4_000 });
  });

  it('keeps `since` while the state stays the same', () => {
    const ds = run([
      [0, [obs([])]],
      [3_000, [obs([], { state: 'progressing', message: '1/2 replicas available' })]],
    ]);
    expect(ds[1]!.state.objects.get(DEP)).toMatchObject({ message: '1/2 replicas available', since: 0 });
  });

  it('starts with every target progressing and not observed', () => {
    const s = initialState([DEP, JOB], 5);
    expect([...s.objects.values()].map((o) => o.message)).toEqual(['not observed yet', 'not observed yet']);
  });

  it('groups reasons kubelet alternates between', () => {
    expect(failureFamily('ErrImagePull')).toBe(failureFamily('ImagePullBackOff'));
    expect(failureFamily('RunContainerError')).toBe(failureFamily('CrashLoopBackOff'));
    expect(failureFamily('CreateContainerError')).toBe(failureFamily('CreateContainerConfigError'));
    expect(failureFamily('InvalidImageName')).toBe('InvalidImageName');
  });
});
