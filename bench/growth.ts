/**
 * Growth with the number of objects (issue #13): generated objects at 500 and at 5,000, and at 50 for
 * the fixed costs, each fresh sync in a namespace of its own created for the run. Per size, in order:
 *
 * - fresh sync: `nopea sync` of objects that do not exist yet, waiting for health (the generated kinds
 *   are ready once applied, so the wait is nopea's own LIST-per-kind health check, not the cluster's
 *   convergence: it belongs to what grows with the objects); 3 runs (2 at 5,000), the fastest kept;
 * - offline plan: `nopea diff --offline` against the state branch that sync wrote, a tenth of the
 *   objects changed in git since (about half of those really differ); fastest of 5 (3 at 5,000);
 * - cluster plan: `nopea diff` of the same, one dry-run per object that differs; likewise.
 *
 * Per run: wall time, peak RSS, CPU time of nopea and of the cluster's processes, the API requests and
 * the stage breakdown; per object: wall time / objects and peak RSS above `nopea --help`'s / objects,
 * and both above the 50-object run's / (objects − 50), the fixed costs taken off. The targets bound the
 * latter: per object, 5,000 may cost at most 1.5x what 500 does (a fixed cost divided into the whole
 * makes any growth look better than linear, so the whole-run ratios would not catch a quadratic part).
 */
import path from 'node:path';
import { generateObjects, writeManifests } from './generate.js';
import {
  check,
  cli,
  cpuOf,
  deleteNamespaces,
  formatBreakdown,
  hasTime,
  makeRepo,
  median,
  must,
  requestsOf,
  round,
  rows,
  run,
  stagesOf,
  stageTotals,
  type Run,
  type StageBreakdown,
} from './lib.js';

export const GROWTH_SIZES = [500, 5000] as const;
/**
 * A run this small is nearly all fixed cost (start-up, git, discovery, modules beyond `--help`'s):
 * taken off the larger runs, what is left is the cost of the objects alone, and its growth per object
 * is what the targets bound. Divided into the whole wall time, a fixed cost makes any growth look
 * better than linear at the smaller size.
 */
const FIXED_SIZE = 50;
/** Runs of each plan per size (the median is kept); a fresh sync of new objects runs once. */
const PLAN_RUNS: Record<number, number> = { [FIXED_SIZE]: 5, 500: 5, 5000: 3 };
/** Fresh syncs per size, each of its own objects in its own namespace. */
const FRESH_RUNS: Record<number, number> = { [FIXED_SIZE]: 3, 500: 3, 5000: 2 };
/** Largest growth per object, larger size over smaller, in time and in memory. */
const GROWTH_LIMIT = 1.5;
/** A stage's growth is printed once it takes this long at the larger size. */
const STAGE_FLOOR_MS = 100;

const MEASURES = ['fresh sync', 'offline plan', 'cluster plan'] as const;
type Measure = (typeof MEASURES)[number];

export interface GrowthRun {
  objects: number;
  /** Wall time of every run, ms; the fastest is reported, with the median peak RSS. */
  allWallMs: number[];
  wallMs: number;
  maxRssMb?: number;
  /** Wall time / objects. */
  msPerObject: number;
  /** (Peak RSS − `nopea --help`'s) / objects, KiB. */
  kibPerObject?: number;
  /** (Wall time − the 50-object run's) / (objects − 50). */
  msPerObjectAboveFixed?: number;
  /** (Peak RSS − the 50-object run's) / (objects − 50), KiB. */
  kibPerObjectAboveFixed?: number;
  /** nopea's CPU time (user + system), ms, and above the 50-object run's per object. */
  cpuMs?: number;
  cpuMsPerObjectAboveFixed?: number;
  /** CPU time of the cluster's processes (etcd, kube-apiserver, ...) during the run, ms, and per object likewise. */
  clusterCpuMs?: number;
  clusterCpuMsPerObjectAboveFixed?: number;
  requests: Record<string, number>;
  stages: StageBreakdown;
}

export interface GrowthResult {
  sizes: number[];
  fixedSize: number;
  /** Peak RSS of `nopea --help` (median of 3), the baseline of `kibPerObject`. */
  baselineRssMb?: number;
  /** Per measure, the fixed-cost run and one per size. */
  fixed: Record<Measure, GrowthRun>;
  runs: Record<Measure, GrowthRun[]>;
  /**
   * Per measure, larger size over smaller, per object: whole wall time, peak RSS above `--help`'s, and
   * both above the 50-object run (the targets).
   */
  growth: Record<
    Measure,
    {
      time: number;
      memory?: number;
      timeAboveFixed: number;
      memoryAboveFixed?: number;
      /** nopea's CPU time, and the cluster's, above the 50-object run per object: whose cost grows. */
      cpuAboveFixed?: number;
      clusterCpuAboveFixed?: number;
    }
  >;
  limit: number;
}

/** A run of nopea with the CPU time the cluster's processes spent meanwhile. */
type Measured = Run & { clusterCpuMs: number };

/**
 * The fastest of the runs, with their median peak RSS: on a shared machine other work only ever adds
 * time, so the fastest run is the one nearest nopea's own cost.
 */
function fastest(results: Measured[]): Measured {
  const best = results.reduce((a, b) => (b.ms < a.ms ? b : a));
  const rss = results.map((r) => r.maxRssMb).filter((m): m is number => m !== undefined);
  return rss.length > 0 ? { ...best, maxRssMb: median(rss) } : best;
}

async function measure(times: number, what: string, start: () => Promise<Measured>): Promise<Measured[]> {
  const results: Measured[] = [];
  for (let i = 0; i < times; i++) results.push(must(await start(), what));
  return results;
}

function growthRun(all: Measured[], objects: number, baselineRssMb?: number, fixed?: GrowthRun): GrowthRun {
  const r = fastest(all);
  const out: GrowthRun = {
    objects,
    allWallMs: all.map((a) => Math.round(a.ms)),
    wallMs: Math.round(r.ms),
    msPerObject: round(r.ms / objects),
    ...(r.cpuMs === undefined ? {} : { cpuMs: r.cpuMs }),
    clusterCpuMs: r.clusterCpuMs,
    requests: requestsOf(r),
    stages: stagesOf(r),
  };
  if (r.maxRssMb !== undefined) {
    out.maxRssMb = Math.round(r.maxRssMb);
    if (baselineRssMb !== undefined)
      out.kibPerObject = round(((r.maxRssMb - baselineRssMb) * 1024) / objects);
  }
  if (fixed) {
    const n = objects - fixed.objects;
    out.msPerObjectAboveFixed = round((r.ms - fixed.wallMs) / n);
    if (r.maxRssMb !== undefined && fixed.maxRssMb !== undefined) {
      out.kibPerObjectAboveFixed = round(((r.maxRssMb - fixed.maxRssMb) * 1024) / n);
    }
    if (r.cpuMs !== undefined && fixed.cpuMs !== undefined) {
      out.cpuMsPerObjectAboveFixed = round((r.cpuMs - fixed.cpuMs) / n);
    }
    out.clusterCpuMsPerObjectAboveFixed = round((r.clusterCpuMs - (fixed.clusterCpuMs ?? 0)) / n);
  }
  return out;
}

/**
 * Milliseconds per phase: the opening (the run's stages up to the service's first `source`, which
 * overlap: manifests load while git fetches the state branch and discovery runs, and `source` is only
 * what is left of loading once those are done), then every later stage by name, repeats summed.
 */
function phases(b: StageBreakdown): Record<string, number> {
  const all = [...b.run, ...b.service];
  const first = all.findIndex((s) => s.name === 'source');
  const opening = first < 0 ? [] : all.slice(0, first + 1);
  return {
    ...(first < 0 ? {} : { 'open (state, discovery, source)': opening.reduce((n, s) => n + s.ms, 0) }),
    ...stageTotals(all.slice(first + 1)),
  };
}

/** Per phase, ms per object at the larger size over the smaller. */
function stageGrowth(small: GrowthRun, large: GrowthRun): Record<string, number> {
  const a = phases(small.stages);
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(phases(large.stages))) {
    if (ms >= STAGE_FLOOR_MS && a[name]) out[name] = round(ms / large.objects / (a[name] / small.objects));
  }
  return out;
}

export async function benchGrowth(
  dir: string,
  kubeconfig: string,
  kubectl: string,
  namespaces: (size: number, run: number) => string,
  clusterPids: number[],
): Promise<GrowthResult> {
  const [small, large] = GROWTH_SIZES;
  console.log(
    `growth: ${small} and ${large.toLocaleString('en-US')} generated objects, and ${FIXED_SIZE} for the fixed costs (fresh sync, offline plan, cluster plan)`,
  );
  const env = { KUBECONFIG: kubeconfig };
  const nopea = (cwd: string, args: string[]) => async (): Promise<Measured> => {
    const before = cpuOf(clusterPids);
    const r = await run(process.execPath, [cli, ...args], { cwd, env, memory: true });
    return { ...r, clusterCpuMs: cpuOf(clusterPids) - before };
  };
  const help: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = must(await run(process.execPath, [cli, '--help'], { cwd: dir, memory: true }), 'nopea --help');
    if (r.maxRssMb !== undefined) help.push(r.maxRssMb);
  }
  const baselineRssMb = help.length > 0 ? median(help) : undefined;
  const fixed = {} as Record<Measure, GrowthRun>;
  const runs = { 'fresh sync': [], 'offline plan': [], 'cluster plan': [] } as Record<Measure, GrowthRun[]>;
  const keep = (m: Measure, all: Measured[], size: number) => {
    if (size === FIXED_SIZE) fixed[m] = growthRun(all, size, baselineRssMb);
    else runs[m].push(growthRun(all, size, baselineRssMb, fixed[m]));
  };

  const created: string[] = [];
  try {
    for (const size of [FIXED_SIZE, ...GROWTH_SIZES]) {
      const started = performance.now();
      const syncs: Measured[] = [];
      let work = '';
      let common: string[] = [];
      for (let i = 0; i < FRESH_RUNS[size]!; i++) {
        const ns = namespaces(size, i);
        // The namespace exists beforehand, so the fresh sync is of the objects alone.
        must(await run(kubectl, ['create', 'namespace', ns], { cwd: dir, env }), 'create namespace');
        created.push(ns);
        const repo = makeRepo(path.join(dir, `growth-${size}-${i}`), generateObjects(size, ns));
        const args = [
          'manifests',
          '-s',
          `bench-growth-${size}`,
          '-n',
          ns,
          '--kubectl',
          kubectl,
          '-o',
          'json',
        ];
        syncs.push(must(await nopea(repo, ['sync', ...args])(), `fresh sync of ${size}`));
        if (i === 0) [work, common] = [repo, args];
      }
      keep('fresh sync', syncs, size);
      const ns = namespaces(size, 0);
      // A tenth changed in git since the state branch learnt them all (not committed: the working
      // tree is what nopea reads).
      writeManifests(work, generateObjects(size, ns, { variant: 1, changeEvery: 10 }));
      const times = PLAN_RUNS[size]!;
      keep('offline plan', await measure(times, `offline plan of ${size}`, nopea(work, ['diff', ...common, '--offline'])), size); // prettier-ignore
      keep('cluster plan', await measure(times, `cluster plan of ${size}`, nopea(work, ['diff', ...common])), size); // prettier-ignore
      console.log(`  ${size} objects measured in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    if (created.length > 0) console.log(`  ${await deleteNamespaces(kubectl, created, { cwd: dir, env })}`);
  }

  const growth = {} as GrowthResult['growth'];
  const ratio = (b: number | undefined, a: number | undefined) =>
    a !== undefined && b !== undefined && a > 0 ? round(b / a) : undefined;
  const stages = {} as Record<Measure, Record<string, number>>;
  for (const m of MEASURES) {
    const [a, b] = runs[m] as [GrowthRun, GrowthRun];
    const memory = ratio(b.kibPerObject, a.kibPerObject);
    const memoryAboveFixed = ratio(b.kibPerObjectAboveFixed, a.kibPerObjectAboveFixed);
    const cpuAboveFixed = ratio(b.cpuMsPerObjectAboveFixed, a.cpuMsPerObjectAboveFixed);
    // Offline, the cluster's CPU time is only whatever else runs on it.
    const clusterCpuAboveFixed = b.requests.total
      ? ratio(b.clusterCpuMsPerObjectAboveFixed, a.clusterCpuMsPerObjectAboveFixed)
      : undefined;
    growth[m] = {
      time: round(b.msPerObject / a.msPerObject),
      ...(memory === undefined ? {} : { memory }),
      timeAboveFixed: ratio(b.msPerObjectAboveFixed, a.msPerObjectAboveFixed) ?? Number.NaN,
      ...(memoryAboveFixed === undefined ? {} : { memoryAboveFixed }),
      ...(cpuAboveFixed === undefined ? {} : { cpuAboveFixed }),
      ...(clusterCpuAboveFixed === undefined ? {} : { clusterCpuAboveFixed }),
    };
    stages[m] = stageGrowth(a, b);
  }
  printTable(fixed, runs, growth, baselineRssMb);
  for (const m of MEASURES) {
    for (const r of [fixed[m], ...runs[m]]) {
      rows.push([
        `[growth] ${m} of ${r.objects} objects`,
        `${r.wallMs} ms (of ${r.allWallMs.join(', ')}), ${r.maxRssMb ?? '?'} MB, CPU ${r.cpuMs ?? '?'} ms (cluster ${r.clusterCpuMs ?? '?'} ms); ${formatBreakdown(r.stages)}`,
      ]);
      console.log(
        `  ${m}, ${r.objects} (fastest of ${r.allWallMs.join(', ')} ms): ${formatBreakdown(r.stages)}`,
      );
    }
    const text = Object.entries(stages[m])
      .map(([name, x]) => `${name} ${x.toFixed(2)}x`)
      .join(', ');
    rows.push([`[growth] ${m}: growth per object of each stage, ${large} vs ${small}`, text]);
    console.log(`  ${m}, growth per object of each stage: ${text}`);
  }
  const sizes = `${large.toLocaleString('en-US')} vs ${small}`;
  for (const m of MEASURES) {
    check(`[growth] ${m}: time per object, ${sizes}`, growth[m].timeAboveFixed, GROWTH_LIMIT, 'x');
    if (growth[m].memoryAboveFixed !== undefined) {
      check(`[growth] ${m}: memory per object, ${sizes}`, growth[m].memoryAboveFixed, GROWTH_LIMIT, 'x');
    } else if (!hasTime) {
      console.log(`  ${m}: memory per object not measured (/usr/bin/time missing)`);
    }
  }
  return {
    sizes: [...GROWTH_SIZES],
    fixedSize: FIXED_SIZE,
    ...(baselineRssMb === undefined ? {} : { baselineRssMb: round(baselineRssMb) }),
    fixed,
    runs,
    growth,
    limit: GROWTH_LIMIT,
  };
}

function printTable(
  fixed: Record<Measure, GrowthRun>,
  runs: Record<Measure, GrowthRun[]>,
  growth: GrowthResult['growth'],
  baselineRssMb: number | undefined,
): void {
  const x = (v: number | undefined) => (v === undefined ? '?' : `${v.toFixed(2)}x`);
  const head = ['', ...GROWTH_SIZES.map((n) => `${n.toLocaleString('en-US')} objects`), 'growth per object'];
  const cell = (r: GrowthRun): string =>
    `${(r.wallMs / 1000).toFixed(2)} s ${r.msPerObjectAboveFixed?.toFixed(2) ?? '?'} ms/obj, ` +
    `${r.maxRssMb ?? '?'} MB ${r.kibPerObjectAboveFixed?.toFixed(1) ?? '?'} KiB/obj`;
  const table = MEASURES.map((m) => [
    m,
    ...runs[m].map(cell),
    `time ${x(growth[m].timeAboveFixed)}, memory ${x(growth[m].memoryAboveFixed)} ` +
      `(whole: ${x(growth[m].time)}, ${x(growth[m].memory)}); CPU: nopea ${x(growth[m].cpuAboveFixed)}` +
      (growth[m].clusterCpuAboveFixed === undefined ? '' : `, cluster ${x(growth[m].clusterCpuAboveFixed)}`),
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...table].map((row) => row[i]!.length)));
  const line = (row: string[]) => `  ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')}`;
  const base = MEASURES.map(
    (m) => `${m} ${(fixed[m].wallMs / 1000).toFixed(2)} s ${fixed[m].maxRssMb ?? '?'} MB`,
  );
  console.log(`  per object: above the ${FIXED_SIZE}-object run (${base.join(', ')})`);
  console.log(
    `  whole: wall time / objects, and peak RSS above nopea --help's ${baselineRssMb?.toFixed(0) ?? '?'} MB / objects`,
  );
  console.log(line(head));
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
  for (const row of table) console.log(line(row));
}
