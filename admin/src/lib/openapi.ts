// Reading the OpenAPI document (GET /api/openapi.json) for the API reference page: $ref resolution and a
// one-line type label per JSON Schema.
export type Schema = Record<string, unknown>;

export interface Operation {
  method: string;
  path: string;
  tags: string[];
  summary?: string;
  description?: string;
  operationId?: string;
  deprecated?: boolean;
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: Schema }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { $ref?: string; description?: string; content?: Record<string, { schema?: Schema }> }>;
}

export interface OpenApiDoc {
  info: { title: string; version: string; description?: string };
  tags?: Array<{ name: string; description?: string }>;
  paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
  components?: {
    schemas?: Record<string, Schema>;
    parameters?: Record<string, NonNullable<Operation['parameters']>[number]>;
    responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
  };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation, in document order. */
export function operations(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      // Shared parameters (`#/components/parameters/page`) resolved in place.
      const parameters = op.parameters?.map((p) => {
        const ref = (p as { $ref?: string }).$ref;
        return ref ? (doc.components?.parameters?.[refName(ref)] ?? { name: refName(ref), in: 'query' }) : p;
      });
      out.push({ ...op, ...(parameters ? { parameters } : {}), method: method.toUpperCase(), path, tags: op.tags?.length ? op.tags : ['Other'] });
    }
  }
  return out;
}

/** `#/components/schemas/Name` → `Name`. */
export function refName(ref: string): string {
  return ref.split('/').pop() ?? ref;
}

/** Follows a local $ref (once per level); other schemas pass through. */
export function resolve(doc: OpenApiDoc, schema: unknown): Schema {
  if (!schema || typeof schema !== 'object') return {};
  const s = schema as Schema;
  if (typeof s.$ref === 'string' && s.$ref.startsWith('#/components/schemas/')) return doc.components?.schemas?.[refName(s.$ref)] ?? {};
  return s;
}

/** A short type: `string`, `"a" | "b"`, `ProductsRecord[]`, `integer | 0`. */
export function typeLabel(schema: unknown): string {
  if (schema === true || schema === undefined) return 'any';
  if (schema === false) return 'never';
  const s = schema as Schema;
  if (typeof s.$ref === 'string') return refName(s.$ref);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  const union = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(union)) return union.map(typeLabel).join(' | ');
  if (s.type === 'array') return `${wrap(typeLabel(s.items))}[]`;
  if (s.type === 'string' && typeof s.contentMediaType === 'string') return 'file';
  if (Array.isArray(s.type)) return s.type.join(' | ');
  if (typeof s.type === 'string') return s.type;
  if (s.properties) return 'object';
  return 'any';
}

function wrap(label: string): string {
  return label.includes(' | ') ? `(${label})` : label;
}

/** Constraints worth a glance: `max 200`, `1–4 items`, `read-only`. */
export function constraints(schema: unknown): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as Schema;
  const out: string[] = [];
  if (typeof s.minLength === 'number' && s.minLength > 0) out.push(`min length ${s.minLength}`);
  if (typeof s.maxLength === 'number') out.push(`max length ${s.maxLength}`);
  if (typeof s.minimum === 'number') out.push(`≥ ${s.minimum}`);
  if (typeof s.maximum === 'number') out.push(`≤ ${s.maximum}`);
  if (typeof s.minItems === 'number') out.push(`at least ${s.minItems}`);
  if (typeof s.maxItems === 'number') out.push(`at most ${s.maxItems}`);
  if (s.format) out.push(String(s.format));
  if (s.readOnly) out.push('read-only');
  if (s.writeOnly) out.push('write-only');
  return out;
}

/** The schema whose properties to list (an object, or the items of an array of objects). */
export function expandable(doc: OpenApiDoc, schema: unknown): Schema | null {
  let s = resolve(doc, schema);
  if (s.type === 'array') s = resolve(doc, s.items);
  return s.properties && typeof s.properties === 'object' && Object.keys(s.properties).length ? s : null;
}
