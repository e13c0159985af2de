/**
 * The API's routes as `createRoute` definitions: per route the facade operation it calls and the
 * zod schemas of its path, query and body — taken from the operation's own request schema, so that
 * the validation a request meets and the OpenAPI document describe the same thing. Success answers
 * carry the operation's result schema; every failure the error body of `errors.ts`.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  DiffRequest,
  HealthRequest,
  HistoryRequest,
  OPERATIONS,
  PromoteRequest,
  RollbackRequest,
  ServiceRequest,
  SyncRequest,
  type OperationName,
} from '../surface/api.js';
import { RefSchema } from './checkout.js';
import { ErrorBody } from './errors.js';

/** The security requirement of every authenticated route: a bearer token or an `x-api-key` header. */
export const SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

const ERRORS = {
  400: 'invalid request: the problems name the field',
  401: 'missing or wrong API key',
  403: 'this key may only read',
  404: 'no such route, or nothing recorded for it',
  409: 'a safety rail refused the change, or another deploy holds the service lock',
  413: 'request body too large',
  415: 'the body is not application/json',
  500: 'internal error (details in the server log, under the request id)',
  502: 'the deploy, the cluster or the state branch failed; for a deploy, its result and the error',
  503: 'cancelled, or the server is shutting down',
} as const;

type ErrorStatus = keyof typeof ERRORS;

/** The error body, once, as the document's `Error` component. */
const ErrorRef = ErrorBody.openapi('Error');

function errorResponses(statuses: readonly ErrorStatus[]) {
  return Object.fromEntries(statuses.map((s) => [s, json(ErrorRef, ERRORS[s])]));
}

const READ_ERRORS: ErrorStatus[] = [400, 401, 500, 502, 503];
const WRITE_ERRORS: ErrorStatus[] = [400, 401, 403, 409, 413, 415, 500, 502, 503];

/** Path parameters, from the operations' request fields. */
const serviceParam = z.object({ service: ServiceRequest.shape.service });
const healthParam = z.object({ service: HealthRequest.shape.service.unwrap() });
const deployIdParam = z.object({ deployId: PromoteRequest.shape.deployId.unwrap() });

/** A query string carries text: the number of `limit` is parsed, then checked by the operation's schema. */
const historyQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'a whole number')
    .transform(Number)
    .pipe(HistoryRequest.shape.limit.unwrap())
    .optional()
    .describe(HistoryRequest.shape.limit.description ?? 'at most this many deploys'),
});
const namespaceQuery = ServiceRequest.pick({ namespace: true });
/** A route that takes no query string refuses one, as the others refuse a parameter they do not know. */
const noQuery = z.strictObject({});

/** Request bodies: the operation's, plus `ref` where manifests are read. */
const DeployBody = SyncRequest.extend({ ref: RefSchema.optional() });
const DiffBody = DiffRequest.extend({ ref: RefSchema.optional() });
const PromoteBody = PromoteRequest.omit({ deployId: true });
const RollbackBody = RollbackRequest.omit({ deployId: true });

export interface ApiRoute {
  operation: OperationName;
  route: RouteConfig;
  /** Whether the body may name a `ref` to check out (deploy, diff). */
  readsRef: boolean;
}

interface Spec {
  operation: OperationName;
  method: 'get' | 'post';
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodObject;
}

const SPECS: Spec[] = [
  { operation: 'services', method: 'get', path: '/services', summary: 'every service on the state branch' },
  {
    operation: 'status',
    method: 'get',
    path: '/status/{service}',
    summary: "a service's current deploy and how its last one ended",
    params: serviceParam,
  },
  {
    operation: 'health',
    method: 'get',
    path: '/health/{service}',
    summary: "the live health of a service's inventory; changes nothing",
    params: healthParam,
  },
  {
    operation: 'context',
    method: 'get',
    path: '/context/{service}',
    summary: 'what memory knows about a service',
    params: serviceParam,
    query: namespaceQuery,
  },
  {
    operation: 'history',
    method: 'get',
    path: '/history/{service}',
    summary: 'the deploys of a service, newest first',
    params: serviceParam,
    query: historyQuery,
  },
  {
    operation: 'explain',
    method: 'get',
    path: '/explain/{service}',
    summary: 'which strategy auto would choose now, and why',
    params: serviceParam,
    query: namespaceQuery,
  },
  {
    operation: 'memory',
    method: 'get',
    path: '/memory',
    summary: "the size of nopea's memory and the top risks",
  },
  {
    operation: 'diff',
    method: 'post',
    path: '/diff',
    summary: 'what a deploy would change; nothing is written',
    body: DiffBody,
  },
  {
    operation: 'sync',
    method: 'post',
    path: '/deploy',
    summary: 'plan, guard, apply, prune, wait and record (a sync); dryRun writes nothing',
    body: DeployBody,
  },
  {
    operation: 'promote',
    method: 'post',
    path: '/promote/{deployId}',
    summary: 'pass the gate a progressive rollout waits at (full: every gate)',
    params: deployIdParam,
    body: PromoteBody,
  },
  {
    operation: 'rollback',
    method: 'post',
    path: '/rollback/{deployId}',
    summary: 'roll a progressive rollout back to its stable template',
    params: deployIdParam,
    body: RollbackBody,
  },
];

function apiRoute(spec: Spec): ApiRoute {
  const op = OPERATIONS[spec.operation];
  const writes = !op.readOnly;
  const request: NonNullable<RouteConfig['request']> = {};
  if (spec.params) request.params = spec.params;
  request.query = spec.query ?? noQuery;
  if (spec.body) {
    request.body = { content: { 'application/json': { schema: spec.body } }, required: false };
  }
  const success: RouteConfig['responses'] = { 200: json(op.result, 'the result') };
  if (writes) success[202] = json(op.result, 'a progressive rollout waits at a gate for a promote');
  return {
    operation: spec.operation,
    readsRef: spec.body === DeployBody || spec.body === DiffBody,
    route: createRoute({
      method: spec.method,
      path: `/api${spec.path}`,
      operationId: spec.operation,
      summary: spec.summary,
      tags: [writes ? 'deploy' : 'read'],
      security: SECURITY,
      request,
      responses: { ...success, ...errorResponses(writes ? WRITE_ERRORS : READ_ERRORS) },
    }),
  };
}

/** Every API route, one per facade operation the API serves. */
export const API_ROUTES: readonly ApiRoute[] = SPECS.map(apiRoute);

export const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  summary: 'liveness: the process answers (no key needed)',
  tags: ['server'],
  responses: { 200: json(z.object({ status: z.literal('ok') }), 'alive') },
});

const Readiness = z.object({
  ready: z.boolean(),
  checks: z.object({ repository: z.string(), server: z.string() }),
});

export const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  summary: 'readiness: the repository is a git repository and the server accepts requests (no key needed)',
  tags: ['server'],
  responses: { 200: json(Readiness, 'ready'), 503: json(Readiness, 'not ready, or shutting down') },
});

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics (text exposition format); the same keys as reads',
  tags: ['server'],
  security: SECURITY,
  responses: {
    200: { content: { 'text/plain': { schema: z.string() } }, description: 'the metrics' },
    ...errorResponses([401, 500]),
  },
});
