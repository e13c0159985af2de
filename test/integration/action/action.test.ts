// The bundled Action (dist/action.js) run as the GitHub runner runs it, against the test control plane
// and real git remotes: a bare repository, and one served over HTTP that demands the workflow's token.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, kubectl, testCluster, waitFor, type TestNamespace } from '../../helpers/cluster.js';
import { git, makeRepo, type TestRepo } from '../../helpers/git.js';
import { appFiles } from '../progressive/app.js';
import { serveGit, type GitHttpServer } from './git-http.js';
import { fakeRunner, repoRoot, type ActionRun, type FakeRunner } from './runner.js';

const run = promisify(execFile);
const TOKEN = 'ghs_nopeaTestToken0123456789abcdef';
const SECRET_VALUE = 's3cr3t-value-never-shown';
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ULID_OTHER = '01JAAAAAAAAAAAAAAAAAAAAAAA';

/** `::error ...::` and `::warning ...::` lines the runner turns into annotations. */
function annotations(r: ActionRun, level: 'error' | 'warning'): string[] {
  return r.stdout.split('\n').filter((l) => l.startsWith(`::${level} `) || l.startsWith(`::${level}::`));
}

function manifests(image = 'registry.local/web:v1'): Record<string, string> {
  return {
    'deploy/app.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: ${SECRET_VALUE}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${image}
`,
  };
}

let runner: FakeRunner;
let kubeconfigText: string;
let kubeconfigToken: string;

beforeAll(async () => {
  // The runner runs the committed bundle; build it from the sources under test first.
  await run(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot });
  runner = await fakeRunner({ token: TOKEN });
  kubeconfigText = readFileSync(testCluster().kubeconfig, 'utf8');
  kubeconfigToken = /token: "?([^"\n]+)"?/.exec(kubeconfigText)![1]!;
});

afterAll(async () => {
  await runner?.cleanup();
});

describe('a service deployed on push, then diffed by a workflow_dispatch run', () => {
  let ns: TestNamespace;
  let repo: TestRepo;
  let server: GitHttpServer;
  let first: ActionRun;

  beforeAll(async () => {
    ns = await createNamespace('action-push');
    repo = await makeRepo({ files: manifests() });
    // The remote is served over HTTP with a token; the checkout still holds a stale credential header
    // for it, as actions/checkout leaves one: nopea must replace it with its own.
    server = await serveGit(path.dirname(repo.remote), TOKEN);
    const url = `${server.url}/${path.basename(repo.remote)}`;
    await git(repo.work, 'remote', 'set-url', 'origin', url);
    const stale = Buffer.from('x-access-token:expired').toString('base64');
    await git(repo.work, 'config', `http.${server.url}/.extraheader`, `AUTHORIZATION: basic ${stale}`);
  });

  afterAll(async () => {
    await server?.close();
    await repo?.cleanup();
    await ns?.cleanup();
  });

  it('syncs, sets the outputs, writes the summary and pushes the state branch with the token', async () => {
    first = await runner.run({
      workspace: repo.work,
      inputs: {
        path: 'deploy',
        service: 'web',
        namespace: ns.name,
        kubeconfig: kubeconfigText,
        timeout: '60s',
      },
      event: { name: 'push', payload: { ref: 'refs/heads/main', after: 'HEAD' } },
    });
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    // Everything goes through the runner's log commands on stdout; nothing (no warning) on stderr.
    expect(first.stderr).toBe('');

    const o = first.outputs;
    expect(o['deploy-id']).toMatch(ULID);
    expect(o).toMatchObject({
      status: 'succeeded',
      changed: 'true',
      created: '3',
      updated: '0',
      pruned: '0',
      drifted: '0',
    });
    const planFile = JSON.parse(await readFile(o.plan!, 'utf8')) as {
      plans: { service: string; entries: unknown[] }[];
    };
    expect(planFile.plans.map((p) => [p.service, p.entries.length])).toEqual([['web', 3]]);

    const s = first.summary;
    expect(s).toContain('## nopea sync: succeeded');
    expect(s).toContain(`| \`apps/Deployment/${ns.name}/web\` | create | deploy/app.yaml:15 |`);
    expect(s).toContain(`<details><summary><code>/ConfigMap/${ns.name}/settings</code> (create)</summary>`);
    expect(s).toMatch(/- \*\*Health:\*\* healthy: \d+\/\d+ ready after/);
    expect(s).toContain(`- **Deploy id:** \`${o['deploy-id']}\`, recorded on the state branch`);

    // Log groups per stage.
    for (const stage of ['plan', 'lock', 'apply', 'wait', 'record']) {
      expect(first.stdout).toMatch(new RegExp(`^::group::web: ${stage}`, 'm'));
    }
    expect(first.stdout).toContain('::endgroup::');

    // Credentials are masked before use and appear nowhere else; Secret values appear nowhere.
    expect(first.stdout).toContain(`::add-mask::${TOKEN}\n`);
    expect(first.stdout).toContain(`::add-mask::${kubeconfigToken}\n`);
    const unmasked = first.stdout.replace(/^::add-mask::.*$/gm, '') + first.stderr;
    expect(unmasked).not.toContain(TOKEN);
    expect(unmasked).not.toContain(kubeconfigToken);
    expect(unmasked).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));
    for (const text of [first.stdout, first.stderr, first.summary, readFileSync(o.plan!, 'utf8')]) {
      expect(text).not.toContain(SECRET_VALUE);
    }

    // The kubeconfig file is gone; the token was never written into the checkout's config.
    expect(first.tempEntries.filter((e) => e.startsWith('nopea-kube-'))).toEqual([]);
    const config = await readFile(path.join(repo.work, '.git', 'config'), 'utf8');
    expect(config).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));

    // The state commit reached the remote through the authenticated push.
    const pushes = server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack'));
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes.every((r) => r.authorized)).toBe(true);
    const subject = await git(repo.remote, 'log', '-1', '--format=%s', 'nopea-state');
    expect(subject).toBe(`deploy web ${o['deploy-id']} succeeded`);
    const record = JSON.parse(
      await git(repo.remote, 'show', `nopea-state:.nopea/services/web/deploys/${o['deploy-id']}.json`),
    ) as { outcome: string; actor?: string; runUrl?: string };
    expect(record).toMatchObject({
      outcome: 'succeeded',
      actor: 'octocat',
      runUrl: 'https://github.com/example/shop/actions/runs/4242',
    });

    const live = await kubectl(['get', 'deployment', 'web', '-n', ns.name, '-o', 'name']);
    expect(live.stdout.trim()).toBe('deployment.apps/web');
  });

  it('takes command from the workflow_dispatch inputs and warns on drift at the manifest line', async () => {
    expect(first?.code).toBe(0);
    const patched = await kubectl([
      'patch',
      'configmap',
      'settings',
      '-n',
      ns.name,
      '--type=merge',
      '--field-manager=hotfix',
      '-p',
      '{"data":{"mode":"green"}}',
    ]);
    expect(patched.code, patched.stderr).toBe(0);

    const r = await runner.run({
      workspace: repo.work,
      // The step leaves `command` unset, so the "Run workflow" form decides.
      inputs: { path: 'deploy', service: 'web', namespace: ns.name, kubeconfig: kubeconfigText },
      event: { name: 'workflow_dispatch', payload: { ref: 'refs/heads/main', inputs: { command: 'diff' } } },
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('From the workflow_dispatch inputs: command');
    expect(r.outputs).toMatchObject({
      'deploy-id': '',
      status: 'planned',
      changed: 'true',
      created: '0',
      updated: '1',
      drifted: '1',
    });
    expect(r.summary).toContain('## nopea diff: planned');
    expect(r.summary).toContain(`| \`/ConfigMap/${ns.name}/settings\` | drift | deploy/app.yaml:1 |`);
    const warnings = annotations(r, 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^::warning title=nopea%3A drift,file=deploy/app.yaml,line=1::/ConfigMap/${ns.name}/settings was changed in the cluster outside nopea: .*hotfix`,
      ),
    );
    // A diff writes nothing: the state branch did not move.
    expect(await git(repo.remote, 'log', '-1', '--format=%s', 'nopea-state')).toBe(
      `deploy web ${first.outputs['deploy-id']} succeeded`,
    );
  });
});

describe('failures and their exit status', () => {
  let ns: TestNamespace;
  const repos: TestRepo[] = [];

  beforeAll(async () => {
    ns = await createNamespace('action-fail');
  });

  afterAll(async () => {
    for (const r of repos) await r.cleanup();
    await ns?.cleanup();
  });

  async function repoWith(files: Record<string, string>): Promise<TestRepo> {
    const r = await makeRepo({ files });
    repos.push(r);
    return r;
  }

  it('turns a manifest error into an error annotation on its file and line, exit 2', async () => {
    const repo = await repoWith({
      'deploy/ok.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n',
      'deploy/bad.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  key: "unclosed\n',
    });
    const r = await runner.run({
      workspace: repo.work,
      inputs: { path: 'deploy', service: 'bad', namespace: ns.name, kubeconfig: kubeconfigText },
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.outputs).toMatchObject({ status: 'invalid', changed: 'false', 'deploy-id': '' });
    const errors = annotations(r, 'error');
    expect(errors[0]).toMatch(
      /^::error title=nopea%3A invalid input,file=deploy\/bad.yaml,line=6::YAML syntax error: missing closing quote/,
    );
    // setFailed's summary line comes last and names the exit-2 meaning.
    expect(errors.at(-1)).toMatch(/^::error::nopea sync invalid input or configuration; nothing was changed/);
    expect(r.summary).toContain('## nopea sync: invalid input (nothing changed)');
    expect(r.summary).toContain('deploy/bad.yaml:6: YAML syntax error');
    expect(JSON.parse(await readFile(r.outputs.plan!, 'utf8'))).toMatchObject({
      plans: [],
      error: { kind: 'input' },
    });
    await expect(git(repo.remote, 'rev-parse', '--verify', 'refs/heads/nopea-state')).rejects.toThrow();
  });

  it('rejects invalid Action inputs before touching anything, exit 2', async () => {
    const repo = await repoWith(manifests());
    const r = await runner.run({
      workspace: repo.work,
      inputs: { command: 'deploy', wait: 'maybe', service: 'web', kubeconfig: kubeconfigText },
    });
    expect(r.code).toBe(2);
    expect(r.outputs.status).toBe('invalid');
    const errors = annotations(r, 'error');
    expect(errors).toContain(
      '::error title=nopea%3A invalid input::input command is "deploy"%0Ahint: use one of: sync, diff, promote, rollback',
    );
    expect(errors).toContain(
      '::error title=nopea%3A invalid input::input wait is "maybe", not a boolean%0Ahint: use true or false',
    );
  });

  it('says which kubeconfig sources it tried when none is configured, exit 2', async () => {
    const repo = await repoWith(manifests());
    const r = await runner.run({ workspace: repo.work, inputs: { path: 'deploy', service: 'web' } });
    expect(r.code).toBe(2);
    expect(r.outputs.status).toBe('invalid');
    expect(annotations(r, 'error')[0]).toMatch(
      /^::error title=nopea%3A invalid input::no Kubernetes cluster configured; tried: .*KUBECONFIG \(unset\).*\.kube\/config \(not found\)/,
    );
  });

  it('plans offline without any credentials', async () => {
    const repo = await repoWith(manifests());
    const r = await runner.run({
      workspace: repo.work,
      inputs: { command: 'diff', offline: 'true', path: 'deploy', service: 'web', namespace: ns.name },
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'planned', changed: 'true', created: '3' });
    expect(r.summary).toContain('(offline: compared with the state branch only)');
    expect(r.summary).not.toContain(SECRET_VALUE);
  });

  it('fails a deploy that does not become healthy with exit 1 and records it', async () => {
    const repo = await repoWith(manifests('registry.local/web:never-ready'));
    const r = await runner.run({
      workspace: repo.work,
      inputs: {
        path: 'deploy',
        service: 'slow',
        namespace: ns.name,
        kubeconfig: kubeconfigText,
        timeout: '4s',
      },
    });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.outputs.status).toBe('failed');
    expect(r.outputs['deploy-id']).toMatch(ULID);
    expect(r.summary).toContain('### `slow`: failed');
    expect(r.summary).toMatch(/- \*\*Health:\*\* not healthy within the timeout/);
    const errors = annotations(r, 'error');
    expect(errors[0]).toMatch(/^::error title=nopea%3A deploy failed::service slow not healthy within 4 s/);
    expect(errors.at(-1)).toMatch(/^::error::nopea sync failed/);
    expect(await git(repo.remote, 'log', '-1', '--format=%s', 'nopea-state')).toBe(
      `deploy slow ${r.outputs['deploy-id']} failed`,
    );
  });
});

describe('a canary that waits at a gate, moved by workflow_dispatch runs', () => {
  let ns: TestNamespace;
  let repo: TestRepo;

  /** A Deployment with 4 replicas and the Service canary splits; nopea.yaml deploys it with canary. */
  function canaryFiles(image: string, namespace: string): Record<string, string> {
    return {
      ...appFiles(image, 'web', 'deploy'),
      'nopea.yaml': `services:
  - name: web
    paths: [deploy]
    namespace: ${namespace}
    strategy: canary
    canary:
      steps: [{ weight: 50, pause: gate }, { weight: 100 }]
`,
    };
  }

  async function release(image: string): Promise<void> {
    for (const [file, text] of Object.entries(canaryFiles(image, ns.name)))
      await writeFile(path.join(repo.work, file), text);
    await repo.commitAll(image);
  }

  interface LiveRollout {
    spec?: { template?: { spec?: { containers?: { image: string }[] } } };
    status?: { phase?: string; currentStepIndex?: number; pauseStartTime?: string };
  }

  const rollout = async (): Promise<LiveRollout> =>
    JSON.parse(
      (await kubectl(['get', 'rollouts.kulta.io', 'web', '-n', ns.name, '-o', 'json'])).stdout,
    ) as LiveRollout;

  const dispatch = (inputs: Record<string, string>) =>
    runner.run({
      workspace: repo.work,
      inputs: { kubeconfig: kubeconfigText, timeout: '90s' },
      event: { name: 'workflow_dispatch', payload: { inputs } },
    });

  beforeAll(async () => {
    ns = await createNamespace('action-canary');
    // The first deploy has nothing to compare with: one step to 100%.
    repo = await makeRepo({ files: canaryFiles('registry.local/web:v1', ns.name) });
    await writeFile(
      path.join(repo.work, 'nopea.yaml'),
      canaryFiles('registry.local/web:v1', ns.name)['nopea.yaml']!.replace(
        /steps: .*/,
        'steps: [{ weight: 100 }]',
      ),
    );
    await repo.commitAll('first deploy in one step');
  });

  afterAll(async () => {
    await repo?.cleanup();
    await ns?.cleanup();
  });

  it('blocks at the gate until a workflow_dispatch promote arrives, then finishes the deploy', async () => {
    const first = await runner.run({ workspace: repo.work, inputs: { kubeconfig: kubeconfigText } });
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(first.outputs['rollout-phase']).toBe('Completed');

    await release('registry.local/web:v2');
    const deploying = runner.run({
      workspace: repo.work,
      inputs: { kubeconfig: kubeconfigText, timeout: '3m' },
      timeoutMs: 240_000,
    });
    await waitFor(
      async () => {
        const r = await rollout();
        return r.spec?.template?.spec?.containers?.[0]?.image === 'registry.local/web:v2' &&
          r.status?.currentStepIndex === 0 &&
          r.status.pauseStartTime
          ? r
          : undefined;
      },
      { what: 'the canary waiting at its gate', timeoutMs: 90_000 },
    );
    const promoted = await dispatch({ command: 'promote', service: 'web' });
    expect(promoted.code, `${promoted.stdout}\n${promoted.stderr}`).toBe(0);
    expect(promoted.stdout).toContain('the deploy run monitoring it goes on');

    const deployed = await deploying;
    expect(deployed.code, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    expect(deployed.outputs).toMatchObject({ status: 'succeeded', 'rollout-phase': 'Completed' });
    expect(deployed.stdout).toMatch(/waiting at a gate/);
    expect(await git(repo.remote, 'log', '-1', '--format=%s', 'nopea-state')).toBe(
      `deploy web ${deployed.outputs['deploy-id']} succeeded`,
    );
  });

  it('exits 4 with wait: false and the way to go on in the summary; a dispatched rollback ends it', async () => {
    await release('registry.local/web:v3');
    const started = await runner.run({
      workspace: repo.work,
      inputs: { kubeconfig: kubeconfigText, wait: 'false' },
      env: { GITHUB_WORKFLOW_REF: 'example/shop/.github/workflows/deploy.yml@refs/heads/main' },
    });
    expect(started.code, `${started.stdout}\n${started.stderr}`).toBe(4);
    const id = started.outputs['deploy-id']!;
    expect(id).toMatch(ULID);
    // Not waited for: the outputs say where the rollout stood when the run ended, just after the apply.
    expect(started.outputs.status).toBe('paused');
    expect(started.summary).toContain('## nopea sync: waiting at a gate for a promote');
    expect(started.summary).toContain(
      `gh workflow run deploy.yml -f command=rollback -f service=web -f deploy-id=${id}`,
    );

    // A stale deploy id is refused without touching the rollout.
    const wrong = await dispatch({ command: 'rollback', service: 'web', 'deploy-id': ULID_OTHER });
    expect(wrong.code, `${wrong.stdout}\n${wrong.stderr}`).toBe(2);
    expect(wrong.outputs.status).toBe('invalid');

    const rolled = await dispatch({ command: 'rollback', service: 'web', 'deploy-id': id });
    expect(rolled.code, `${rolled.stdout}\n${rolled.stderr}`).toBe(0);
    expect(rolled.outputs).toMatchObject({ status: 'succeeded', 'deploy-id': id });
    expect(await git(repo.remote, 'log', '-1', '--format=%s', 'nopea-state')).toBe(
      `rollback web ${id} rolled-back`,
    );
    const stable = JSON.parse(
      (await kubectl(['get', 'replicaset', 'web-stable', '-n', ns.name, '-o', 'json'])).stdout,
    ) as LiveRollout;
    expect(stable.spec?.template?.spec?.containers?.[0]?.image).toBe('registry.local/web:v2');
  });
});
