// The official CDEvents v0.4.1 schemas (/work/shared/reference/cdevents, or NOPEA_CDEVENTS_SCHEMAS),
// loaded at test time with their links/ schemas, to validate every event nopea emits.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import addFormatsModule from 'ajv-formats';
import { CDEVENT_TYPES, type CloudEvent } from '../../../src/events/cdevents.js';

const DIR = process.env.NOPEA_CDEVENTS_SCHEMAS ?? '/work/shared/reference/cdevents';

const FILES: Record<string, string> = {
  [CDEVENT_TYPES.deployed]: 'servicedeployed.json',
  [CDEVENT_TYPES.upgraded]: 'serviceupgraded.json',
  [CDEVENT_TYPES.rolledback]: 'servicerolledback.json',
  [CDEVENT_TYPES.removed]: 'serviceremoved.json',
  [CDEVENT_TYPES.environmentModified]: 'environmentmodified.json',
};

const read = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const file of readdirSync(path.join(DIR, 'links'))) ajv.addSchema(read(path.join(DIR, 'links', file)));
const validators = new Map(
  Object.entries(FILES).map(([type, file]) => [type, ajv.compile(read(path.join(DIR, file)))]),
);

/** Schema errors of an event's CDEvent (`data`), against the official schema of its type; [] when valid. */
export function cdeventErrors(event: CloudEvent): string[] {
  const validate = validators.get(event.type);
  if (!validate) return [`no official schema for type ${event.type}`];
  if (event.data.context.type !== event.type) return ['the envelope type differs from the CDEvent type'];
  if (validate(event.data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** Envelope problems: CloudEvents 1.0 structured mode with the CDEvent as `data`. */
export function envelopeErrors(event: CloudEvent): string[] {
  const problems: string[] = [];
  if (event.specversion !== '1.0') problems.push('specversion is not 1.0');
  for (const key of ['id', 'source', 'type'] as const) if (!event[key]) problems.push(`${key} missing`);
  if (event.datacontenttype !== 'application/json') problems.push('datacontenttype is not application/json');
  if (event.id !== event.data.context.id) problems.push('id differs from the CDEvent id');
  return problems;
}

/** Parses a received body as a CloudEvent and asserts envelope and CDEvent are valid. */
export function validEvent(body: string): CloudEvent {
  const event = JSON.parse(body) as CloudEvent;
  expect(envelopeErrors(event)).toEqual([]);
  expect(cdeventErrors(event)).toEqual([]);
  return event;
}
