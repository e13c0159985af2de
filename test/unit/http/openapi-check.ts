/**
 * Checks an answer of the API against the OpenAPI document it serves: the route (by method and the
 * document's path template) must be listed with that status, and a JSON body must validate against
 * the response schema (JSON Schema 2020-12, as OpenAPI 3.1 writes it). Shared by the unit and the
 * integration tests of the HTTP API.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export interface OpenApiDoc {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
}

/** The document's path template a concrete path matches (`/api/status/web` → `/api/status/{service}`). */
export function templateOf(doc: OpenApiDoc, path: string): string | undefined {
  const bare = path.split('?')[0]!;
  return Object.keys(doc.paths).find((template) => {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return pattern.test(bare);
  });
}

/** Problems of one answer against the document; empty when it matches. */
export function checkAnswer(
  doc: OpenApiDoc,
  method: string,
  path: string,
  status: number,
  body: unknown,
): string[] {
  const template = templateOf(doc, path);
  if (!template) return [`${path} is not in the document`];
  const operation = doc.paths[template]![method.toLowerCase()];
  if (!operation) return [`${method} ${template} is not in the document`];
  const response = operation.responses[String(status)];
  if (!response) return [`${method} ${template} does not document status ${status}`];
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return [];
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile({ ...schema, components: doc.components });
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${method} ${path} ${status}: ${e.instancePath} ${e.message}`);
}
