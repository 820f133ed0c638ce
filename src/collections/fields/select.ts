/**
 * `select`: one value (`maxSelect` ≤ 1, TEXT column, zero `''`) or a list (JSON array column, zero `[]`)
 * from the field's `values`. Supports `+field` / `field+` / `field-`.
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import { isMultiValued, type SelectField } from '../model.js';
import {
  listValueMethods,
  baseDefinitionErrors,
  errMax,
  errMin,
  errorsOrNull,
  errTooManyValues,
  errRequired,
  invalid,
  listToValue,
  definedBy,
  scalarToString,
  valueToList,
  type FieldTypeImpl,
  type OptionSpecs,
} from './common.js';
import type { InvalidValue } from './field-type.js';

const EXPECTED = 'a string or a list of strings';

function listErrors(list: readonly string[], field: SelectField): FieldError | null {
  if (list.length > Math.max(field.maxSelect, 1)) return errTooManyValues(field);
  for (const v of list) {
    if (!field.values.includes(v)) return fieldError('validation_invalid_value', `Invalid value ${v}.`, { value: v });
  }
  return null;
}

/** A list as the field's value, refusing too many or unknown values. */
function finish(list: string[], field: SelectField): string | string[] | InvalidValue {
  const multi = isMultiValued(field);
  const value = listToValue(list, multi);
  const err = listErrors(multi ? list : valueToList(value), field);
  return err ? invalid(err) : value;
}

const OPTIONS: OptionSpecs = {
  values: { kind: 'stringList', default: [] },
  maxSelect: { kind: 'int', default: 0 },
  required: { kind: 'bool', default: false },
};

/** The `select` field type. */
export const selectFieldType: FieldTypeImpl<SelectField> = {
  ...definedBy<SelectField>('select', OPTIONS),
  validateDefinition(field) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    if (field.values.length === 0) errors.values = errRequired();
    const max = Math.max(field.values.length, 1);
    if (field.maxSelect < 0) errors.maxSelect = errMin(0);
    else if (field.maxSelect > max) errors.maxSelect = errMax(max);
    return errorsOrNull(errors);
  },
  ...listValueMethods(scalarToString, EXPECTED, finish, listErrors),
};
