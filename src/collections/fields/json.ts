/**
 * `json`: any JSON value, stored as JSON text (NULL when null), zero value null, size-limited (1 MiB
 * unless `maxSize` is set). Plain strings from form data are read as PocketBase does: `"true"`, `"null"`,
 * numbers, arrays and objects become JSON values, anything else stays a string.
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import type { JsonField } from '../model.js';
import {
  baseDefinitionErrors,
  errorsOrNull,
  errRequired,
  invalid,
  isPlainObject,
  MAX_SAFE_JSON_INT,
  definedBy,
  rangeError,
  type FieldTypeImpl,
  type OptionSpecs,
} from './common.js';
import type { InvalidValue } from './field-type.js';

/** Default max size in bytes when `maxSize` is 0. */
export const DEFAULT_JSON_MAX_SIZE = 1 << 20;
// Walk limits, so a hostile structure can't exhaust memory or time before the size check.
const MAX_NODES = 1_000_000;

function invalidJson(): FieldError {
  return fieldError('validation_invalid_json', 'Must be a valid json value.');
}

/** The effective byte limit of a json field. */
export function jsonMaxSize(field: JsonField): number {
  return field.maxSize > 0 ? field.maxSize : DEFAULT_JSON_MAX_SIZE;
}

/** Whether `value` is made only of JSON types (plain objects, arrays, strings, finite numbers, booleans, null). */
export function isJsonValue(value: unknown): boolean {
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  let nodes = 0;
  while (stack.length > 0) {
    if (++nodes > MAX_NODES) return false;
    const v = stack.pop();
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
      continue;
    }
    if (typeof v !== 'object') return false;
    if (seen.has(v)) return false; // cycles (and shared references) are not JSON documents
    seen.add(v);
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key of Object.keys(v)) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return true;
}

/** Coerces a client value to a JSON value (see the module comment for strings). */
export function toJsonValue(raw: unknown): unknown | InvalidValue {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') {
    if (raw === 'null') return null;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    const first = raw.charAt(0);
    if (/[0-9\-"[{]/.test(first)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw) as unknown;
      } catch {
        return raw; // not JSON: the text itself
      }
      // JSON.parse turns 1e400 into Infinity, which JSON can't hold.
      return isJsonValue(parsed) ? parsed : invalid(invalidJson());
    }
    return raw;
  }
  return isJsonValue(raw) ? raw : invalid(invalidJson());
}

/** The JSON text of a value, or null when it can't be serialised (too deep for the engine …). */
function stringify(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

function isEmptyJson(value: unknown): boolean {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isPlainObject(value) && Object.keys(value).length === 0;
}

const OPTIONS: OptionSpecs = {
  maxSize: { kind: 'int', default: 0 },
  required: { kind: 'bool', default: false },
};

/** The `json` field type. */
export const jsonFieldType: FieldTypeImpl<JsonField> = {
  ...definedBy<JsonField>('json', OPTIONS),
  validateDefinition(field) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    const sizeErr = rangeError(field.maxSize, 0, MAX_SAFE_JSON_INT);
    if (sizeErr) errors.maxSize = sizeErr;
    return errorsOrNull(errors);
  },
  columnKind() {
    return 'json';
  },
  zeroValue() {
    return null;
  },
  prepareValue(raw) {
    return toJsonValue(raw);
  },
  validateValue(value, field) {
    if (!isJsonValue(value)) return invalidJson();
    const text = stringify(value);
    if (text === null) return invalidJson();
    const maxSize = jsonMaxSize(field);
    if (Buffer.byteLength(text, 'utf8') > maxSize) {
      return fieldError('validation_json_size_limit', `The maximum allowed JSON size is ${maxSize} bytes.`, { maxSize });
    }
    if (field.required && isEmptyJson(value)) return errRequired();
    return null;
  },
  toDb(value) {
    if (value === null || value === undefined) return null;
    return stringify(value);
  },
  fromDb(raw) {
    if (raw === null || raw === undefined) return null;
    if (typeof raw === 'number' || typeof raw === 'boolean') return raw; // SQLite's NUMERIC affinity turns "5" into 5
    if (typeof raw === 'bigint') return Number(raw);
    if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) return null;
    const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  },
};
