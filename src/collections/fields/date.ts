/**
 * `date`: a UTC datetime stored as `YYYY-MM-DD HH:MM:SS.sssZ`, zero value `''`. Accepts that format,
 * RFC 3339 / ISO 8601 (with `T` or a space, any offset) and plain dates; anything else is rejected
 * (PocketBase silently blanks unparsable dates; Plinth reports them).
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import { normalizeDateTime } from '../../util/datetime.js';
import type { DateField } from '../model.js';
import {
  baseDefinitionErrors,
  errMax,
  errMin,
  errorsOrNull,
  errRequired,
  errUnsupportedType,
  type FieldTypeImpl,
  invalid,
  definedBy,
  type OptionSpecs,
  stringValueMethods,
} from './common.js';
import type { InvalidValue } from './field-type.js';

function invalidDate(): FieldError {
  return fieldError('validation_invalid_date', 'Must be a valid date.');
}

/** Coerces a client value to the canonical datetime string (`''` for empty). */
export function toDateString(raw: unknown): string | InvalidValue {
  const normalized = normalizeDateTime(raw);
  return normalized === null ? invalid(invalidDate()) : normalized;
}

const OPTIONS: OptionSpecs = {
  min: { kind: 'date', default: '' },
  max: { kind: 'date', default: '' },
  required: { kind: 'bool', default: false },
};

/** The `date` field type. */
export const dateFieldType: FieldTypeImpl<DateField> = {
  ...definedBy<DateField>('date', OPTIONS),
  ...stringValueMethods,
  validateDefinition(field) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    // Canonical strings compare chronologically.
    if (field.min !== '' && field.max !== '' && field.max < field.min) {
      errors.max = fieldError('validation_date_out_of_range', 'The date is out of range.');
    }
    return errorsOrNull(errors);
  },
  prepareValue(raw) {
    return toDateString(raw);
  },
  validateValue(value, field) {
    if (typeof value !== 'string') return errUnsupportedType('a datetime string');
    if (value === '') return field.required ? errRequired() : null;
    const normalized = normalizeDateTime(value);
    if (!normalized) return invalidDate();
    if (field.min !== '' && normalized < field.min) return errMin(field.min);
    if (field.max !== '' && normalized > field.max) return errMax(field.max);
    return null;
  },
};
