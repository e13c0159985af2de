/**
 * The MCP tools as data: each names one operation of the facade's table (`OPERATIONS`), says when an
 * agent should use it, and maps the facade's camelCase request fields to the snake_case arguments
 * MCP clients take. Schemas are derived from the operation's own (one function each way), so a field
 * added to a request appears in its tool without a change here. Pure.
 */
import { z } from 'zod';
import { ErrorJson, StatusSchema } from '../surface/api.js';

/** One tool: its name, the operation it runs, and what an agent needs to know to call it. */
export interface ToolSpec {
  name: string;
  /** The key of the operation in `OPERATIONS`. */
  operation: string;
  title: string;
  /** When to use it and what it changes; the statuses are appended to it. */
  description: string;
  /** Reaches the cluster (whose state others change), not only the state branch. */
  openWorld: boolean;
  /** Defaults this interface sets (camelCase request fields), e.g. a deploy is a dry run unless asked. */
  defaults?: Record<string, unknown>;
}

const DEPLOY_ID = 'Every write is recorded as one deploy (its deploy_id) on the git state branch.';
const GATE =
  "It needs a canary or blue-green rollout that waits at a gate (status paused, exit 4, after a nopea_deploy with strategy canary or blue-green); see nopea_status. deploy_id defaults to the service's current deploy; a wrong, finished or superseded one is invalid and changes nothing.";
const WRITES = 'Refused unless the server was started with --allow-writes.';

export const TOOLS: readonly ToolSpec[] = [
  {
    name: 'nopea_deploy',
    operation: 'sync',
    title: 'Deploy (sync) a service',
    description: `Syncs the service's manifests from the repository to the cluster: plans, guards (safety rails), applies with server-side apply in dependency order, prunes what git no longer declares, waits for health (or monitors a canary/blue-green rollout) and records the deploy. dry_run defaults to true here: the server's dry-run plans and guards every object and nothing is written to the cluster or the state branch; pass dry_run: false to deploy (${WRITES}). ${DEPLOY_ID} Use nopea_diff first to see what would change.`,
    openWorld: true,
    defaults: { dryRun: true },
  },
  {
    name: 'nopea_diff',
    operation: 'diff',
    title: 'Plan a sync (diff)',
    description:
      'Shows what a sync would do, object by object and field by field: create, update (git changed it), drift (someone changed the live object), conflict, unchanged, prune. Reads the repository, the cluster and the state branch; writes nothing. offline: true compares with the state branch only, without the cluster.',
    openWorld: true,
  },
  {
    name: 'nopea_health',
    operation: 'health',
    title: 'Check live health',
    description:
      "Checks the live objects of a service's inventory (or of every service) in the cluster: ready or not, and why (pod reasons, events). Changes nothing.",
    openWorld: true,
  },
  {
    name: 'nopea_status',
    operation: 'status',
    title: "A service's current deploy",
    description:
      "Shows a service's current deploy (deploy_id and status, e.g. paused at a gate) and how its last deploy ended, from the state branch. Changes nothing. Use it before nopea_promote or nopea_rollback.",
    openWorld: false,
  },
  {
    name: 'nopea_history',
    operation: 'history',
    title: "A service's deploys",
    description:
      "Lists a service's deploys, newest first: deploy_id, times, strategy, outcome and error, from the state branch. Changes nothing.",
    openWorld: false,
  },
  {
    name: 'nopea_services',
    operation: 'services',
    title: 'Every service',
    description:
      'Lists every service on the state branch with its namespace, last outcome and current status. Changes nothing.',
    openWorld: false,
  },
  {
    name: 'nopea_context',
    operation: 'context',
    title: 'What memory knows about a service',
    description:
      "Shows what nopea's memory knows about a service in its namespace: failure patterns, confidence and recommendations learned from earlier deploys. Changes nothing.",
    openWorld: false,
  },
  {
    name: 'nopea_explain',
    operation: 'explain',
    title: 'Which strategy auto would choose',
    description:
      'Says which strategy a deploy with strategy auto would choose now (direct, canary, blue-green) and why. Changes nothing.',
    openWorld: false,
  },
  {
    name: 'nopea_promote',
    operation: 'promote',
    title: 'Promote a waiting rollout',
    description: `Passes the gate a progressive rollout waits at (full: true passes every remaining gate, 100% at once), then monitors it to the next gate or the end. ${GATE} ${WRITES}`,
    openWorld: true,
  },
  {
    name: 'nopea_rollback',
    operation: 'rollback',
    title: 'Roll a rollout back',
    description: `Rolls a progressive rollout back: traffic and replicas return to the last good (stable) version, replacing the new one. ${GATE} ${WRITES}`,
    openWorld: true,
  },
];

/** What every tool's status means; appended to each description. */
export const STATUSES_TEXT =
  "The result's status: succeeded, dry-run or planned (exit 0); paused (exit 4: a rollout waits at a gate for nopea_promote or nopea_rollback; not an error); failed, rolled-back or cancelled (exit 1, isError); invalid or refused (exit 2, isError: nothing was changed; the problems name the file, line and a hint).";

/** `deployId` → `deploy_id`. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `deploy_id` → `deployId`. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The fields of an object schema (every request is one). */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  if (!(schema instanceof z.ZodObject)) throw new Error('an operation request must be an object schema');
  return schema.shape as Record<string, z.ZodType>;
}

/**
 * A tool's input schema: the operation's request with snake_case keys, strict like the request, and
 * this interface's defaults set on their fields (and shown in the JSON Schema).
 */
export function inputSchemaOf(
  request: z.ZodType,
  defaults: Record<string, unknown> = {},
): z.ZodObject<Record<string, z.ZodType>> {
  const shape = Object.fromEntries(
    Object.entries(shapeOf(request)).map(([key, field]) => {
      if (!(key in defaults)) return [snakeCase(key), field];
      const value = defaults[key];
      const text = `${field.description ?? key} (default here: ${JSON.stringify(value)})`;
      return [snakeCase(key), field.default(value as never).describe(text)];
    }),
  );
  return z.strictObject(shape);
}

/** A tool's arguments as the operation's request: keys back to camelCase. */
export function requestOf(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).map(([key, value]) => [camelCase(key), value]));
}

/**
 * The schema with every object in it open to more keys. The facade's result schemas name the main
 * fields of results that carry more; a JSON Schema made from them for output would say
 * `additionalProperties: false`, and a client validating structuredContent would refuse every result.
 */
export function openSchema(schema: z.ZodType): z.ZodType {
  const described = (s: z.ZodType): z.ZodType =>
    schema.description === undefined ? s : s.describe(schema.description);
  if (schema instanceof z.ZodOptional) return described(openSchema(schema.unwrap() as z.ZodType).optional());
  if (schema instanceof z.ZodArray) return described(z.array(openSchema(schema.element as z.ZodType)));
  if (schema instanceof z.ZodObject) {
    const shape = Object.entries(schema.shape as Record<string, z.ZodType>).map(
      ([key, field]) => [key, openSchema(field)] as const,
    );
    return described(z.looseObject(Object.fromEntries(shape)));
  }
  return schema;
}

/**
 * A tool's output schema: the facade's answer, its status and either the operation's result or the
 * error (`kind`, `problems` with file, line and hint). Error answers validate too, so an MCP client
 * checking structuredContent against it accepts every answer.
 */
export function outputSchemaOf(result: z.ZodType) {
  return z.looseObject({
    status: StatusSchema,
    result: openSchema(result).optional().describe("the operation's result (absent when error is set)"),
    error: openSchema(ErrorJson).optional().describe('why it failed before any result: kind and problems'),
  });
}
