// The official API description (spec/mfa-v3.json) as the source of request and response schemas, and
// of the /openapi.json document describing what this server serves.
import { readFileSync } from 'node:fs';

type Json = Record<string, unknown>;

const SPEC_URL = new URL('../../spec/mfa-v3.json', import.meta.url);

export const officialSpec: Json = JSON.parse(readFileSync(SPEC_URL, 'utf8')) as Json;

const components = (officialSpec['components'] as { schemas: Record<string, Json> }).schemas;

// Keywords of OpenAPI that are not JSON Schema validation keywords.
const DROPPED = new Set(['example', 'examples', 'xml', 'externalDocs', 'deprecated', 'discriminator']);

/** A component of the official spec as a self-contained JSON Schema, $refs inlined. */
export function schemaOf(name: string): Json {
  const schema = components[name];
  if (!schema) throw new Error(`no schema ${name} in the official spec`);
  return toJsonSchema(schema);
}

function toJsonSchema(node: unknown): Json {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item)) as unknown as Json;
  if (node === null || typeof node !== 'object') return node as Json;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key)) continue;
    if (key === '$ref' && typeof value === 'string') {
      return schemaOf(value.replace('#/components/schemas/', ''));
    }
    out[key] = key === 'enum' ? value : toJsonSchema(value);
  }
  // OpenAPI 3.0 writes a nullable enum as enum [..., null] plus nullable: true; JSON Schema wants null in both.
  if (out['nullable'] === true && typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
  delete out['nullable'];
  return out;
}

/** The official description of one path and method, for the served OpenAPI document. */
export function officialOperation(path: string, method: string): Json {
  const paths = officialSpec['paths'] as Record<string, Record<string, Json>>;
  const operation = paths[path]?.[method];
  if (!operation) throw new Error(`no ${method} ${path} in the official spec`);
  return operation;
}
