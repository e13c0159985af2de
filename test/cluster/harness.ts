// The test Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok (one fake node), built from Go modules by build.sh and run as local processes on 127.0.0.1.
// With a Kulta binary (build-kulta.sh), also Kulta's CRD, one Kulta controller and a loopback
// Prometheus stand-in for its canary analysis (prometheus-stand-in.ts).
// Only Node built-ins are used so the harness works before anything else in the repo builds (the one
// exception: repairing Kulta's CRD the first time loads the `yaml` devDependency, see kulta-crd.ts).
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { GATEWAY_API_GROUP, gatewayApiCrds, gatewayApiVersion } from './gateway-api.js';
import { KULTA_CRD_HASH_ANNOTATION, KULTA_CRD_NAME, kultaCrdManifest, kultaSourceDir } from './kulta-crd.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

/** Name of the fake node kwok manages. */
export const NODE_NAME = 'nopea-node';
/** Namespace the restricted user has full rights in (and nowhere else). */
export const RESTRICTED_NAMESPACE = 'nopea-restricted';

const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
type ComponentName = (typeof COMPONENTS)[number];
/** Processes that run with the cluster but are checked, and restarted, on their own at each reuse. */
const ADDONS = ['kulta', 'prometheus-stand-in'] as const;
type AddonName = (typeof ADDONS)[number];
type ProcessName = ComponentName | AddonName;

export interface ComponentInfo {
  name: ComponentName;
  pid: number;
  binary: string;
  log: string;
}

/** The Kulta controller running for this cluster. */
export interface KultaInfo {
  /** The controller binary (from build-kulta.sh). */
  binary: string;
  pid: number;
  log: string;
  /** Hash of the repaired CRD it was started against. */
  crdHash: string;
  /** KULTA_PROMETHEUS_ADDRESS it was started with. */
  prometheusUrl: string;
}

/** The loopback Prometheus stand-in Kulta's canary analysis queries. */
export interface PrometheusInfo {
  /** http://127.0.0.1:<port>; `/api/v1/query` for Kulta, `/control/<rollout>` for tests. */
  url: string;
  port: number;
  pid: number;
  log: string;
}

export interface ClusterInfo {
  /** Format of this file; bumped when the shape changes so an old file counts as stale. */
  format: 1;
  dir: string;
  binDir: string;
  server: string;
  kubectl: string;
  kubeconfig: string;
  restrictedKubeconfig: string;
  caFile: string;
  /** Admin bearer token, kept here so the reuse check needs no YAML parser. */
  adminToken: string;
  nodeName: string;
  restrictedNamespace: string;
  ports: {
    etcdClient: number;
    etcdPeer: number;
    apiserver: number;
    controllerManager: number;
    scheduler: number;
  };
  components: ComponentInfo[];
  startedAt: string;
  startSeconds: number;
  /** Present once Kulta runs with the cluster (startCluster with kultaBin). */
  kulta?: KultaInfo;
  prometheus?: PrometheusInfo;
  /** Gateway API's standard CRDs installed with Kulta (HTTPRoute weights); the module version. */
  gatewayApi?: { version: string };
}

export interface StartResult {
  cluster: ClusterInfo;
  /** False when an already running cluster was reused. */
  started: boolean;
}

export interface ClusterStatus {
  state: 'running' | 'stopped' | 'unhealthy';
  cluster?: ClusterInfo;
  problems: string[];
  /** Kulta or the Prometheus stand-in not running; the next startCluster with kultaBin restarts them alone. */
  addonProblems: string[];
}

export interface HarnessOptions {
  /** Progress sink; defaults to stderr. */
  log?: (message: string) => void;
}

export interface StartOptions extends HarnessOptions {
  /** Directory with the built binaries; built (or looked up) with ensureBinaries() when absent. */
  binDir?: string;
  /**
   * Kulta controller binary (ensureKultaBinary). When given, Kulta's CRD is installed, the Prometheus
   * stand-in and one controller run with the cluster, and a reused cluster gets them (re)started as
   * needed. Without it Kulta is neither started nor stopped.
   */
  kultaBin?: string;
}

/** Returns the cache directory shared by build.sh and the harness. */
export function cacheDir(): string {
  if (process.env.NOPEA_CACHE_DIR) return path.resolve(process.env.NOPEA_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'nopea');
}

/** Returns the state directory of the test cluster (pki, kubeconfigs, logs, pids, etcd data). */
export function clusterDir(): string {
  return process.env.NOPEA_CLUSTER_DIR
    ? path.resolve(process.env.NOPEA_CLUSTER_DIR)
    : path.join(cacheDir(), 'cluster');
}

function defaultLog(message: string): void {
  process.stderr.write(`[cluster] ${message}\n`);
}

/** Runs a build script, streaming its stderr, and returns the last line of its stdout. */
async function runBuildScript(name: string): Promise<string> {
  const script = path.join(here, name);
  const { code, stdout, stderrTail } = await new Promise<{
    code: number | null;
    stdout: string;
    stderrTail: string;
  }>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    let errTail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // A cold build prints for tens of minutes; show it live instead of hanging silently.
      process.stderr.write(chunk);
      errTail = (errTail + chunk.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderrTail: errTail }));
  });
  if (code !== 0) {
    throw new Error(`test/cluster/${name} failed with exit code ${code}:\n${stderrTail.trim()}`);
  }
  return stdout.trim().split('\n').pop()?.trim() ?? '';
}

/** Runs build.sh (cached builds return at once), streaming its output to stderr, and returns the bin dir. */
export async function ensureBinaries(options: HarnessOptions = {}): Promise<string> {
  const log = options.log ?? defaultLog;
  const started = Date.now();
  const binDir = await runBuildScript('build.sh');
  for (const bin of [...COMPONENTS, 'kubectl']) {
    if (!isExecutable(path.join(binDir, bin))) {
      throw new Error(`build.sh reported bin dir ${JSON.stringify(binDir)} but ${bin} is missing there`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 5) log(`binaries built in ${seconds.toFixed(0)}s: ${binDir}`);
  return binDir;
}

/**
 * Returns the Kulta controller binary: NOPEA_KULTA_BIN when set (scripts/test.sh builds it in a gate
 * first), otherwise build-kulta.sh's output (a cached build returns at once; a cold one takes minutes).
 */
export async function ensureKultaBinary(options: HarnessOptions = {}): Promise<string> {
  const log = options.log ?? defaultLog;
  const given = process.env.NOPEA_KULTA_BIN;
  if (given) {
    if (!isExecutable(given)) throw new Error(`NOPEA_KULTA_BIN=${given} is not an executable file`);
    return path.resolve(given);
  }
  const started = Date.now();
  const binary = await runBuildScript('build-kulta.sh');
  if (!isExecutable(binary)) {
    throw new Error(`build-kulta.sh reported ${JSON.stringify(binary)}, which is not an executable file`);
  }
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 5) log(`Kulta built in ${seconds.toFixed(0)}s: ${binary}`);
  return binary;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Small utilities

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Last lines of a log file, for error messages. */
function tail(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n').trimEnd();
  } catch {
    return '(no log)';
  }
}

interface PollOptions {
  what: string;
  timeoutMs: number;
  intervalMs: number;
  /** Extra context appended to the timeout error, e.g. log tails; computed only on failure. */
  details?: () => string;
  /** Called before every attempt; throw to stop early (e.g. a component has exited). */
  abort?: () => void;
}

/** Polls fn until it returns a value other than undefined, bounded both in attempts and in time. */
async function poll<T>(fn: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const maxAttempts = Math.ceil(options.timeoutMs / options.intervalMs) + 1;
  let lastError = '';
  for (let attempt = 0; attempt < maxAttempts && Date.now() <= deadline; attempt++) {
    options.abort?.();
    try {
      const value = await fn();
      if (value !== undefined) return value;
      lastError = '';
    } catch (error) {
      lastError = errorMessage(error);
    }
    await sleep(options.intervalMs);
  }
  const last = lastError ? ` (last error: ${lastError})` : '';
  const details = options.details ? `\n${options.details()}` : '';
  throw new Error(
    `timed out after ${options.timeoutMs / 1000}s waiting for ${options.what}${last}${details}`,
  );
}

/** Reserves distinct free loopback ports by binding them all at once, then releasing them. */
async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          if (address && typeof address === 'object') resolve(address.port);
          else reject(new Error('could not read the bound port'));
        });
      });
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

async function run(command: string, args: string[], cwd: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => reject(new Error(`${command} could not be run: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP against the apiserver (and etcd's plain-HTTP health endpoint)

/** Where and as whom to call the API server. */
export interface ApiTarget {
  server: string;
  ca: Buffer;
  token: string;
}

const kubeconfigCache = new Map<string, ApiTarget>();

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
  clusters?: {
    name: string;
    cluster?: { server?: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string };
  }[];
  users?: { name: string; user?: { token?: string; tokenFile?: string } }[];
}

/** Server, CA and bearer token of a kubeconfig's current context (cached per file). */
export function apiTargetOf(file: string): ApiTarget {
  const cached = kubeconfigCache.get(file);
  if (cached) return cached;
  const config = parse(fs.readFileSync(file, 'utf8')) as KubeconfigFile;
  const contextName = config['current-context'];
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === context?.user)?.user;
  if (!cluster?.server) throw new Error(`${file}: current context ${contextName} has no cluster server`);
  const caPath = cluster['certificate-authority'];
  const ca = caPath
    ? fs.readFileSync(path.resolve(path.dirname(file), caPath))
    : cluster['certificate-authority-data']
      ? Buffer.from(cluster['certificate-authority-data'], 'base64')
      : undefined;
  if (!ca) throw new Error(`${file}: cluster ${context?.cluster} names no certificate authority`);
  const token = user?.token ?? (user?.tokenFile ? fs.readFileSync(user.tokenFile, 'utf8').trim() : undefined);
  if (!token) throw new Error(`${file}: user ${context?.user} has no bearer token`);
  const target = { server: cluster.server, ca, token };
  kubeconfigCache.set(file, target);
  return target;
}

/** Status and raw text of an API response. */
export interface ApiReply {
  status: number;
  text: string;
}

/**
 * One bearer-token request to the API server, with no connection reuse. A string body is sent as is
 * (e.g. a patch), anything else as JSON.
 */
export function apiCall(
  target: ApiTarget,
  method: string,
  urlPath: string,
  body?: unknown,
  timeoutMs = 10_000,
  contentType = 'application/json',
) {
  return new Promise<ApiReply>((resolve, reject) => {
    const url = new URL(urlPath, target.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const request = https.request(
      url,
      {
        method,
        ca: target.ca,
        agent: false,
        timeout: timeoutMs,
        headers: {
          authorization: `Bearer ${target.token}`,
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`${method} ${url.pathname} timed out after ${timeoutMs}ms`)),
    );
    request.on('error', reject);
    request.end(payload);
  });
}

async function apiJson(
  target: ApiTarget,
  method: string,
  urlPath: string,
  body?: unknown,
  okStatuses: number[] = [200, 201],
): Promise<unknown> {
  const reply = await apiCall(target, method, urlPath, body);
  if (!okStatuses.includes(reply.status)) {
    throw new Error(`${method} ${urlPath} returned HTTP ${reply.status}: ${reply.text.slice(0, 500)}`);
  }
  return reply.text ? JSON.parse(reply.text) : undefined;
}

function httpGet(url: string, timeoutMs = 2000): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: timeoutMs, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

async function apiserverReady(target: ApiTarget): Promise<boolean> {
  try {
    const reply = await apiCall(target, 'GET', '/readyz', undefined, 2000);
    return reply.status === 200;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

function pidFile(dir: string, name: ProcessName): string {
  return path.join(dir, 'pids', `${name}.pid`);
}

const STAND_IN_SCRIPT = path.join(here, 'prometheus-stand-in.ts');

/** True when pid is alive (not a zombie) and runs our binary for this state dir. */
function isOurProcess(pid: number, name: ProcessName, dir: string): boolean {
  let cmdline: string[];
  let stat: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state letter follows the parenthesised command name; a zombie is already dead.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  // A recycled pid runs something else: require our binary name and an argument inside our state dir.
  if (name === 'prometheus-stand-in') {
    // Any checkout's copy of the script: checkouts share the cache and so the cluster.
    return (
      cmdline.some((arg) => path.basename(arg) === path.basename(STAND_IN_SCRIPT)) &&
      cmdline.includes(`--state-dir=${dir}`)
    );
  }
  if (name === 'kulta') {
    // Kulta takes no arguments: it is ours when it runs with this state dir's admin kubeconfig.
    if (path.basename(cmdline[0] ?? '') !== 'kulta') return false;
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      return environ.includes(`KUBECONFIG=${path.join(dir, 'admin.kubeconfig')}`);
    } catch {
      return false;
    }
  }
  return path.basename(cmdline[0] ?? '') === name && cmdline.slice(1).some((arg) => arg.includes(dir));
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Every process this state dir records (cluster.json and pid files), limited to ones still ours. */
function recordedProcesses(dir: string, info?: ClusterInfo): { name: ProcessName; pid: number }[] {
  const found = new Map<number, ProcessName>();
  for (const component of info?.components ?? []) found.set(component.pid, component.name);
  if (info?.kulta) found.set(info.kulta.pid, 'kulta');
  if (info?.prometheus) found.set(info.prometheus.pid, 'prometheus-stand-in');
  for (const name of [...COMPONENTS, ...ADDONS]) {
    const pid = readPid(pidFile(dir, name));
    if (pid !== undefined) found.set(pid, name);
  }
  return [...found]
    .filter(([pid, name]) => isOurProcess(pid, name, dir))
    .map(([pid, name]) => ({ pid, name }));
}

/** Stop order: clients first, then the apiserver (it drains towards etcd), then etcd. */
const STOP_ORDER: ProcessName[][] = [
  ['kulta', 'prometheus-stand-in'],
  ['kwok', 'kube-scheduler', 'kube-controller-manager'],
  ['kube-apiserver'],
  ['etcd'],
];

async function killRecorded(dir: string, info: ClusterInfo | undefined, log: (message: string) => void) {
  const processes = recordedProcesses(dir, info);
  if (processes.length > 0) log(`stopping ${processes.map((p) => `${p.name}(${p.pid})`).join(', ')}`);
  for (const names of STOP_ORDER) {
    await terminate(
      processes.filter((p) => names.includes(p.name)),
      dir,
      log,
    );
  }
  await fsp.rm(path.join(dir, 'pids'), { recursive: true, force: true });
  await fsp.rm(path.join(dir, 'cluster.json'), { force: true });
  return processes.length;
}

/** SIGTERM, then SIGKILL after a bounded wait; throws if a process survives both. */
async function terminate(
  processes: { name: ProcessName; pid: number }[],
  dir: string,
  log: (message: string) => void,
): Promise<void> {
  const alive = () => processes.filter((p) => isOurProcess(p.pid, p.name, dir));
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (alive().length > 0 && Date.now() < deadline) await sleep(50);
  };
  for (const { pid } of processes) signal(pid, 'SIGTERM');
  await waitGone(10_000);
  const stubborn = alive();
  if (stubborn.length === 0) return;
  log(`killing ${stubborn.map((p) => `${p.name}(${p.pid})`).join(', ')} after 10s`);
  for (const { pid } of stubborn) signal(pid, 'SIGKILL');
  await waitGone(5000);
  const left = alive();
  if (left.length > 0) throw new Error(`could not stop ${left.map((p) => `${p.name}(${p.pid})`).join(', ')}`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

interface Launched<N extends ProcessName = ComponentName> {
  info: { name: N; pid: number; binary: string; log: string };
  exitCode: () => number | null | undefined;
}

/**
 * Starts a component in its own process group with output to its log file, so it outlives this
 * Node process (cluster:up) and is not hit by a Ctrl-C aimed at the test runner.
 */
function launch(
  dir: string,
  binDir: string,
  name: ComponentName,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Launched {
  return spawnRecorded(dir, name, path.join(binDir, name), args, { ...process.env, ...env }, dir);
}

/** Spawns binary detached, appending to logs/<name>.log, and records its pid in pids/<name>.pid. */
function spawnRecorded<N extends ProcessName>(
  dir: string,
  name: N,
  binary: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Launched<N> {
  const log = path.join(dir, 'logs', `${name}.log`);
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.mkdirSync(path.join(dir, 'pids'), { recursive: true });
  const fd = fs.openSync(log, 'a');
  let exit: number | null | undefined;
  try {
    const child = spawn(binary, args, {
      cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      env,
    });
    child.on('exit', (code, sig) => {
      exit = code ?? (sig ? 128 : null);
    });
    child.on('error', () => {
      exit = 127;
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${binary}`);
    fs.writeFileSync(pidFile(dir, name), `${child.pid}\n`);
    return { info: { name, pid: child.pid, binary, log }, exitCode: () => exit };
  } finally {
    fs.closeSync(fd);
  }
}

function assertRunning(launched: Launched<ProcessName>[]): void {
  for (const component of launched) {
    const code = component.exitCode();
    if (code !== undefined) {
      throw new Error(
        `${component.info.name} exited with code ${code} during start-up; last log lines (${component.info.log}):\n` +
          tail(component.info.log),
      );
    }
  }
}

/** Log tails of the named components, most relevant (first named) first. */
function logTails(launched: Launched[], names: ComponentName[]): string {
  return names
    .map((name) => launched.find((component) => component.info.name === name))
    .filter((component) => component !== undefined)
    .map((component) => `--- ${component.info.log} (last lines)\n${tail(component.info.log, 20)}`)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Lock: start and stop from two processes (cluster:up and vitest) must not interleave.

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, 'cluster.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(lock);
      const holderAlive = holder !== undefined && fs.existsSync(`/proc/${holder}`);
      if (!holderAlive) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`another process (pid ${holder}) has held ${lock} for over 180s; is it stuck?`, {
          cause: error,
        });
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster state

function readInfo(dir: string): ClusterInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as ClusterInfo;
    return info.format === 1 ? info : undefined;
  } catch {
    return undefined;
  }
}

function targetOf(info: ClusterInfo): ApiTarget {
  return { server: info.server, ca: fs.readFileSync(info.caFile), token: info.adminToken };
}

/** Reports whether the recorded cluster is running and healthy, without changing anything. */
export async function clusterStatus(): Promise<ClusterStatus> {
  const dir = clusterDir();
  const cluster = readInfo(dir);
  if (!cluster) return { state: 'stopped', problems: [], addonProblems: [] };
  const problems: string[] = [];
  const addonProblems: string[] = [];
  if (cluster.kulta && !isOurProcess(cluster.kulta.pid, 'kulta', dir)) {
    addonProblems.push(`kulta (pid ${cluster.kulta.pid}) is not running; see ${cluster.kulta.log}`);
  }
  if (cluster.prometheus && !isOurProcess(cluster.prometheus.pid, 'prometheus-stand-in', dir)) {
    addonProblems.push(
      `prometheus-stand-in (pid ${cluster.prometheus.pid}) is not running; see ${cluster.prometheus.log}`,
    );
  }
  for (const component of cluster.components) {
    if (!isOurProcess(component.pid, component.name, dir)) {
      problems.push(`${component.name} (pid ${component.pid}) is not running; see ${component.log}`);
    }
  }
  let target: ApiTarget | undefined;
  try {
    target = targetOf(cluster);
  } catch (error) {
    problems.push(`cannot read the CA file: ${errorMessage(error)}`);
  }
  if (target && !(await apiserverReady(target))) problems.push(`${cluster.server}/readyz does not answer ok`);
  return { state: problems.length === 0 ? 'running' : 'unhealthy', cluster, problems, addonProblems };
}

/** Starts the test control plane, or returns the running one when it is healthy. */
export async function startCluster(options: StartOptions = {}): Promise<StartResult> {
  const log = options.log ?? defaultLog;
  const binDir = options.binDir ?? (await ensureBinaries({ log }));
  const dir = clusterDir();
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  return withLock(dir, async () => {
    const status = await clusterStatus();
    let cluster: ClusterInfo;
    let started: boolean;
    if (status.state === 'running' && status.cluster && status.cluster.binDir === binDir) {
      cluster = status.cluster;
      started = false;
    } else {
      if (status.state === 'unhealthy') {
        log(`recorded cluster is unhealthy (${status.problems.join('; ')}); restarting`);
      } else if (status.cluster) {
        log('recorded cluster was built from other binaries; restarting');
      }
      await killRecorded(dir, status.cluster, log);
      cluster = await startFresh(dir, binDir, log);
      started = true;
    }
    if (options.kultaBin) {
      try {
        cluster = await ensureKulta(dir, cluster, options.kultaBin, log);
      } catch (error) {
        // A fresh start leaves nothing half-started behind. A reused cluster keeps running (other
        // runs may use it); the next start with kultaBin tries Kulta again.
        if (started) await killRecorded(dir, cluster, () => {}).catch(() => 0);
        throw new Error(`Kulta failed to start: ${errorMessage(error)}\n(state and logs in ${dir})`, {
          cause: error,
        });
      }
    }
    return { cluster, started };
  });
}

// ---------------------------------------------------------------------------------------------
// Kulta: its CRD, one controller per cluster, and the Prometheus stand-in it queries

/**
 * Brings Kulta up to date on a running cluster: the stand-in answering on loopback, the repaired CRD
 * installed and Established, and one controller running our binary against this cluster. Only what
 * is missing, dead or stale is (re)started, so a warm reuse costs a few pid checks and two requests.
 */
async function ensureKulta(
  dir: string,
  cluster: ClusterInfo,
  kultaBin: string,
  log: (message: string) => void,
): Promise<ClusterInfo> {
  const target = targetOf(cluster);
  const manifest = kultaCrdManifest(kultaSourceDir(repoRoot), cacheDir());
  const gateway = gatewayApiCrds(
    path.join(cacheDir(), 'gomod'),
    gatewayApiVersion(path.join(here, 'versions.env')),
    cacheDir(),
  );
  // Independent of each other; the controller needs the first two.
  const [prometheus, crdApplied, gatewayApi] = await Promise.all([
    ensureStandIn(dir, cluster, log),
    ensureKultaCrd(target, manifest.hash, manifest.load, log),
    ensureGatewayApi(target, cluster.gatewayApi, gateway.version, gateway.load, log),
  ]);

  let kulta = cluster.kulta;
  const stale = !kulta
    ? 'not started yet'
    : !isOurProcess(kulta.pid, 'kulta', dir)
      ? `pid ${kulta.pid} is not running (see ${kulta.log})`
      : kulta.binary !== kultaBin
        ? `it runs ${kulta.binary}, not ${kultaBin}`
        : kulta.prometheusUrl !== prometheus.url
          ? `the Prometheus stand-in moved to ${prometheus.url}`
          : kulta.crdHash !== manifest.hash || crdApplied
            ? 'its CRD was (re)installed'
            : undefined;
  if (stale) {
    const running = recordedProcesses(dir, cluster).filter((p) => p.name === 'kulta');
    if (running.length > 0) {
      log(`restarting Kulta: ${stale}`);
      await terminate(running, dir, log);
    } else if (kulta) {
      log(`starting Kulta again: ${stale}`);
    }
    kulta = await startKulta(dir, cluster, kultaBin, prometheus.url, manifest.hash, log);
  }
  if (kulta === cluster.kulta && prometheus === cluster.prometheus && gatewayApi === cluster.gatewayApi) {
    return cluster;
  }
  const updated: ClusterInfo = { ...cluster, kulta, prometheus, gatewayApi };
  await fsp.writeFile(path.join(dir, 'cluster.json'), `${JSON.stringify(updated, null, 2)}\n`, {
    mode: 0o600,
  });
  return updated;
}

/** Keeps the recorded stand-in when it is ours and answers; otherwise starts one (and only one). */
async function ensureStandIn(
  dir: string,
  cluster: ClusterInfo,
  log: (message: string) => void,
): Promise<PrometheusInfo> {
  const recorded = cluster.prometheus;
  if (
    recorded &&
    isOurProcess(recorded.pid, 'prometheus-stand-in', dir) &&
    (await standInHealthy(recorded.url))
  ) {
    return recorded;
  }
  // One that does not answer, or one a failed start left in pids/ without cluster.json knowing it.
  const leftover = recordedProcesses(dir, cluster).filter((p) => p.name === 'prometheus-stand-in');
  if (leftover.length > 0) {
    log(`stopping a Prometheus stand-in that does not answer (${leftover.map((p) => p.pid).join(', ')})`);
    await terminate(leftover, dir, log);
  }
  return startStandIn(dir, recorded?.port, log);
}

async function standInHealthy(url: string): Promise<boolean> {
  try {
    const reply = await httpGet(`${url}/-/healthy`, 1000);
    return reply.status === 200 && reply.text.includes('stand-in');
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Runs prometheus-stand-in.ts (through tsx, resolved from the checkout) on a loopback port. */
async function startStandIn(
  dir: string,
  preferredPort: number | undefined,
  log: (message: string) => void,
): Promise<PrometheusInfo> {
  // Kulta keeps the address it was started with: reuse the old port when it is still free.
  const port =
    preferredPort !== undefined && (await portFree(preferredPort)) ? preferredPort : (await freePorts(1))[0];
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const launched = spawnRecorded(
    dir,
    'prometheus-stand-in',
    process.execPath,
    ['--import', 'tsx', STAND_IN_SCRIPT, `--port=${port}`, `--state-dir=${dir}`],
    env,
    // `--import tsx` resolves from the working directory: the checkout's node_modules.
    repoRoot,
  );
  const url = `http://127.0.0.1:${port}`;
  await poll(async () => ((await standInHealthy(url)) ? true : undefined), {
    what: `the Prometheus stand-in on ${url}`,
    timeoutMs: 20_000,
    intervalMs: 100,
    abort: () => assertRunning([launched]),
    details: () => `--- ${launched.info.log} (last lines)\n${tail(launched.info.log, 20)}`,
  });
  log(`Prometheus stand-in on ${url} (pid ${launched.info.pid})`);
  return { url, port, pid: launched.info.pid, log: launched.info.log };
}

interface CrdView {
  metadata?: { annotations?: Record<string, string> };
  status?: { conditions?: StatusCondition[] };
}

function established(crd: CrdView): boolean {
  return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
}

/**
 * Installs the repaired CRD with server-side apply (it is over the client-side-apply annotation
 * limit) unless the cluster already has this version Established. Returns whether it applied.
 */
async function ensureKultaCrd(
  target: ApiTarget,
  hash: string,
  load: () => Promise<string>,
  log: (message: string) => void,
): Promise<boolean> {
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${KULTA_CRD_NAME}`;
  const current = await apiCall(target, 'GET', crdPath, undefined, 30_000);
  if (current.status === 200) {
    const crd = JSON.parse(current.text) as CrdView;
    if (crd.metadata?.annotations?.[KULTA_CRD_HASH_ANNOTATION] === hash && established(crd)) return false;
  } else if (current.status !== 404) {
    throw new Error(`GET ${crdPath} returned HTTP ${current.status}: ${current.text.slice(0, 300)}`);
  }
  await applyCrd(target, KULTA_CRD_NAME, await load());
  log(`installed CRD ${KULTA_CRD_NAME} (repaired, ${hash})`);
  return true;
}

/** Server-side applies one CRD (JSON) as field manager nopea-test-harness and waits for Established. */
async function applyCrd(target: ApiTarget, name: string, json: string): Promise<void> {
  const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;
  const applied = await apiCall(
    target,
    'PATCH',
    `${crdPath}?fieldManager=nopea-test-harness&force=true`,
    json,
    60_000,
    'application/apply-patch+yaml',
  );
  if (applied.status !== 200 && applied.status !== 201) {
    throw new Error(
      `server-side apply of CRD ${name} returned HTTP ${applied.status}: ${applied.text.slice(0, 1000)}`,
    );
  }
  await poll(
    async () => (established((await apiJson(target, 'GET', crdPath)) as CrdView) ? true : undefined),
    { what: `CRD ${name} to be Established`, timeoutMs: 30_000, intervalMs: 100 },
  );
}

/**
 * Installs Gateway API's standard CRDs unless this version is recorded and HTTPRoute is served (one
 * discovery request on a warm reuse).
 */
async function ensureGatewayApi(
  target: ApiTarget,
  recorded: { version: string } | undefined,
  version: string,
  load: () => Promise<{ name: string; json: string }[]>,
  log: (message: string) => void,
): Promise<{ version: string }> {
  if (recorded?.version === version) {
    const discovery = await apiCall(target, 'GET', `/apis/${GATEWAY_API_GROUP}/v1`, undefined, 10_000);
    if (discovery.status === 200) {
      const resources = (JSON.parse(discovery.text) as { resources?: { name: string }[] }).resources ?? [];
      if (resources.some((r) => r.name === 'httproutes')) return recorded;
    }
  }
  const crds = await load();
  await Promise.all(crds.map((crd) => applyCrd(target, crd.name, crd.json)));
  log(`installed Gateway API ${version} CRDs (${crds.length}, standard channel)`);
  return { version };
}

/** Kulta's environment: the cluster, the stand-in, info logs, and nothing inherited that changes it. */
function kultaEnv(kubeconfig: string, prometheusUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // No KULTA_* from the caller's shell (webhook TLS, leader election, CDEvents sinks), no proxy: every
    // request Kulta makes goes to the loopback apiserver or the loopback stand-in.
    if (key.startsWith('KULTA_') || /^(https?|all|no)_proxy$/i.test(key)) continue;
    if (key === 'KUBECONFIG' || key === 'RUST_LOG') continue;
    env[key] = value;
  }
  return {
    ...env,
    KUBECONFIG: kubeconfig,
    RUST_LOG: 'info',
    NO_COLOR: '1',
    NO_PROXY: '127.0.0.1,localhost',
    KULTA_PROMETHEUS_ADDRESS: prometheusUrl,
  };
}

/** Starts the controller and waits until it logs that its reconcile loop runs. */
async function startKulta(
  dir: string,
  cluster: ClusterInfo,
  kultaBin: string,
  prometheusUrl: string,
  crdHash: string,
  log: (message: string) => void,
): Promise<KultaInfo> {
  const logFile = path.join(dir, 'logs', 'kulta.log');
  let offset = 0;
  try {
    offset = fs.statSync(logFile).size;
  } catch {
    // First start: no log yet.
  }
  const launched = spawnRecorded(
    dir,
    'kulta',
    kultaBin,
    [],
    kultaEnv(cluster.kubeconfig, prometheusUrl),
    dir,
  );
  const sinceStart = () => {
    try {
      const fd = fs.openSync(logFile, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const buffer = Buffer.alloc(Math.max(0, size - offset));
        fs.readSync(fd, buffer, 0, buffer.length, offset);
        return buffer.toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return '';
    }
  };
  await poll(async () => (sinceStart().includes('Controller ready') ? true : undefined), {
    what: `Kulta (pid ${launched.info.pid}) to log "Controller ready"`,
    timeoutMs: 30_000,
    intervalMs: 100,
    abort: () => assertRunning([launched]),
    details: () => `--- ${logFile} (last lines)\n${tail(logFile, 20)}`,
  });
  log(`Kulta controller running (pid ${launched.info.pid}, log ${logFile})`);
  return { binary: kultaBin, pid: launched.info.pid, log: logFile, crdHash, prometheusUrl };
}

/** Stops the processes this state dir recorded; returns how many were running. */
export async function stopCluster(options: HarnessOptions = {}): Promise<number> {
  const log = options.log ?? defaultLog;
  const dir = clusterDir();
  if (!fs.existsSync(dir)) return 0;
  return withLock(dir, () => killRecorded(dir, readInfo(dir), log));
}

// ---------------------------------------------------------------------------------------------
// Fresh start

/** Files and directories a fresh start replaces; anything else in the state dir is left alone. */
const GENERATED = [
  'pki',
  'etcd',
  'logs',
  'pids',
  'kwok',
  'tokens.csv',
  'kwok.yaml',
  'scheduler.yaml',
  'admin.kubeconfig',
  'restricted.kubeconfig',
  'controller-manager.kubeconfig',
  'scheduler.kubeconfig',
  'kwok.kubeconfig',
  'cluster.json',
];

async function startFresh(dir: string, binDir: string, log: (message: string) => void): Promise<ClusterInfo> {
  const startedAt = Date.now();
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
  for (const entry of GENERATED) await fsp.rm(path.join(dir, entry), { recursive: true, force: true });
  for (const sub of ['pki', 'logs', 'pids', 'kwok']) {
    await fsp.mkdir(path.join(dir, sub), { recursive: true });
  }

  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = await freePorts(5);
  const ports = { etcdClient, etcdPeer, apiserver, controllerManager, scheduler };
  const server = `https://127.0.0.1:${apiserver}`;
  const pki = path.join(dir, 'pki');
  const caFile = path.join(pki, 'ca.crt');

  // PKI, tokens and kubeconfigs do not depend on etcd, so prepare them while etcd starts.
  const launched: Launched[] = [];
  try {
    launched.push(
      launch(dir, binDir, 'etcd', [
        '--name=nopea',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=nopea=http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster-state=new',
        // Test data is thrown away; skipping fsync makes every write much cheaper.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ]),
    );
    await writePki(pki);
    const tokens = {
      admin: token(),
      restricted: token(),
      controllerManager: token(),
      scheduler: token(),
      kwok: token(),
    };
    // The components run as their own users (visible in audit and managedFields) with admin rights,
    // which keeps the set-up free of per-controller service accounts.
    await fsp.writeFile(
      path.join(dir, 'tokens.csv'),
      [
        `${tokens.admin},nopea-admin,nopea-admin,"system:masters"`,
        `${tokens.controllerManager},nopea-kube-controller-manager,nopea-kube-controller-manager,"system:masters"`,
        `${tokens.scheduler},nopea-kube-scheduler,nopea-kube-scheduler,"system:masters"`,
        `${tokens.kwok},nopea-kwok,nopea-kwok,"system:masters"`,
        `${tokens.restricted},restricted,restricted`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const kubeconfig = (name: string, user: string, tokenValue: string) =>
      writeKubeconfig(path.join(dir, `${name}.kubeconfig`), server, caFile, user, tokenValue);
    const adminKubeconfig = await kubeconfig('admin', 'nopea-admin', tokens.admin);
    const restrictedKubeconfig = await kubeconfig('restricted', 'restricted', tokens.restricted);
    const kcmKubeconfig = await kubeconfig(
      'controller-manager',
      'kube-controller-manager',
      tokens.controllerManager,
    );
    const schedulerKubeconfig = await kubeconfig('scheduler', 'kube-scheduler', tokens.scheduler);
    const kwokKubeconfig = await kubeconfig('kwok', 'kwok', tokens.kwok);
    await writeSchedulerConfig(path.join(dir, 'scheduler.yaml'), schedulerKubeconfig);
    await writeKwokConfig(path.join(dir, 'kwok.yaml'), binDir);

    await poll(
      async () => {
        const reply = await httpGet(`http://127.0.0.1:${etcdClient}/health`);
        return reply.status === 200 && reply.text.includes('"true"') ? true : undefined;
      },
      {
        what: 'etcd /health',
        timeoutMs: 30_000,
        intervalMs: 100,
        abort: () => assertRunning(launched),
        details: () => logTails(launched, ['etcd']),
      },
    );
    log(`etcd ready on 127.0.0.1:${etcdClient} (${elapsed()})`);

    launched.push(
      launch(dir, binDir, 'kube-apiserver', [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiserver}`,
        `--cert-dir=${path.join(pki, 'apiserver-generated')}`,
        `--tls-cert-file=${path.join(pki, 'apiserver.crt')}`,
        `--tls-private-key-file=${path.join(pki, 'apiserver.key')}`,
        `--client-ca-file=${caFile}`,
        `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--allow-privileged=true',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${path.join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(pki, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        // The default reconciler would publish 127.0.0.1 as the kubernetes Service endpoint, which
        // Endpoints validation rejects.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
      ]),
    );
    const target: ApiTarget = { server, ca: fs.readFileSync(caFile), token: tokens.admin };
    await poll(async () => ((await apiserverReady(target)) ? true : undefined), {
      what: `kube-apiserver ${server}/readyz`,
      timeoutMs: 60_000,
      intervalMs: 200,
      abort: () => assertRunning(launched),
      details: () => logTails(launched, ['kube-apiserver', 'etcd']),
    });
    log(`kube-apiserver ready on ${server} (${elapsed()})`);

    // The rest only needs a ready apiserver; start it all at once.
    const secureServing = (file: string, port: number) => [
      `--authentication-kubeconfig=${file}`,
      `--authorization-kubeconfig=${file}`,
      // Nothing here uses front-proxy (request header) auth; without this flag both components log
      // an error about its missing CA every few seconds.
      '--authentication-skip-lookup=true',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
    ];
    launched.push(
      launch(dir, binDir, 'kube-controller-manager', [
        `--kubeconfig=${kcmKubeconfig}`,
        ...secureServing(kcmKubeconfig, controllerManager),
        '--leader-elect=false',
        `--service-account-private-key-file=${path.join(pki, 'sa.key')}`,
        `--root-ca-file=${caFile}`,
        '--cluster-name=nopea-test',
        '--use-service-account-credentials=false',
        // Tests create and delete many objects in bursts; the default client rate limit (20 qps)
        // would make them wait on the controller-manager.
        '--kube-api-qps=200',
        '--kube-api-burst=400',
        // Lets the node-lifecycle controller lift the not-ready taint within about a second.
        '--node-monitor-period=1s',
      ]),
      launch(dir, binDir, 'kube-scheduler', [
        `--config=${path.join(dir, 'scheduler.yaml')}`,
        ...secureServing(schedulerKubeconfig, scheduler),
      ]),
      launch(
        dir,
        binDir,
        'kwok',
        [
          `--kubeconfig=${kwokKubeconfig}`,
          `--config=${path.join(dir, 'kwok.yaml')}`,
          '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          '--manage-nodes-with-label-selector=',
          '--manage-single-node=',
          // Only written into node and pod status; nothing dials these addresses.
          '--cidr=10.244.0.0/16',
          '--node-ip=127.0.0.1',
          '--node-lease-duration-seconds=40',
        ],
        // kwok also loads ~/.kwok/kwok.yaml when present; point its work dir into the state dir.
        { KWOK_WORKDIR: path.join(dir, 'kwok') },
      ),
    );

    await createBootstrapObjects(target);
    await poll(() => nodeSchedulable(target), {
      what: `node ${NODE_NAME} to be Ready without NoSchedule/NoExecute taints`,
      timeoutMs: 60_000,
      intervalMs: 200,
      abort: () => assertRunning(launched),
      details: () => logTails(launched, ['kwok', 'kube-controller-manager']),
    });
    log(`node ${NODE_NAME} Ready and schedulable (${elapsed()})`);
    await probePod(target, launched);
    log(`probe pod scheduled and made Ready by kwok (${elapsed()})`);

    const info: ClusterInfo = {
      format: 1,
      dir,
      binDir,
      server,
      kubectl: path.join(binDir, 'kubectl'),
      kubeconfig: adminKubeconfig,
      restrictedKubeconfig,
      caFile,
      adminToken: tokens.admin,
      nodeName: NODE_NAME,
      restrictedNamespace: RESTRICTED_NAMESPACE,
      ports,
      components: launched.map((component) => component.info),
      startedAt: new Date(startedAt).toISOString(),
      startSeconds: Math.round((Date.now() - startedAt) / 100) / 10,
    };
    await fsp.writeFile(path.join(dir, 'cluster.json'), `${JSON.stringify(info, null, 2)}\n`, {
      mode: 0o600,
    });
    return info;
  } catch (error) {
    // Leave nothing half-started behind; the logs stay for diagnosis.
    await killRecorded(dir, undefined, () => {}).catch(() => 0);
    throw new Error(`test cluster failed to start: ${errorMessage(error)}\n(state and logs in ${dir})`, {
      cause: error,
    });
  }
}

function token(): string {
  return randomBytes(24).toString('hex');
}

async function writePki(pki: string): Promise<void> {
  await fsp.writeFile(
    path.join(pki, 'openssl.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = nopea-test',
      '[ca]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
      'subjectKeyIdentifier = hash',
      '[server]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  // EC keys are generated instantly, unlike RSA, which matters on every fresh start.
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    ['req', '-x509', '-config', 'openssl.cnf', '-extensions', 'ca', ...ecKey, '-days', '3650'].concat([
      '-subj',
      '/CN=nopea-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]),
    pki,
  );
  await run(
    'openssl',
    ['req', '-new', '-config', 'openssl.cnf', ...ecKey, '-subj', '/CN=kube-apiserver'].concat([
      '-keyout',
      'apiserver.key',
      '-out',
      'apiserver.csr',
    ]),
    pki,
  );
  await run(
    'openssl',
    ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key'].concat([
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '3650',
      '-extfile',
      'openssl.cnf',
      '-extensions',
      'server',
      '-out',
      'apiserver.crt',
    ]),
    pki,
  );
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await fsp.writeFile(path.join(pki, 'sa.key'), privateKey, { mode: 0o600 });
  await fsp.writeFile(path.join(pki, 'sa.pub'), publicKey);
}

async function writeKubeconfig(
  file: string,
  server: string,
  caFile: string,
  user: string,
  tokenValue: string,
): Promise<string> {
  // JSON strings are valid YAML scalars, which keeps quoting safe without a YAML library.
  const q = (value: string) => JSON.stringify(value);
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: nopea-test',
    '    cluster:',
    `      server: ${q(server)}`,
    `      certificate-authority: ${q(caFile)}`,
    'users:',
    `  - name: ${q(user)}`,
    '    user:',
    `      token: ${q(tokenValue)}`,
    'contexts:',
    '  - name: nopea-test',
    '    context:',
    '      cluster: nopea-test',
    `      user: ${q(user)}`,
    'current-context: nopea-test',
    '',
  ].join('\n');
  await fsp.writeFile(file, text, { mode: 0o600 });
  return file;
}

async function writeSchedulerConfig(file: string, kubeconfig: string): Promise<void> {
  // Flags like --kubeconfig and --leader-elect are deprecated for the scheduler; use its config file.
  const text = [
    'apiVersion: kubescheduler.config.k8s.io/v1',
    'kind: KubeSchedulerConfiguration',
    'clientConnection:',
    `  kubeconfig: ${JSON.stringify(kubeconfig)}`,
    '  qps: 200',
    '  burst: 400',
    'leaderElection:',
    '  leaderElect: false',
    '',
  ].join('\n');
  await fsp.writeFile(file, text);
}

/** kwok's own stages used as they ship, in this order. */
const KWOK_DEFAULT_STAGES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];

/** Default stages that must not see pods our failure stages own. */
const EXCLUDE_FAILURE_TAGS = new Set(['pod/fast/pod-ready.yaml', 'pod/fast/pod-complete.yaml']);

/** Image tags simulated by test/cluster/stages/pod-failures.yaml. */
export const FAILURE_TAGS = ['fail-pull', 'crashloop', 'never-ready'] as const;

/**
 * Builds kwok's config: its shipped stages (read from the build output, not copied into the repo),
 * with pod-ready and pod-complete narrowed to pods without a failure tag, plus our failure stages.
 */
export function kwokConfig(binDir: string): string {
  const stagesDir = path.join(binDir, 'kwok-stages');
  const exclusion = [
    `    - key: '.spec.containers.[].image | split(":") | last'`,
    `      operator: 'NotIn'`,
    `      values:`,
    ...FAILURE_TAGS.map((tag) => `      - '${tag}'`),
  ].join('\n');
  const documents = KWOK_DEFAULT_STAGES.map((relative) => {
    const file = path.join(stagesDir, relative);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`kwok stage ${file} is missing (rebuild with test/cluster/build.sh)`, { cause: error });
    }
    if (!EXCLUDE_FAILURE_TAGS.has(relative)) return text.trimEnd();
    // The shipped files list their expressions under exactly this line; refuse to guess if that changes.
    const anchor = '\n    matchExpressions:\n';
    if (text.split(anchor).length !== 2) {
      throw new Error(
        `kwok stage ${file} no longer has one '    matchExpressions:' block; update harness.ts`,
      );
    }
    return text.replace(anchor, `${anchor}${exclusion}\n`).trimEnd();
  });
  documents.push(fs.readFileSync(path.join(here, 'stages', 'pod-failures.yaml'), 'utf8').trimEnd());
  return `${documents.join('\n---\n')}\n`;
}

async function writeKwokConfig(file: string, binDir: string): Promise<void> {
  await fsp.writeFile(file, kwokConfig(binDir));
}

async function createBootstrapObjects(target: ApiTarget): Promise<void> {
  const create = (urlPath: string, body: unknown) => apiJson(target, 'POST', urlPath, body, [201, 409]);
  const resources = { cpu: '64', memory: '256Gi', pods: '1000' };
  await create('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE_NAME,
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        type: 'kwok',
        'kubernetes.io/hostname': NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
    },
    // No kwok NoSchedule taint: ordinary workloads must schedule without tolerations.
    spec: {},
    status: { allocatable: resources, capacity: resources },
  });
  await create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: RESTRICTED_NAMESPACE },
  });
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${RESTRICTED_NAMESPACE}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'restricted-all', namespace: RESTRICTED_NAMESPACE },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  });
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${RESTRICTED_NAMESPACE}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'restricted-all', namespace: RESTRICTED_NAMESPACE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'restricted-all' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'restricted' }],
  });
}

interface StatusCondition {
  type: string;
  status: string;
}

interface NodeView {
  spec?: { unschedulable?: boolean; taints?: { key: string; effect: string }[] };
  status?: { conditions?: StatusCondition[] };
}

async function nodeSchedulable(target: ApiTarget): Promise<true | undefined> {
  const node = (await apiJson(target, 'GET', `/api/v1/nodes/${NODE_NAME}`)) as NodeView;
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const blocking = (node.spec?.taints ?? []).filter(
    (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
  );
  if (!ready) throw new Error('node is not Ready yet');
  if (node.spec?.unschedulable) throw new Error('node is cordoned');
  if (blocking.length > 0) throw new Error(`node still has taints ${blocking.map((t) => t.key).join(', ')}`);
  return true;
}

const PROBE_POD = 'nopea-harness-probe';

/**
 * Runs one pod through scheduler and kwok. kwok compiles stage selectors only when a pod event
 * arrives and then fails every pod with just a log line, so a broken stage must be caught here.
 */
async function probePod(target: ApiTarget, launched: Launched[]): Promise<void> {
  const podPath = `/api/v1/namespaces/kube-system/pods/${PROBE_POD}`;
  const options = {
    timeoutMs: 30_000,
    intervalMs: 100,
    abort: () => assertRunning(launched),
    details: () => logTails(launched, ['kwok', 'kube-scheduler', 'kube-controller-manager']),
  };
  // Pods are rejected until the ServiceAccount controller has created the namespace's `default`.
  await poll(
    async () => {
      const reply = await apiCall(target, 'POST', '/api/v1/namespaces/kube-system/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: PROBE_POD },
        spec: { containers: [{ name: 'probe', image: 'registry.local/probe:v1' }] },
      });
      if (reply.status === 201 || reply.status === 409) return true;
      throw new Error(`HTTP ${reply.status}: ${reply.text.slice(0, 300)}`);
    },
    { ...options, what: `the probe pod to be created in kube-system` },
  );
  await poll(
    async () => {
      const pod = (await apiJson(target, 'GET', podPath)) as { status?: { conditions?: StatusCondition[] } };
      return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? true
        : undefined;
    },
    { ...options, what: `probe pod kube-system/${PROBE_POD} to become Ready (scheduler + kwok pod stages)` },
  );
  await apiJson(target, 'DELETE', `${podPath}?gracePeriodSeconds=0`, undefined, [200, 202, 404]);
}
