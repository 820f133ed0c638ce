/**
 * `relation`: one record id (`maxSelect` ≤ 1, TEXT column, zero `''`) or a list (JSON array column, zero
 * `[]`) of ids in `collectionId`. Supports `+field` / `field+` / `field-`. That the records exist is checked
 * by the records layer (`validation_missing_rel_records`).
 */
import { fieldError, type FieldErrors } from '../../errors/index.js';
import type { RelationField } from '../model.js';
import {
  baseDefinitionErrors,
  cappedList,
  errMin,
  errorsOrNull,
  errRequired,
  errTooManyValues,
  listValueMethods,
  definedBy,
  type FieldTypeImpl,
  type OptionSpecs,
} from './common.js';

const EXPECTED = 'a record id or a list of record ids';

// Ids are strings; an all-digit id arrives as a number from type-inferred form data, so integers are kept.
function idToString(item: unknown): string | undefined {
  if (typeof item === 'string') return item;
  if (typeof item === 'number' && Number.isSafeInteger(item) && item >= 0) return String(item);
  return undefined;
}

const OPTIONS: OptionSpecs = {
  collectionId: { kind: 'string', default: '' },
  cascadeDelete: { kind: 'bool', default: false },
  minSelect: { kind: 'int', default: 0 },
  maxSelect: { kind: 'int', default: 0 },
  required: { kind: 'bool', default: false },
};

/** The `relation` field type. */
export const relationFieldType: FieldTypeImpl<RelationField> = {
  ...definedBy<RelationField>('relation', OPTIONS),
  validateDefinition(field, ctx) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    if (field.collectionId === '') {
      errors.collectionId = errRequired();
    } else {
      const oldField = ctx.schema.find(ctx.collection.id)?.fields.find((f) => f.id === field.id);
      const target = field.collectionId === ctx.collection.id ? ctx.collection : ctx.schema.find(field.collectionId);
      if (oldField?.type === 'relation' && oldField.collectionId !== field.collectionId) {
        errors.collectionId = fieldError('validation_field_relation_change', 'The relation collection cannot be changed.');
      } else if (!target || target.id !== field.collectionId) {
        errors.collectionId = fieldError('validation_field_relation_missing_collection', "The relation collection doesn't exist.");
      } else if (ctx.collection.type !== 'view' && target.type === 'view') {
        errors.collectionId = fieldError(
          'validation_relation_field_non_view_base_collection',
          'Only view collections are allowed to have relations to other views.',
        );
      }
    }
    if (field.minSelect < 0) errors.minSelect = errMin(0);
    if (field.minSelect > 0 && field.maxSelect === 0) errors.maxSelect = errRequired();
    else if (field.maxSelect !== 0 && field.maxSelect < Math.max(field.minSelect, 0)) errors.maxSelect = errMin(field.minSelect);
    return errorsOrNull(errors);
  },
  ...listValueMethods(idToString, EXPECTED, cappedList<RelationField>(errTooManyValues), (list, field) => {
    if (field.minSelect > 0 && list.length < field.minSelect) {
      return fieldError('validation_not_enough_values', `Select at least ${field.minSelect}.`, { minSelect: field.minSelect });
    }
    return list.length > Math.max(field.maxSelect, 1) ? errTooManyValues(field) : null;
  }),
};
