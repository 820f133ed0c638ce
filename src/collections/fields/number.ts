/**
 * `number`: a finite float (`NUMERIC` column), zero value 0, optional min/max and integer-only.
 * Supports the `field+` (add) and `field-` (subtract) modifiers.
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import type { NumberField } from '../model.js';
import { baseDefinitionErrors, errMin, errorsOrNull, errRequired, invalid, definedBy, type FieldTypeImpl, type OptionSpecs } from './common.js';
import type { InvalidValue } from './field-type.js';

// A plain decimal literal: what JSON and HTML forms send. No hex, no "Infinity", no surrounding spaces.
const NUMERIC_LITERAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_LITERAL_LENGTH = 400;

function notANumber(): FieldError {
  return fieldError('validation_not_a_number', 'The submitted number is not properly formatted.');
}

/** Go's `%f`, which PocketBase uses in its min/max messages. */
function goFloat(n: number): string {
  return n.toFixed(6);
}

/** Coerces a client value to a finite number: numbers, strictly numeric strings; `''`/null → 0. */
export function toNumber(raw: unknown): number | InvalidValue {
  if (raw === undefined || raw === null || raw === '') return 0;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : invalid(notANumber());
  if (typeof raw === 'string' && raw.length <= MAX_LITERAL_LENGTH && NUMERIC_LITERAL.test(raw)) {
    const n = Number(raw);
    return Number.isFinite(n) ? n : invalid(notANumber());
  }
  return invalid(notANumber());
}

function isInt(n: number): boolean {
  return Number.isInteger(n);
}

const OPTIONS: OptionSpecs = {
  min: { kind: 'numberOrNull', default: null },
  max: { kind: 'numberOrNull', default: null },
  onlyInt: { kind: 'bool', default: false },
  required: { kind: 'bool', default: false },
};

/** The `number` field type. */
export const numberFieldType: FieldTypeImpl<NumberField> = {
  ...definedBy<NumberField>('number', OPTIONS),
  validateDefinition(field) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    const onlyIntError = fieldError('validation_only_int_constraint', 'Decimal numbers are not allowed.');
    if (field.onlyInt && field.min !== null && !isInt(field.min)) errors.min = onlyIntError;
    if (field.onlyInt && field.max !== null && !isInt(field.max)) errors.max = onlyIntError;
    else if (field.min !== null && field.max !== null && field.max < field.min) errors.max = errMin(field.min);
    return errorsOrNull(errors);
  },
  columnKind() {
    return 'number';
  },
  zeroValue() {
    return 0;
  },
  prepareValue(raw) {
    return toNumber(raw);
  },
  applyModifier(current, modifier, operand) {
    const delta = toNumber(operand);
    if (typeof delta !== 'number') return delta;
    const base = typeof current === 'number' && Number.isFinite(current) ? current : 0;
    if (modifier === 'prepend')
      return invalid(fieldError('validation_unsupported_modifier', 'Numbers only support the "+" (add) and "-" (subtract) modifiers.'));
    const result = modifier === 'append' ? base + delta : base - delta;
    return Number.isFinite(result) ? result : invalid(notANumber());
  },
  validateValue(value, field) {
    if (typeof value !== 'number') return notANumber();
    if (!Number.isFinite(value)) return notANumber();
    if (value === 0) return field.required ? errRequired() : null;
    if (field.onlyInt && !isInt(value)) return fieldError('validation_only_int_constraint', 'Decimal numbers are not allowed.');
    if (field.min !== null && value < field.min) {
      return fieldError('validation_min_number_constraint', `Must be larger than ${goFloat(field.min)}.`, { min: field.min });
    }
    if (field.max !== null && value > field.max) {
      return fieldError('validation_max_number_constraint', `Must be less than ${goFloat(field.max)}.`, { max: field.max });
    }
    return null;
  },
  toDb(value) {
    return typeof value === 'number' && Number.isFinite(value) ? value : 0;
  },
  fromDb(raw) {
    if (typeof raw === 'number') return Number.isFinite(raw) ? raw : 0;
    if (typeof raw === 'bigint') return Number(raw);
    if (typeof raw === 'string') {
      const n = toNumber(raw);
      return typeof n === 'number' ? n : 0;
    }
    return 0;
  },
};
