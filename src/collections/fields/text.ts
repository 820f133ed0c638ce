/**
 * `text`: a string with optional rune-length bounds, a pattern, an autogenerate pattern, and (for `id`)
 * the primary-key role. Zero value `''`.
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import type { TextField } from '../model.js';
import type { InvalidValue } from './field-type.js';
import {
  baseDefinitionErrors,
  errEmpty,
  errIn,
  errorsOrNull,
  errRegex,
  errRequired,
  errUnsupportedType,
  type FieldTypeImpl,
  MAX_SAFE_JSON_INT,
  definedBy,
  type OptionSpecs,
  prepareString,
  rangeError,
  runeLength,
  stringValueMethods,
} from './common.js';
import { generateFromPattern } from './pattern-generate.js';
import { patternError, testPattern } from './pattern-match.js';
import { PatternSyntaxError } from './pattern-parse.js';

export { generateFromPattern } from './pattern-generate.js';

/** Max runes when `max` is 0 (PocketBase's default). */
export const DEFAULT_TEXT_MAX = 5000;
/** The record id pattern PocketBase uses by default. */
export const DEFAULT_ID_PATTERN = '^[a-z0-9]+$';

// Characters never allowed in a primary key, whatever the pattern: ids end up in file paths and URLs.
const FORBIDDEN_PK_CHARS = ['/', '\\', '.', '|', '"', "'", '`', '<', '>', ':', '?', '*', '%', '$'];
const WINDOWS_DEVICE_NAMES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/** Validates a plain string against the field's options (required, min, max, pattern), as PocketBase's ValidatePlainValue. */
export function validateTextPlain(value: string, field: TextField): FieldError | null {
  if ((field.required || field.primaryKey) && value === '') return errRequired();
  if (value === '') return null;
  const length = runeLength(value);
  if (field.min > 0 && length < field.min) {
    return fieldError('validation_min_text_constraint', `Must be at least ${field.min} character(s).`, { min: field.min });
  }
  const max = field.max > 0 ? field.max : DEFAULT_TEXT_MAX;
  if (length > max) return fieldError('validation_max_text_constraint', `Must be no more than ${max} character(s).`, { max });
  if (field.pattern !== '' && !testPattern(field.pattern, value)) return fieldError('validation_invalid_format', 'Invalid value format.');
  return null;
}

/** Why a value can't be a primary key regardless of the pattern, or null. */
function primaryKeyCharsError(value: string): FieldError | null {
  for (const c of FORBIDDEN_PK_CHARS) {
    if (value.includes(c)) {
      return fieldError('validation_pk_forbidden', 'The record primary key contains forbidden characters.', { forbidden: c });
    }
  }
  // Control characters and Windows device names are unsafe as directory names.
  if (/[\u0000-\u001f\u007f]/.test(value) || WINDOWS_DEVICE_NAMES.test(value)) {
    return fieldError('validation_pk_forbidden', 'The record primary key contains forbidden characters.');
  }
  return null;
}

/** A random value for the field's `autogeneratePattern` (null when it has none or it cannot generate). */
export function generateTextValue(field: TextField): string | null {
  if (field.autogeneratePattern === '') return null;
  try {
    return generateFromPattern(field.autogeneratePattern);
  } catch (err) {
    if (err instanceof PatternSyntaxError) return null;
    throw err;
  }
}

/** The `field:autogenerate` modifier: the submitted text as a prefix, followed by a generated value. */
export function autogenerateText(field: TextField, prefix: unknown): string | InvalidValue {
  const base = prepareString(prefix);
  if (typeof base !== 'string') return base;
  return base + (generateTextValue(field) ?? '');
}

function autogenerateErrors(field: TextField): FieldError | null {
  if (field.autogeneratePattern === '') return null;
  const problem = patternError(field.autogeneratePattern);
  if (problem) return errRegex(problem);
  // Like PocketBase, try a few values to catch patterns that conflict with min/max/pattern.
  for (let i = 0; i < 10; i++) {
    let generated: string;
    try {
      generated = generateFromPattern(field.autogeneratePattern);
    } catch (err) {
      if (err instanceof PatternSyntaxError) return fieldError('validation_invalid_autogenerate_pattern', err.message);
      throw err;
    }
    if (validateTextPlain(generated, field)) {
      return fieldError(
        'validation_invalid_autogenerate_pattern_value',
        `The provided autogenerate pattern could produce invalid field values, ex.: ${JSON.stringify(generated.slice(0, 100))}`,
      );
    }
  }
  return null;
}

const OPTIONS: OptionSpecs = {
  min: { kind: 'int', default: 0 },
  max: { kind: 'int', default: 0 },
  pattern: { kind: 'string', default: '' },
  autogeneratePattern: { kind: 'string', default: '' },
  primaryKey: { kind: 'bool', default: false },
  required: { kind: 'bool', default: false },
};

/** The `text` field type. */
export const textFieldType: FieldTypeImpl<TextField> = {
  ...definedBy<TextField>('text', OPTIONS),
  ...stringValueMethods,
  validateDefinition(field, ctx) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    if (field.primaryKey && field.name !== 'id' && !errors.name) errors.name = errIn('The primary key must be named "id".');
    if (field.primaryKey && ctx.collection.fields.filter((f) => f.type === 'text' && f.primaryKey).length > 1) {
      errors.primaryKey = fieldError('validation_unsupported_composite_pk', 'Composite PKs are not supported and the collection must have only 1 PK.');
    }
    const minErr = rangeError(field.min, 0, MAX_SAFE_JSON_INT);
    if (minErr) errors.min = minErr;
    // max 0 means "the default"; otherwise it must not be below min.
    const maxErr = field.max === 0 ? null : rangeError(field.max, field.min, MAX_SAFE_JSON_INT);
    if (maxErr) errors.max = maxErr;
    if (field.primaryKey && field.pattern === '') errors.pattern = errRequired();
    else if (field.pattern !== '') {
      const problem = patternError(field.pattern);
      if (problem) errors.pattern = errRegex(problem);
    }
    if (field.primaryKey && field.hidden) errors.hidden = errEmpty();
    if (field.primaryKey && !field.required) errors.required = errRequired();
    if (!errors.pattern && !errors.min && !errors.max) {
      const autogen = autogenerateErrors(field);
      if (autogen) errors.autogeneratePattern = autogen;
    }
    return errorsOrNull(errors);
  },
  columnKind(field) {
    return field.primaryKey ? 'primaryKey' : 'text';
  },
  validateValue(value, field, ctx) {
    if (typeof value !== 'string') return errUnsupportedType('a string');
    if (field.primaryKey) {
      if (!ctx.isNew) {
        const previous = typeof ctx.previous === 'string' ? ctx.previous : '';
        if (value !== previous) return fieldError('validation_pk_change', 'The record primary key cannot be changed.');
        // Existing ids may predate the current pattern (imported data): don't re-validate them.
        if (previous !== '') return null;
      } else {
        const forbidden = primaryKeyCharsError(value);
        if (forbidden) return forbidden;
      }
    }
    return validateTextPlain(value, field);
  },
};
