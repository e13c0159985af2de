// A loopback stand-in for Prometheus, for Kulta's canary analysis in tests. The harness runs it as a
// process of the test cluster (it lives as long as the controller that queries it) and passes its URL
// to Kulta as KULTA_PROMETHEUS_ADDRESS.
//
// Kulta sends two instant queries (src/controller/prometheus.rs), both labelled with the Rollout's
// name and revision "canary" only (no namespace):
//   error-rate:  sum(rate(http_requests_total{status=~"5..",rollout="<name>",revision="canary"}[2m]))
//                / sum(rate(http_requests_total{rollout="<name>",revision="canary"}[2m])) * 100
//   latency-p95: histogram_quantile(0.95, rate(http_request_duration_seconds_bucket{rollout="<name>",
//                revision="canary"}[2m]))
// Each is answered with a one-sample vector holding the value a test set for that Rollout, or a
// healthy default. Tests set values through a control endpoint on the same server:
//   PUT    /control/<rollout>   {"error-rate": 12.5, "latency-p95": 0.2}  (replaces; missing = default)
//   GET    /control/<rollout>   effective values and how often Kulta asked for each
//   DELETE /control/<rollout>   back to the defaults, counters reset
// A value may be a number, "NaN" (Prometheus' NaN) or null (no data: an empty vector). Kulta treats
// NaN and no data as a query error, which leaves the rollout stuck without a status signal.
// Any other query (Kulta's A/B queries, by `service`) gets an empty vector, as series that do not
// exist would. Only Node built-ins; bound to 127.0.0.1 and never calls out.
import http from 'node:http';
import { pathToFileURL } from 'node:url';

export const METRICS = ['error-rate', 'latency-p95'] as const;
export type MetricName = (typeof METRICS)[number];
/** A sample value: a number, Prometheus' "NaN", or null for "no data". */
export type MetricValue = number | 'NaN' | null;
export type RolloutMetrics = Partial<Record<MetricName, MetricValue>>;

/** What unknown Rollouts get: no errors, a fast p95 (seconds). Kulta calls a value healthy below its threshold. */
export const HEALTHY_DEFAULTS: Record<MetricName, MetricValue> = { 'error-rate': 0, 'latency-p95': 0.05 };

interface RolloutState {
  values: RolloutMetrics;
  queries: Record<MetricName, number>;
  lastQueryAt?: string;
}

const ROLLOUT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const MAX_BODY = 64 * 1024;

/** Which metric and Rollout a Kulta query asks for; undefined for anything else. */
export function classifyQuery(query: string): { metric: MetricName; rollout: string } | undefined {
  const rollout = /\brollout="([^"]*)"/.exec(query)?.[1];
  if (!rollout || !/\brevision="canary"/.test(query)) return undefined;
  if (query.includes('http_request_duration_seconds_bucket') && query.includes('histogram_quantile(0.95')) {
    return { metric: 'latency-p95', rollout };
  }
  if (query.includes('http_requests_total') && query.includes('status=~"5.."')) {
    return { metric: 'error-rate', rollout };
  }
  return undefined;
}

function validValue(value: unknown): value is MetricValue {
  return value === null || value === 'NaN' || (typeof value === 'number' && Number.isFinite(value));
}

/** Parses a control body; throws a message for the 400 reply. */
export function parseMetrics(body: unknown): RolloutMetrics {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error('body must be a JSON object like {"error-rate": 12.5, "latency-p95": 0.2}');
  }
  const out: RolloutMetrics = {};
  for (const [key, value] of Object.entries(body)) {
    if (!(METRICS as readonly string[]).includes(key)) {
      throw new Error(`unknown metric ${JSON.stringify(key)}; Kulta knows only ${METRICS.join(', ')}`);
    }
    if (!validValue(value)) {
      throw new Error(`${key}: expected a finite number, "NaN" or null, got ${JSON.stringify(value)}`);
    }
    out[key as MetricName] = value;
  }
  return out;
}

export interface StandInOptions {
  log?: (line: string) => void;
  /** Sample timestamps; Kulta parses them as integers (i64), so the default is whole seconds. */
  now?: () => number;
}

/** Creates the stand-in's HTTP server (not yet listening). */
export function createPrometheusStandIn(options: StandInOptions = {}): http.Server {
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const rollouts = new Map<string, RolloutState>();
  const stateOf = (name: string): RolloutState => {
    let state = rollouts.get(name);
    if (!state) {
      state = { values: {}, queries: { 'error-rate': 0, 'latency-p95': 0 } };
      rollouts.set(name, state);
    }
    return state;
  };
  const effective = (state: RolloutState | undefined): Record<MetricName, MetricValue> => ({
    ...HEALTHY_DEFAULTS,
    ...state?.values,
  });
  const describe = (name: string) => {
    const state = rollouts.get(name);
    return {
      rollout: name,
      set: Object.keys(state?.values ?? {}).length > 0,
      values: effective(state),
      queries: state?.queries ?? { 'error-rate': 0, 'latency-p95': 0 },
      ...(state?.lastQueryAt ? { lastQueryAt: state.lastQueryAt } : {}),
    };
  };

  const answer = (query: string) => {
    const asked = classifyQuery(query);
    if (!asked) {
      log(`query (no such series): ${query}`);
      return { status: 'success', data: { resultType: 'vector', result: [] } };
    }
    const state = stateOf(asked.rollout);
    state.queries[asked.metric] += 1;
    state.lastQueryAt = new Date().toISOString();
    const value = effective(state)[asked.metric];
    log(`query ${asked.metric} rollout=${asked.rollout} -> ${value === null ? 'no data' : value}`);
    const result =
      value === null
        ? []
        : [{ metric: { rollout: asked.rollout, revision: 'canary' }, value: [now(), String(value)] }];
    return { status: 'success', data: { resultType: 'vector', result } };
  };

  return http.createServer((request, response) => {
    const send = (status: number, body?: unknown) => {
      const text = body === undefined ? '' : typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
      response.writeHead(status, {
        'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      response.end(text);
    };
    let size = 0;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        send(413, { status: 'error', error: `body over ${MAX_BODY} bytes` });
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (response.headersSent) return;
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const method = request.method ?? 'GET';
      try {
        if (url.pathname === '/-/healthy' || url.pathname === '/-/ready') {
          return send(200, 'Prometheus stand-in is Healthy.\n');
        }
        if (url.pathname === '/api/v1/query') {
          if (method !== 'GET' && method !== 'POST') return send(405, { status: 'error', error: method });
          const form = method === 'POST' ? new URLSearchParams(body) : url.searchParams;
          const query = form.get('query') ?? url.searchParams.get('query');
          if (!query) {
            return send(400, { status: 'error', errorType: 'bad_data', error: 'query is required' });
          }
          return send(200, answer(query));
        }
        if (url.pathname === '/control' && method === 'GET') {
          return send(200, { rollouts: [...rollouts.keys()].sort().map(describe) });
        }
        const control = /^\/control\/([^/]+)$/.exec(url.pathname);
        if (control) {
          const name = decodeURIComponent(control[1]);
          if (!ROLLOUT_NAME.test(name))
            return send(400, { error: `not a Rollout name: ${JSON.stringify(name)}` });
          if (method === 'GET') return send(200, describe(name));
          if (method === 'DELETE') {
            rollouts.delete(name);
            log(`control ${name}: cleared`);
            return send(204);
          }
          if (method === 'PUT') {
            let parsed: unknown;
            try {
              parsed = JSON.parse(body);
            } catch {
              return send(400, { error: 'body is not JSON' });
            }
            let values: RolloutMetrics;
            try {
              values = parseMetrics(parsed);
            } catch (error) {
              return send(400, { error: error instanceof Error ? error.message : String(error) });
            }
            stateOf(name).values = values;
            log(`control ${name}: ${JSON.stringify(values)}`);
            return send(200, describe(name));
          }
          return send(405, { error: `${method} is not supported on /control/<rollout>` });
        }
        return send(404, { status: 'error', error: `no route ${method} ${url.pathname}` });
      } catch (error) {
        return send(500, { status: 'error', error: error instanceof Error ? error.message : String(error) });
      }
    });
  });
}

/** `node --import tsx prometheus-stand-in.ts --port=N --state-dir=DIR` (the harness starts it so). */
function main(argv: string[]): void {
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const port = Number.parseInt(arg('port') ?? '', 10);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write('usage: prometheus-stand-in.ts --port=N --state-dir=DIR\n');
    process.exit(2);
  }
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const server = createPrometheusStandIn({ log });
  server.on('error', (error) => {
    process.stderr.write(`prometheus stand-in: ${error.message}\n`);
    process.exit(1);
  });
  // Loopback only: the stand-in must never be reachable from, or reach, anything else.
  server.listen(port, '127.0.0.1', () => log(`listening on http://127.0.0.1:${port}`));
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
