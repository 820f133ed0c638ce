/**
 * Helpers shared by the field types: PocketBase's (ozzo-validation's) error codes and messages, reading
 * typed options from a field definition, and the value coercions several types share.
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import { normalizeDateTime } from '../../util/datetime.js';
import { isMultiValued, type Field, type FieldTypeName, type FileField, type RelationField, type SelectField } from '../model.js';
import type { ColumnKind } from '../../db/dialect.js';
import { InvalidValue, type FieldType, type Modifier } from './field-type.js';

/** Largest integer a JSON client can represent exactly (PocketBase's `maxSafeJSONInt`). */
export const MAX_SAFE_JSON_INT = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------------------------------------------
// Errors, with the codes and messages PocketBase's validators produce.

/** `validation_required`: "Cannot be blank." */
export function errRequired(message = 'Cannot be blank.'): FieldError {
  return fieldError('validation_required', message);
}

/** A value of the wrong JSON type (an object for a text field, a string for a bool option …). */
export function errUnsupportedType(expected: string): FieldError {
  return fieldError('validation_unsupported_value_type', `Invalid value type, expected ${expected}.`, { expected });
}

/** ozzo `Min`: "Must be no less than {threshold}." */
export function errMin(threshold: number | string): FieldError {
  return fieldError('validation_min_greater_equal_than_required', `Must be no less than ${threshold}.`, { threshold });
}

/** ozzo `Max`: "Must be no greater than {threshold}." */
export function errMax(threshold: number | string): FieldError {
  return fieldError('validation_max_less_equal_than_required', `Must be no greater than ${threshold}.`, { threshold });
}

/** ozzo `Length(min, max)` outside its range. */
export function errLength(min: number, max: number): FieldError {
  if (min === max) return fieldError('validation_length_invalid', `The length must be exactly ${min}.`, { min, max });
  if (min === 0) return fieldError('validation_length_too_long', `The length must be no more than ${max}.`, { max });
  return fieldError('validation_length_out_of_range', `The length must be between ${min} and ${max}.`, { min, max });
}

/** More select/relation values than `maxSelect` (at least 1) allows: "Select no more than {maxSelect}." */
export function errTooManyValues(field: { maxSelect: number }): FieldError {
  const maxSelect = Math.max(field.maxSelect, 1);
  return fieldError('validation_too_many_values', `Select no more than ${maxSelect}.`, { maxSelect });
}

/** ozzo `Match`: "Must be in a valid format." */
export function errMatch(): FieldError {
  return fieldError('validation_match_invalid', 'Must be in a valid format.');
}

/** ozzo `NotIn`: "Must not be in list." */
export function errNotIn(): FieldError {
  return fieldError('validation_not_in_invalid', 'Must not be in list.');
}

/** ozzo `In`: "Must be a valid value." */
export function errIn(message = 'Must be a valid value.'): FieldError {
  return fieldError('validation_in_invalid', message);
}

/** ozzo `Empty`: "Must be blank." */
export function errEmpty(): FieldError {
  return fieldError('validation_empty', 'Must be blank.');
}

/** Invalid regular expression (PocketBase's `validators.IsRegex`). */
export function errRegex(reason: string): FieldError {
  return fieldError('validation_invalid_regex', `Invalid regular expression: ${reason}`);
}

/** A rejected value, returned (not thrown) from prepareValue / applyModifier. */
export function invalid(error: FieldError): InvalidValue {
  return new InvalidValue(error);
}

/** Whether an errors object has any entry. */
export function hasErrors(errors: FieldErrors): boolean {
  return Object.keys(errors).length > 0;
}

/** `errors` or null when empty (the FieldType contract's "no errors"). */
export function errorsOrNull(errors: FieldErrors): FieldErrors | null {
  return hasErrors(errors) ? errors : null;
}

// ---------------------------------------------------------------------------------------------------
// Field definitions: typed options with defaults.

export type OptionKind = 'bool' | 'string' | 'int' | 'number' | 'numberOrNull' | 'stringList' | 'stringListOrNull' | 'date';

/** One option of a field definition: its JSON type and PocketBase's zero value. */
export interface OptionSpec {
  readonly kind: OptionKind;
  readonly default: unknown;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A field type as implemented here: the contract plus the option table its definitions are read with. */
export interface FieldTypeImpl<F extends Field> extends FieldType<F> {
  readonly options: OptionSpecs;
}

/** Options every field has (PocketBase serialises `help` on every field since v0.30). */
export const BASE_OPTIONS: OptionSpecs = {
  id: { kind: 'string', default: '' },
  name: { kind: 'string', default: '' },
  system: { kind: 'bool', default: false },
  hidden: { kind: 'bool', default: false },
  presentable: { kind: 'bool', default: false },
  help: { kind: 'string', default: '' },
};

const KIND_NAMES: Record<OptionKind, string> = {
  bool: 'a boolean',
  string: 'a string',
  int: 'an integer',
  number: 'a number',
  numberOrNull: 'a number or null',
  stringList: 'a list of strings',
  stringListOrNull: 'a list of strings or null',
  date: 'a datetime string',
};

/** Reads one option; `undefined` means "wrong type". */
function readOption(kind: OptionKind, raw: unknown, fallback: unknown): unknown {
  // As with Go's JSON decoding, null leaves a non-nullable option at its zero value.
  if (raw === undefined || (raw === null && kind !== 'numberOrNull' && kind !== 'stringListOrNull')) return fallback;
  switch (kind) {
    case 'bool':
      return typeof raw === 'boolean' ? raw : undefined;
    case 'string':
      return typeof raw === 'string' ? raw : undefined;
    case 'int':
      return typeof raw === 'number' && Number.isSafeInteger(raw) ? raw : undefined;
    case 'number':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
    case 'numberOrNull':
      return raw === null || (typeof raw === 'number' && Number.isFinite(raw)) ? raw : undefined;
    case 'stringList':
    case 'stringListOrNull':
      if (raw === null) return null;
      return Array.isArray(raw) && raw.every((v) => typeof v === 'string') ? [...raw] : undefined;
    case 'date': {
      const normalized = normalizeDateTime(raw);
      return normalized === null || typeof raw !== 'string' ? undefined : normalized;
    }
  }
}

function cloneDefault(value: unknown): unknown {
  return Array.isArray(value) ? [...value] : value;
}

/**
 * Reads a definition with `specs` (plus the base options): known options of the right type are kept,
 * missing or mistyped ones take the default, unknown keys are dropped. `errors` lists the mistyped ones.
 */
export function readOptions(input: Record<string, unknown>, specs: OptionSpecs): { values: Record<string, unknown>; errors: FieldErrors } {
  const values: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const [key, spec] of Object.entries({ ...BASE_OPTIONS, ...specs })) {
    const raw = Object.hasOwn(input, key) ? input[key] : undefined;
    const value = readOption(spec.kind, raw, cloneDefault(spec.default));
    if (value === undefined) {
      errors[key] = errUnsupportedType(KIND_NAMES[spec.kind]);
      values[key] = cloneDefault(spec.default);
    } else {
      values[key] = value;
    }
  }
  return { values, errors };
}

/** Builds a field object of `type` from a definition, keys sorted like PocketBase's JSON. */
export function normalizeWith<F extends Field>(type: FieldTypeName, specs: OptionSpecs, input: Record<string, unknown>): F {
  const { values } = readOptions(input, specs);
  values.type = type;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(values).sort()) sorted[key] = values[key];
  return sorted as unknown as F;
}

/** What a field type derives from its name and option table: `type`, `options` and normalizeDefinition. */
export function definedBy<F extends Field>(type: F['type'], options: OptionSpecs) {
  return {
    type,
    options,
    normalizeDefinition: (input: Record<string, unknown>): F => normalizeWith<F>(type, options, input),
  };
}

// PocketBase's DefaultFieldNameValidationRule exclusions (filter literals and the record JSON's own keys).
const EXCLUDED_NAMES = ['null', 'true', 'false', 'collectionId', 'collectionName', 'expand'];
// `\w+` as PocketBase, but not starting with a digit: names become SQL identifiers (see db/sql.ts ident()).
const FIELD_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_HELP_LENGTH = 1000;

/** Checks of id, name and help every field type runs first (PocketBase's default field rules). */
export function baseDefinitionErrors(field: Field): FieldErrors {
  const errors: FieldErrors = {};
  if (field.id === '') errors.id = errRequired();
  else if (field.id.length > 100) errors.id = errLength(1, 100);

  const name = field.name;
  if (name === '') errors.name = errRequired();
  else if (name.length > 100) errors.name = errLength(1, 100);
  else if (!FIELD_NAME_RE.test(name)) errors.name = errMatch();
  else if (EXCLUDED_NAMES.includes(name) || name.toLowerCase() === '_rowid_') errors.name = errNotIn();
  else if (name.toLowerCase().includes('_via_')) errors.name = fieldError('validation_found_via', 'The value cannot contain "_via_".');

  if ((field.help ?? '').length > MAX_HELP_LENGTH) errors.help = errLength(0, MAX_HELP_LENGTH);
  return errors;
}

/** Checks a non-negative integer option against `[0, max]` (ozzo Min(0)/Max(max)). */
export function rangeError(value: number, min: number, max: number): FieldError | null {
  if (value < min) return errMin(min);
  if (value > max) return errMax(max);
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Values.

/** Whether a value is a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A scalar as text: strings as they are, finite numbers and booleans in their JSON spelling (form data is
 * type-inferred, so `"5"` arrives as 5 and must round-trip). Anything else is undefined: type confusion.
 */
export function scalarToString(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return Number.isFinite(raw) ? String(raw) : undefined;
  if (typeof raw === 'boolean') return raw ? 'true' : 'false';
  return undefined;
}

/** Coerces a client value for the string-valued types (text, email, url, editor, password). */
export function prepareString(raw: unknown): string | InvalidValue {
  if (raw === undefined || raw === null) return '';
  const s = scalarToString(raw);
  return s === undefined ? invalid(errUnsupportedType('a string')) : s;
}

/** Length in code points (PocketBase counts runes, not UTF-16 units). */
export function runeLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

/** Stored text column value → string (`''` for NULL). */
export function textFromDb(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint' || typeof raw === 'boolean') return String(raw);
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  return ''; // NULL (or something no driver returns)
}

/** Drops empty strings and duplicates, keeping first occurrences (PocketBase's `NonzeroUniques`). */
export function uniqueNonEmpty(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const v of values) {
    if (v === '' || seen.has(v)) continue;
    seen.add(v);
    out.push(v);
  }
  return out;
}

/**
 * A client value as a list of strings for select/relation/file: `''`/null → [], a string → [it] (or the
 * parsed list if it is a JSON array, as form data sends them), an array → its items. Each item goes
 * through `convert`; an item it refuses (objects, nested arrays …) makes the whole value type confusion.
 */
export function toStringList(raw: unknown, convert: (item: unknown) => string | undefined, expected: string): string[] | InvalidValue {
  if (raw === undefined || raw === null || raw === '') return [];
  let items: unknown[];
  if (typeof raw === 'string') {
    items = [raw];
    if (raw.trimStart().startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (Array.isArray(parsed)) items = parsed;
      } catch {
        // not JSON: a single value that happens to start with '['
      }
    }
  } else if (Array.isArray(raw)) {
    items = raw;
  } else {
    items = [raw];
  }
  const out: string[] = [];
  for (const item of items) {
    const s = convert(item);
    if (s === undefined) return invalid(errUnsupportedType(expected));
    out.push(s);
  }
  return uniqueNonEmpty(out);
}

/** Strings only (file names). */
export function stringOnly(item: unknown): string | undefined {
  return typeof item === 'string' ? item : undefined;
}

/** Stored list column value (JSON array text, or a plain value from before a single→multi change) → strings. */
export function listFromDb(raw: unknown): string[] {
  if (raw === null || raw === undefined || raw === '') return [];
  if (Array.isArray(raw)) return uniqueNonEmpty(raw.map(textFromDb));
  const text = textFromDb(raw);
  if (text.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return uniqueNonEmpty(parsed.filter((v) => typeof v === 'string' || typeof v === 'number').map(textFromDb));
    } catch {
      // fall through: a single plain value
    }
  }
  return [text];
}

/** Applies a list modifier: `field+` appends, `+field` prepends, `field-` removes the listed values. */
export function applyListModifier(current: readonly string[], modifier: Modifier, operand: readonly string[]): string[] {
  if (modifier === 'subtract') {
    const remove = new Set(operand);
    return current.filter((v) => !remove.has(v));
  }
  return uniqueNonEmpty(modifier === 'append' ? [...current, ...operand] : [...operand, ...current]);
}

/** A list as the field's value: the list itself when multi, else its last element (PocketBase keeps the last). */
export function listToValue(list: readonly string[], multi: boolean): string | string[] {
  if (multi) return [...list];
  return list.length > 0 ? (list[list.length - 1] as string) : '';
}

/** The current value of a select/relation/file field as a list (from a single string or a list). */
export function valueToList(value: unknown): string[] {
  if (Array.isArray(value)) return uniqueNonEmpty(value.filter((v): v is string => typeof v === 'string'));
  return typeof value === 'string' && value !== '' ? [value] : [];
}

/** Whether a prepared select/relation/file value has the right shape (a string or a list of strings). */
export function isStringOrStringList(value: unknown): value is string | string[] {
  return typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'));
}

/**
 * A `finish` for listValueMethods that only caps the count: a multi-valued field refuses more than
 * `maxSelect` items (with `tooMany`'s error), a single-valued one keeps the last item.
 */
export function cappedList<F extends RelationField | FileField>(tooMany: (field: F) => FieldError) {
  return (list: string[], field: F): string | string[] | InvalidValue => {
    const multi = isMultiValued(field);
    if (multi && list.length > field.maxSelect) return invalid(tooMany(field));
    return listToValue(list, multi);
  };
}

/**
 * The value plumbing select, relation and file fields share: a JSON array column when the field takes
 * several values, one string otherwise; submitted values (and `+`/`-` modifiers) become a string list via
 * `toItem`, then `finish` checks it (too many, unknown values) and shapes it as the field's value.
 * validateValue refuses a wrong shape and an empty required value, then runs `checkList` on the list.
 */
export function listValueMethods<F extends SelectField | RelationField | FileField>(
  toItem: (item: unknown) => string | undefined,
  expected: string,
  finish: (list: string[], field: F) => unknown,
  checkList: (list: string[], field: F) => FieldError | null,
) {
  return {
    columnKind: (field: F): ColumnKind => (isMultiValued(field) ? 'jsonArray' : 'text'),
    zeroValue: (field: F): unknown => (isMultiValued(field) ? [] : ''),
    prepareValue(raw: unknown, field: F): unknown {
      const list = toStringList(raw, toItem, expected);
      return Array.isArray(list) ? finish(list, field) : list;
    },
    applyModifier(current: unknown, modifier: Modifier, operand: unknown, field: F): unknown {
      const list = toStringList(operand, toItem, expected);
      if (!Array.isArray(list)) return list;
      return finish(applyListModifier(valueToList(current), modifier, list), field);
    },
    validateValue(value: unknown, field: F): FieldError | null {
      if (!isStringOrStringList(value)) return errUnsupportedType(expected);
      const list = valueToList(value);
      if (list.length === 0) return field.required ? errRequired() : null;
      return checkList(list, field);
    },
    toDb(value: unknown, field: F): string {
      const list = valueToList(value);
      return isMultiValued(field) ? JSON.stringify(list) : (listToValue(list, false) as string);
    },
    fromDb: (raw: unknown, field: F): unknown => listToValue(listFromDb(raw), isMultiValued(field)),
  };
}

/**
 * The value plumbing of fields stored as one text column (text, email, url, editor, date, autodate,
 * password): '' when empty, strings in and out. Types override what differs (e.g. date parsing).
 */
export const stringValueMethods = {
  columnKind: (): ColumnKind => 'text',
  zeroValue: (): unknown => '',
  prepareValue: (raw: unknown): unknown => prepareString(raw),
  toDb: (value: unknown): string => (typeof value === 'string' ? value : ''),
  fromDb: (raw: unknown): unknown => textFromDb(raw),
};
