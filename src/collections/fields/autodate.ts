/**
 * `autodate`: a datetime the server sets on create and/or update (`created`, `updated`), zero value `''`.
 * Clients cannot set it: the records layer must drop submitted autodate keys (PocketBase's no-op setter)
 * and use `resolveAutodate` when saving. prepareValue only normalises internally supplied dates.
 */
import { fieldError, type FieldErrors } from '../../errors/index.js';
import { formatDateTime, normalizeDateTime } from '../../util/datetime.js';
import type { AutodateField } from '../model.js';
import { baseDefinitionErrors, errorsOrNull, type FieldTypeImpl, definedBy, type OptionSpecs, stringValueMethods } from './common.js';

/** The value an autodate field gets when a record is saved: now when the field applies, else the old value. */
export function resolveAutodate(field: AutodateField, ctx: { isNew: boolean; previous: unknown; now: Date }): string {
  const previous = typeof ctx.previous === 'string' ? ctx.previous : '';
  if (ctx.isNew ? field.onCreate : field.onUpdate) return formatDateTime(ctx.now);
  return previous;
}

const OPTIONS: OptionSpecs = {
  onCreate: { kind: 'bool', default: false },
  onUpdate: { kind: 'bool', default: false },
};

/** The `autodate` field type. */
export const autodateFieldType: FieldTypeImpl<AutodateField> = {
  ...definedBy<AutodateField>('autodate', OPTIONS),
  ...stringValueMethods,
  validateDefinition(field, ctx) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    if (!field.onCreate && !field.onUpdate) {
      const err = fieldError('validation_required', 'Either onCreate or onUpdate must be enabled.');
      errors.onCreate = err;
      errors.onUpdate = err;
    }
    // A system autodate keeps its behaviour (PocketBase compares with the stored definition).
    const old = ctx.schema.find(ctx.collection.id)?.fields.find((f) => f.id === field.id);
    if (field.system && old?.type === 'autodate') {
      const mismatch = fieldError('validation_values_mismatch', "Values don't match.");
      if (old.onCreate !== field.onCreate) errors.onCreate = mismatch;
      if (old.onUpdate !== field.onUpdate) errors.onUpdate = mismatch;
    }
    return errorsOrNull(errors);
  },
  prepareValue(raw) {
    return normalizeDateTime(raw) ?? '';
  },
  validateValue() {
    return null;
  },
};
