/** `bool`: true/false (0/1 column), zero value false; `required` means "must be true", as in PocketBase. */
import type { BoolField } from '../model.js';
import { baseDefinitionErrors, errorsOrNull, errRequired, errUnsupportedType, invalid, definedBy, type FieldTypeImpl, type OptionSpecs } from './common.js';
import type { InvalidValue } from './field-type.js';

// Go's strconv.ParseBool spellings, plus "on"/"off" (what an HTML checkbox submits).
const TRUE_STRINGS = new Set(['true', 'TRUE', 'True', 't', 'T', '1', 'on']);
const FALSE_STRINGS = new Set(['false', 'FALSE', 'False', 'f', 'F', '0', 'off']);

/** Coerces a client value to a boolean; anything that is not clearly true/false is rejected. */
export function toBool(raw: unknown): boolean | InvalidValue {
  if (raw === undefined || raw === null || raw === '') return false;
  if (typeof raw === 'boolean') return raw;
  if (raw === 1 || raw === 0) return raw === 1;
  if (typeof raw === 'string') {
    if (TRUE_STRINGS.has(raw)) return true;
    if (FALSE_STRINGS.has(raw)) return false;
  }
  return invalid(errUnsupportedType('a boolean'));
}

const OPTIONS: OptionSpecs = { required: { kind: 'bool', default: false } };

/** The `bool` field type. */
export const boolFieldType: FieldTypeImpl<BoolField> = {
  ...definedBy<BoolField>('bool', OPTIONS),
  validateDefinition(field) {
    return errorsOrNull(baseDefinitionErrors(field));
  },
  columnKind() {
    return 'bool';
  },
  zeroValue() {
    return false;
  },
  prepareValue(raw) {
    return toBool(raw);
  },
  validateValue(value, field) {
    if (typeof value !== 'boolean') return errUnsupportedType('a boolean');
    return field.required && !value ? errRequired() : null;
  },
  toDb(value) {
    return value === true;
  },
  fromDb(raw) {
    return raw === true || raw === 1 || raw === 1n || raw === '1' || raw === 'true';
  },
};
