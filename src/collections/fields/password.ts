/**
 * `password`: the value clients submit is the plain password (validated here); what is stored is its
 * hash, which the records layer computes before `toDb` and strips from every response. `fromDb` returns
 * the hash. Zero value `''`.
 */
import { fieldError, type FieldErrors } from '../../errors/index.js';
import type { PasswordField } from '../model.js';
import {
  baseDefinitionErrors,
  errMax,
  errMin,
  errorsOrNull,
  errRegex,
  errRequired,
  errUnsupportedType,
  type FieldTypeImpl,
  definedBy,
  type OptionSpecs,
  runeLength,
  stringValueMethods,
} from './common.js';
import { patternError, testPattern } from './pattern-match.js';

/** Longest accepted password (bcrypt's 72-byte input limit, as PocketBase), also the default `max`. */
export const PASSWORD_MAX_LENGTH = 71;
const MIN_COST = 4;
const MAX_COST = 31;

const OPTIONS: OptionSpecs = {
  min: { kind: 'int', default: 0 },
  max: { kind: 'int', default: 0 },
  pattern: { kind: 'string', default: '' },
  cost: { kind: 'int', default: 0 },
  required: { kind: 'bool', default: false },
};

/** The `password` field type. */
export const passwordFieldType: FieldTypeImpl<PasswordField> = {
  ...definedBy<PasswordField>('password', OPTIONS),
  ...stringValueMethods,
  validateDefinition(field) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    // 0 means "not set" for min, max and cost (ozzo skips zero values).
    if (field.min < 0) errors.min = errMin(1);
    else if (field.min > PASSWORD_MAX_LENGTH) errors.min = errMax(PASSWORD_MAX_LENGTH);
    if (field.max !== 0 && field.max < Math.max(field.min, 0)) errors.max = errMin(field.min);
    else if (field.max > PASSWORD_MAX_LENGTH) errors.max = errMax(PASSWORD_MAX_LENGTH);
    if (field.cost !== 0 && field.cost < MIN_COST) errors.cost = errMin(MIN_COST);
    else if (field.cost > MAX_COST) errors.cost = errMax(MAX_COST);
    if (field.pattern !== '') {
      const problem = patternError(field.pattern);
      if (problem) errors.pattern = errRegex(problem);
    }
    return errorsOrNull(errors);
  },
  validateValue(value, field, ctx) {
    if (typeof value !== 'string') return errUnsupportedType('a string');
    // An unchanged value is the stored hash, not a new password: only "is one set" applies.
    if (!ctx.isNew && value === ctx.previous) return field.required && value === '' ? errRequired() : null;
    if (value === '') return field.required ? errRequired() : null;
    const length = runeLength(value);
    if (length < field.min) return fieldError('validation_min_text_constraint', `Must be at least ${field.min} character(s).`, { min: field.min });
    const max = field.max > 0 ? field.max : PASSWORD_MAX_LENGTH;
    if (length > max) return fieldError('validation_max_text_constraint', `Must be less than ${max} character(s).`, { max });
    if (field.pattern !== '' && !testPattern(field.pattern, value)) return fieldError('validation_invalid_format', 'Invalid value format.');
    return null;
  },
};
