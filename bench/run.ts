/**
 * `npm run bench`: measures nopea against its targets on the local test control plane and prints a
 * table. Every number is measured in this run; nothing is assumed. Exits 1 when a target is missed.
 *
 * - startup: `nopea --help` against `node -e 0`;
 * - plan: 1,000 generated objects, offline and against the cluster, with API requests per object;
 * - sync: vs `kubectl apply --server-side` of the same 500 objects, fresh apply and no-op resync, in
 *   the loopback and the network profile, with where nopea's time went: start-up and each stage
 *   (bench/sync.ts);
 * - memory: folding 10,000 deploy records, and `explain` on 2,000 deploy commits against 10;
 * - growth: fresh sync, offline plan and cluster plan of 500 and of 5,000 generated objects (and 50
 *   for the fixed costs), time and memory per object, with targets against worse-than-linear growth
 *   (bench/growth.ts);
 * - soak: 40 syncs of a changing service without faults and with 10% API and state-remote faults,
 *   the faults, retries and time they cost, and the violations, which must be none (bench/soak.ts).
 *
 * `--only sync,plan` runs a subset (`--skip-startup` leaves start-up out); `--delay-ms N` sets the
 * network profile's one-way delay (default 10); `--sync-rounds N` the sync comparison's rounds per
 * profile, whose median ratios are judged (default 3); `--soak-syncs N` the soak's rounds (default 40);
 * `--no-build` uses dist/cli.js as it is. The results also go to bench/out/bench-<time>.json, with
 * each section's duration.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { format } from 'prettier';
import { startCluster } from '../test/cluster/harness.js';
import { generateObjects, writeManifests } from './generate.js';
import {
  check,
  cli,
  git,
  makeRepo,
  median,
  must,
  record,
  requestsOf,
  root,
  rows,
  run,
  targets,
} from './lib.js';
import { benchGrowth, type GrowthResult } from './growth.js';
import { benchMemory } from './memory.js';
import { benchSoak, SOAK_SYNCS, type SoakResult } from './soak.js';
import { writeStateHistory } from './state-history.js';
import { benchSyncProfiles, SYNC_ROUNDS, type SyncProfileResult } from './sync.js';

const SECTIONS = ['startup', 'plan', 'sync', 'memory', 'growth', 'soak'] as const;
type Section = (typeof SECTIONS)[number];

/** The value of `--name value` or `--name=value`. */
function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i]!.startsWith(`--${name}=`)) return args[i]!.slice(name.length + 3);
  }
  return undefined;
}

function sections(): Set<Section> {
  const only = option('only');
  const chosen = only ? only.split(',').map((part) => part.trim()) : [...SECTIONS];
  for (const name of chosen) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      throw new Error(`--only: unknown part ${JSON.stringify(name)} (one of ${SECTIONS.join(', ')})`);
    }
  }
  const set = new Set(chosen as Section[]);
  if (process.argv.includes('--skip-startup')) set.delete('startup');
  return set;
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

/** What the sections return for the JSON results, besides rows and targets. */
interface Results {
  sync: SyncProfileResult[];
  growth?: GrowthResult;
  soak?: SoakResult;
  /** Wall time of each section that ran, ms. */
  sectionMs: Partial<Record<Section, number>>;
}

/** The results as JSON under bench/out/, so two runs can be compared. */
async function writeResults(
  startedAt: Date,
  parts: Set<Section>,
  results: Results,
  load: number[],
): Promise<string> {
  const out = path.join(root, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const result = {
    format: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}` },
    /** Load averages (1, 5, 15 min) before and after: the numbers are only as quiet as the machine was. */
    loadAverage: { before: load, after: os.loadavg() },
    parts: [...parts],
    sectionMs: results.sectionMs,
    rows: rows.map(([name, value]) => ({ name, value })),
    targets,
    sync: Object.fromEntries(results.sync.map((profile) => [profile.profile, profile])),
    ...(results.growth ? { growth: results.growth } : {}),
    ...(results.soak ? { soak: results.soak } : {}),
  };
  // Formatted as the repository's Prettier would, so `prettier --check` passes with results present.
  fs.writeFileSync(file, await format(JSON.stringify(result), { parser: 'json', printWidth: 110 }));
  return file;
}

async function main(): Promise<void> {
  const parts = sections();
  const delayMs = Number(option('delay-ms') ?? 10);
  if (!(delayMs >= 0)) throw new Error(`--delay-ms: ${option('delay-ms')} is not a number of ms`);
  const syncRounds = Number(option('sync-rounds') ?? SYNC_ROUNDS);
  if (!Number.isInteger(syncRounds) || syncRounds < 1 || syncRounds > 20) {
    throw new Error(`--sync-rounds: ${option('sync-rounds')} is not a count from 1 to 20`);
  }
  const soakSyncs = Number(option('soak-syncs') ?? SOAK_SYNCS);
  if (!Number.isInteger(soakSyncs) || soakSyncs < 1 || soakSyncs > 200) {
    throw new Error(`--soak-syncs: ${option('soak-syncs')} is not a count from 1 to 200`);
  }
  const startedAt = new Date();
  const load = os.loadavg();
  if (!process.argv.includes('--no-build')) {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  }
  const { cluster } = await startCluster();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nopea-bench-'));
  const planNs = `bench-plan-${process.pid}`;
  const results: Results = { sync: [], sectionMs: {} };
  const timed = async (section: Section, body: () => Promise<void>): Promise<void> => {
    if (!parts.has(section)) return;
    const start = performance.now();
    await body();
    results.sectionMs[section] = Math.round(performance.now() - start);
    console.log(`  (${section}: ${(results.sectionMs[section] / 1000).toFixed(0)} s)`);
  };
  try {
    await timed('startup', benchStartup);
    await timed('plan', async () => {
      const work = makeRepo(path.join(dir, 'plan'), generateObjects(1000, planNs, { withNamespace: true }));
      await benchPlan(work, cluster.kubeconfig, cluster.kubectl, planNs);
    });
    await timed('sync', async () => {
      results.sync = await benchSyncProfiles(dir, cluster.kubeconfig, cluster.kubectl, delayMs, syncRounds);
    });
    await timed('memory', () => benchMemoryReads(dir));
    await timed('growth', async () => {
      const ns = (size: number, i: number) => `bench-growth-${size}-${i}-${process.pid}`;
      const pids = cluster.components.map((c) => c.pid);
      results.growth = await benchGrowth(dir, cluster.kubeconfig, cluster.kubectl, ns, pids);
    });
    await timed('soak', async () => {
      const ns = (label: string) => `bench-soak-${label}-${process.pid}`;
      results.soak = await benchSoak(dir, cluster.kubeconfig, cluster.kubectl, ns, soakSyncs);
    });
  } finally {
    if (parts.has('plan')) {
      await run(cluster.kubectl, ['delete', 'namespace', planNs, '--wait=false', '--ignore-not-found'], {
        cwd: dir,
        env: { KUBECONFIG: cluster.kubeconfig },
      });
    }
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
  console.log(`results: ${path.relative(root, await writeResults(startedAt, parts, results, load))}`);
  process.exitCode = missed > 0 ? 1 : 0;
}

await main();
