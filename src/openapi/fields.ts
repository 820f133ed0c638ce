/**
 * Field type → JSON Schema (OpenAPI 3.1 is JSON Schema 2020-12), in three forms:
 *
 *   response  what the API returns for the field (PocketBase's zero values included: '' for an empty text,
 *             date, single select/relation/file, 0, false, [] for an empty list, null for json)
 *   create    what a create body may carry; `required` fields are listed by {@link isRequiredOnCreate}
 *   update    the same as create (every key optional)
 *
 * The schemas are never stricter than the server: every canonical value (JSON of the field's own type) the
 * field accepts, the input schema admits, and every value the server returns, the response schema admits (a
 * property test pins both). Rules the schema cannot state exactly (RE2 patterns, a text's minimum length when
 * '' is also allowed, byte sizes) go in the description instead.
 */
import type { Field } from '../collections/model.js';

/** A JSON Schema (2020-12) object. */
export type JsonSchema = { [key: string]: unknown } | boolean;

export type SchemaForm = 'response' | 'create' | 'update';

/** PocketBase's default text maximum (runes) when `max` is 0. */
const DEFAULT_TEXT_MAX = 5000;
/** bcrypt's limit, the password field's maximum when `max` is 0. */
const PASSWORD_MAX_LENGTH = 71;

const ID_DESCRIPTION = 'A record id.';

function withHelp(schema: Record<string, unknown>, field: Field, extra: string[] = []): Record<string, unknown> {
  const notes = [field.help ?? '', ...extra].filter((s) => s !== '');
  if (notes.length) schema.description = notes.join(' ');
  return schema;
}

/** One value or a list (select, relation, file): maxSelect > 1 is a list. */
function isList(field: Field): boolean {
  return (field.type === 'select' || field.type === 'relation' || field.type === 'file') && field.maxSelect > 1;
}

/** The JSON Schema of one field, in `form`; `undefined` when the field is not part of that form. */
export function fieldSchema(field: Field, form: SchemaForm): JsonSchema | undefined {
  const input = form !== 'response';
  const required = field.required === true;
  switch (field.type) {
    case 'text': {
      const max = field.max > 0 ? field.max : DEFAULT_TEXT_MAX;
      const s: Record<string, unknown> = { type: 'string', maxLength: max };
      const notes: string[] = [];
      if (input && required) s.minLength = Math.max(field.min, 1);
      else if (input && field.min > 0) notes.push(`When not empty: at least ${field.min} character(s).`);
      if (field.primaryKey) notes.push(ID_DESCRIPTION);
      if (input && field.pattern !== '') notes.push(`Must match the RE2 pattern ${JSON.stringify(field.pattern)} when not empty.`);
      if (input && field.autogeneratePattern !== '') notes.push('Generated when omitted.');
      return withHelp(s, field, notes);
    }
    case 'editor':
      return withHelp({ type: 'string', ...(input && required ? { minLength: 1 } : {}) }, field, ['HTML text.']);
    case 'email':
      return withHelp({ type: 'string', format: 'email', ...(input && required ? { minLength: 1 } : {}) }, field, required ? [] : ['"" when empty.']);
    case 'url':
      return withHelp({ type: 'string', format: 'uri', ...(input && required ? { minLength: 1 } : {}) }, field, required ? [] : ['"" when empty.']);
    case 'number': {
      const type = field.onlyInt ? 'integer' : 'number';
      if (!input) return withHelp({ type: 'number' }, field);
      const range: Record<string, unknown> = { type };
      if (field.min !== null) range.minimum = field.min;
      if (field.max !== null) range.maximum = field.max;
      // 0 is "empty": refused when required, allowed whatever the bounds otherwise.
      if (required) return withHelp({ ...range, not: { const: 0 } }, field, ['Required: not 0.']);
      const zeroInRange = (field.min === null || field.min <= 0) && (field.max === null || field.max >= 0);
      return withHelp(zeroInRange ? range : { anyOf: [{ const: 0 }, range] }, field, zeroInRange ? [] : ['0 when empty.']);
    }
    case 'bool':
      return withHelp(input && required ? { type: 'boolean', const: true } : { type: 'boolean' }, field);
    case 'date':
      return withHelp({ type: 'string', ...(input && required ? { minLength: 1 } : {}) }, field, [
        `A date, "YYYY-MM-DD HH:MM:SS.sssZ" (UTC)${required ? '' : '; "" when empty'}.`,
      ]);
    case 'autodate':
      if (input) return undefined; // set by the server
      return withHelp({ type: 'string', readOnly: true }, field, [
        `Set by the server${field.onCreate ? ' on create' : ''}${field.onCreate && field.onUpdate ? ' and' : ''}${field.onUpdate ? ' on update' : ''}, "YYYY-MM-DD HH:MM:SS.sssZ".`,
      ]);
    case 'select': {
      const values = [...new Set(field.values)];
      if (isList(field)) {
        const s: Record<string, unknown> = { type: 'array', items: { type: 'string', enum: values }, maxItems: field.maxSelect };
        if (input && required) s.minItems = 1;
        if (!input) s.uniqueItems = true;
        return withHelp(s, field);
      }
      return withHelp({ type: 'string', enum: input && required ? values : [...values, ''] }, field, required ? [] : ['"" when empty.']);
    }
    case 'relation': {
      if (isList(field)) {
        const s: Record<string, unknown> = { type: 'array', items: { type: 'string' }, maxItems: field.maxSelect };
        const notes = ['Record ids.'];
        // minSelect applies to a non-empty list; an empty one is fine unless the field is required.
        if (input && required) s.minItems = Math.max(field.minSelect, 1);
        else if (input && field.minSelect > 0) notes.push(`When not empty: at least ${field.minSelect}.`);
        return withHelp(s, field, notes);
      }
      return withHelp({ type: 'string', ...(input && required ? { minLength: 1 } : {}) }, field, [`${ID_DESCRIPTION}${required ? '' : ' "" when empty.'}`]);
    }
    case 'file': {
      // The JSON form: stored file names (an update may keep or drop some); uploads go in multipart bodies.
      if (isList(field)) return withHelp({ type: 'array', items: { type: 'string' }, maxItems: field.maxSelect }, field, ['File names.']);
      return withHelp({ type: 'string' }, field, [`A file name${required ? '' : '; "" when empty'}.`]);
    }
    case 'json':
      return withHelp({}, field, ['Any JSON value (null when empty).']);
    case 'geoPoint':
      return withHelp(
        {
          type: 'object',
          properties: { lon: { type: 'number', minimum: -180, maximum: 180 }, lat: { type: 'number', minimum: -90, maximum: 90 } },
          required: ['lon', 'lat'],
        },
        field,
      );
    case 'password': {
      if (!input) return undefined; // never returned
      const max = field.max > 0 ? field.max : PASSWORD_MAX_LENGTH;
      return withHelp({ type: 'string', writeOnly: true, minLength: required ? Math.max(field.min, 1) : 0, maxLength: max }, field, [
        ...(!required && field.min > 0 ? [`When not empty: at least ${field.min} character(s).`] : []),
      ]);
    }
  }
}

/** The multipart form of a file field (uploads); other fields keep their JSON schema. */
export function fileUploadSchema(field: Field): JsonSchema {
  const file = { type: 'string', contentMediaType: 'application/octet-stream' };
  if (field.type === 'file' && field.maxSelect > 1) return withHelp({ type: 'array', items: file, maxItems: field.maxSelect }, field, ['Files to upload.']);
  return withHelp(file, field, ['A file to upload.']);
}

/** Whether a create body must carry the field (autogenerated ids, autodates and bool fields need not). */
export function isRequiredOnCreate(field: Field): boolean {
  if (field.required !== true) return false;
  if (field.type === 'autodate') return false;
  if (field.type === 'text' && (field.autogeneratePattern !== '' || field.primaryKey)) return false;
  // A required file can be uploaded through multipart only: the JSON body cannot carry it.
  if (field.type === 'file') return false;
  return true;
}
