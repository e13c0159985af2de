/**
 * `npm run bench`: measures nopea against its targets on the local test control plane and prints a
 * table. Every number is measured in this run; nothing is assumed. Exits 1 when a target is missed.
 *
 * - plan: 1,000 generated objects, offline and against the cluster, with API requests per object;
 * - sync vs `kubectl apply --server-side` of the same 500 objects: fresh apply and no-op resync;
 * - start-up: `nopea --help` against `node -e 0`;
 * - memory: folding 10,000 deploy records, and `explain` on 2,000 deploy commits against 10.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster } from '../test/cluster/harness.js';
import { generateObjects, writeManifests } from './generate.js';
import { benchMemory } from './memory.js';
import { writeStateHistory } from './state-history.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli.js');

interface Run {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  maxRssMb?: number;
}

interface Target {
  name: string;
  value: string;
  target: string;
  ok: boolean;
}

const targets: Target[] = [];
const rows: [string, string][] = [];

function record(name: string, value: string): void {
  rows.push([name, value]);
  console.log(`  ${name}: ${value}`);
}

function check(name: string, value: number, limit: number, unit: string, digits = 2): void {
  const ok = value <= limit;
  targets.push({ name, value: `${value.toFixed(digits)}${unit}`, target: `≤ ${limit}${unit}`, ok });
}

const hasTime = fs.existsSync('/usr/bin/time');

/** Runs a command, timing it from outside; with /usr/bin/time it also reports peak memory. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; memory?: boolean },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const useTime = Boolean(opts.memory && hasTime);
    const rssFile = useTime ? path.join(os.tmpdir(), `nopea-bench-rss-${process.pid}-${Date.now()}`) : '';
    const argv = useTime ? ['-f', '%M', '-o', rssFile, cmd, ...args] : args;
    const start = performance.now();
    const child = spawn(useTime ? '/usr/bin/time' : cmd, argv, {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - start;
      const result: Run = { ms, code: code ?? 1, stdout, stderr };
      if (useTime && fs.existsSync(rssFile)) {
        result.maxRssMb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
        fs.rmSync(rssFile, { force: true });
      }
      resolve(result);
    });
  });
}

function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.stderr.slice(-3000)}`);
  return r;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

/** A repository with the manifests committed and a bare remote, like a CI checkout. */
function makeRepo(dir: string, files: Map<string, string>): string {
  const remote = path.join(dir, 'remote.git');
  const work = path.join(dir, 'work');
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '--bare', remote);
  git(dir, 'clone', '-q', remote, work);
  writeManifests(work, files);
  git(work, 'add', '.');
  git(work, '-c', 'user.name=bench', '-c', 'user.email=bench@nopea.local', 'commit', '-qm', 'manifests');
  git(work, 'push', '-q', 'origin', 'HEAD:main');
  return work;
}

interface RequestsJson {
  requests?: Record<string, number>;
}

function requestsOf(r: Run): Record<string, number> {
  const parsed = JSON.parse(r.stdout) as RequestsJson & { services?: unknown };
  return parsed.requests ?? {};
}

/** kubectl's own request count, from its `-v=6` request log lines. */
function kubectlRequests(stderr: string): { total: number; writes: number } {
  const lines = stderr
    .split('\n')
    .filter((l) => /"Response" verb="\w+"|\b(GET|PATCH|POST|PUT|DELETE) https?:\/\//.test(l));
  const writes = lines.filter((l) =>
    /verb="(PATCH|POST|PUT|DELETE)"|\b(PATCH|POST|PUT|DELETE) https?:\/\//.test(l),
  ).length;
  return { total: lines.length, writes };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function benchStartup(): Promise<void> {
  console.log('start-up: nopea --help vs node -e 0 (21 runs each, median)');
  const node: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < 21; i++) {
    node.push((await run(process.execPath, ['-e', '0'], { cwd: root })).ms);
    help.push(must(await run(process.execPath, [cli, '--help'], { cwd: root }), 'nopea --help').ms);
  }
  const ratio = median(help) / median(node);
  record('node -e 0', `${median(node).toFixed(0)} ms`);
  record('nopea --help', `${median(help).toFixed(0)} ms (${ratio.toFixed(2)}x)`);
  check('nopea --help vs node -e 0', ratio, 3, 'x');
}

async function benchPlan(
  work: string,
  kubeconfig: string,
  kubectl: string,
  namespace: string,
): Promise<void> {
  const count = 1000;
  console.log(`plan: ${count} generated objects`);
  const env = { KUBECONFIG: kubeconfig };
  const common = ['-s', 'bench-plan', '-n', namespace, '--kubectl', kubectl, '-o', 'json'];

  // Offline: a state branch that knows every object, a tenth of them changed in git since.
  must(
    await run(process.execPath, [cli, 'sync', 'manifests', ...common, '--no-wait'], { cwd: work, env }),
    'seed sync',
  );
  const files = generateObjects(count, namespace, { variant: 1, changeEvery: 10 });
  writeManifests(work, files);
  const offline = must(
    await run(process.execPath, [cli, 'diff', 'manifests', ...common, '--offline'], { cwd: work, env }),
    'offline diff',
  );
  record(`offline plan of ${count} objects (process wall time)`, `${offline.ms.toFixed(0)} ms`);
  check(`offline plan of ${count} objects`, offline.ms / 1000, 1, ' s');

  // Against the cluster, the same changed set: one dry-run per changed object only.
  const online = must(
    await run(process.execPath, [cli, 'diff', 'manifests', ...common], { cwd: work, env }),
    'cluster diff',
  );
  const req = requestsOf(online);
  record(`cluster plan of ${count} objects (${count / 10} changed)`, `${online.ms.toFixed(0)} ms`);
  record('  requests', JSON.stringify(req));
  record('  requests per object', (req.total! / count).toFixed(3));
  check('dry-runs per object in a plan', req['dry-run']! / count, 1, '', 3);
  check('discovery requests per run', req.discovery!, 2, '', 0);

  // First plan of objects that do not exist yet: every object needs its dry-run, still only one.
  writeManifests(work, generateObjects(count, namespace, { dir: 'fresh', prefix: 'new' }));
  const fresh = must(
    await run(
      process.execPath,
      [cli, 'diff', 'fresh', '-s', 'bench-plan-new', '-n', namespace, '--kubectl', kubectl, '-o', 'json'],
      {
        cwd: work,
        env,
      },
    ),
    'fresh diff',
  );
  const freq = requestsOf(fresh);
  record(
    `cluster plan of ${count} new objects`,
    `${fresh.ms.toFixed(0)} ms, requests ${JSON.stringify(freq)}`,
  );
  check('dry-runs per object in a first plan', freq['dry-run']! / count, 1, '', 3);
}

async function benchSync(dir: string, kubeconfig: string, kubectl: string): Promise<void> {
  const count = 500;
  console.log(`sync vs kubectl apply --server-side: ${count} generated objects`);
  const env = { KUBECONFIG: kubeconfig };
  const nsKubectl = `bench-kubectl-${process.pid}`;
  const nsNopea = `bench-nopea-${process.pid}`;
  // Both namespaces exist beforehand: kubectl cannot apply objects right behind their new Namespace.
  for (const ns of [nsKubectl, nsNopea])
    must(await run(kubectl, ['create', 'namespace', ns], { cwd: dir, env }), 'create namespace');
  const work = makeRepo(path.join(dir, 'sync'), generateObjects(count, nsNopea));
  const kdir = path.join(dir, 'kubectl');
  writeManifests(kdir, generateObjects(count, nsKubectl));
  const kubectlApply = (): Promise<Run> =>
    run(
      kubectl,
      ['apply', '--server-side', '--field-manager=bench', '-R', '-f', path.join(kdir, 'manifests'), '-v=6'],
      {
        cwd: kdir,
        env,
        memory: true,
      },
    );
  const nopeaSync = (): Promise<Run> =>
    run(
      process.execPath,
      [cli, 'sync', 'manifests', '-s', 'bench-sync', '-n', nsNopea, '--kubectl', kubectl, '-o', 'json'],
      {
        cwd: work,
        env,
        memory: true,
      },
    );

  try {
    const k1 = must(await kubectlApply(), 'kubectl apply (fresh)');
    const n1 = must(await nopeaSync(), 'nopea sync (fresh)');
    const k2 = must(await kubectlApply(), 'kubectl apply (no-op)');
    const n2 = must(await nopeaSync(), 'nopea sync (no-op)');
    const kr1 = kubectlRequests(k1.stderr);
    const kr2 = kubectlRequests(k2.stderr);
    const nr1 = requestsOf(n1);
    const nr2 = requestsOf(n2);
    record('kubectl fresh apply', `${k1.ms.toFixed(0)} ms, ${kr1.total} requests (${kr1.writes} writes)`);
    record(
      'nopea fresh sync',
      `${n1.ms.toFixed(0)} ms (${(n1.ms / k1.ms).toFixed(2)}x), requests ${JSON.stringify(nr1)}`,
    );
    record('kubectl no-op apply', `${k2.ms.toFixed(0)} ms, ${kr2.total} requests (${kr2.writes} writes)`);
    record(
      'nopea no-op resync',
      `${n2.ms.toFixed(0)} ms (${(n2.ms / k2.ms).toFixed(2)}x), requests ${JSON.stringify(nr2)}`,
    );
    check('fresh sync vs kubectl apply', n1.ms / k1.ms, 0.5, 'x');
    check('no-op resync vs kubectl apply', n2.ms / k2.ms, 0.25, 'x');
    check('object writes in a no-op resync', nr2.writes ?? Number.NaN, 0, '', 0);
    const rss = Math.max(n1.maxRssMb ?? Number.NaN, n2.maxRssMb ?? Number.NaN);
    if (hasTime) {
      record(
        'nopea peak memory',
        `${rss.toFixed(0)} MB (kubectl: ${Math.max(k1.maxRssMb ?? 0, k2.maxRssMb ?? 0).toFixed(0)} MB)`,
      );
      check('nopea peak memory', rss, 250, ' MB', 0);
    } else {
      targets.push({
        name: 'nopea peak memory',
        value: 'not measured (/usr/bin/time missing)',
        target: '≤ 250 MB',
        ok: false,
      });
    }
  } finally {
    for (const ns of [nsKubectl, nsNopea]) {
      await run(kubectl, ['delete', 'namespace', ns, '--wait=false', '--ignore-not-found'], {
        cwd: dir,
        env,
      });
    }
  }
}

/** Memory: folding deploy records, and `explain` reading only the state branch tip. */
async function benchMemoryReads(dir: string): Promise<void> {
  const { foldMs, observations } = await benchMemory();
  record(`fold ${observations} deploy records into the memory graph`, `${foldMs.toFixed(0)} ms`);
  check(`fold ${observations.toLocaleString('en-US')} deploy records under 1 s`, foldMs / 1000, 1, ' s');

  console.log('explain on a state branch of 10 and of 2,000 deploy commits (fresh shallow clone each run)');
  const timeExplain = async (commits: number): Promise<number> => {
    const remote = path.join(dir, `history-${commits}.git`);
    git(dir, 'init', '-q', '--bare', '--initial-branch=main', remote);
    writeStateHistory(remote, 'nopea-state', commits);
    git(remote, 'update-ref', 'refs/heads/main', 'refs/heads/nopea-state');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const work = path.join(dir, `history-${commits}-${i}`);
      git(dir, 'clone', '-q', '--depth=1', '--branch', 'main', `file://${remote}`, work);
      const r = must(
        await run(process.execPath, [cli, 'explain', 'web', '-n', 'prod', '-o', 'json'], { cwd: work }),
        'nopea explain',
      );
      times.push(r.ms);
    }
    return median(times);
  };
  const short = await timeExplain(10);
  const long = await timeExplain(2000);
  record('explain, 10 commits', `${short.toFixed(0)} ms`);
  record('explain, 2,000 commits', `${long.toFixed(0)} ms`);
  check('explain on 2,000 deploy commits within 1.5x of 10', long / short, 1.5, 'x');
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  const { cluster } = await startCluster();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nopea-bench-'));
  const planNs = `bench-plan-${process.pid}`;
  try {
    if (!process.argv.includes('--skip-startup')) await benchStartup();
    const work = makeRepo(path.join(dir, 'plan'), generateObjects(1000, planNs, { withNamespace: true }));
    await benchPlan(work, cluster.kubeconfig, cluster.kubectl, planNs);
    await benchSync(dir, cluster.kubeconfig, cluster.kubectl);
    await benchMemoryReads(dir);
  } finally {
    await run(cluster.kubectl, ['delete', 'namespace', planNs, '--wait=false', '--ignore-not-found'], {
      cwd: dir,
      env: { KUBECONFIG: cluster.kubeconfig },
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nTargets:');
  const width = Math.max(...targets.map((t) => t.name.length));
  for (const t of targets)
    console.log(
      `  ${t.ok ? 'PASS' : 'MISS'}  ${t.name.padEnd(width)}  ${t.value.padStart(10)}  (target ${t.target})`,
    );
  const missed = targets.filter((t) => !t.ok).length;
  console.log(`\n${targets.length - missed} targets met, ${missed} missed`);
  process.exitCode = missed > 0 ? 1 : 0;
}

await main();
