/**
 * The field type registry: one implementation per PocketBase field type, looked up by name.
 *
 * @example
 *   const type = getFieldType(field.type);
 *   const value = type.prepareValue(body[field.name], field);
 *   if (value instanceof InvalidValue) errors[field.name] = value.error;
 *   else errors[field.name] = type.validateValue(value, field, { isNew: true, previous: undefined, now: new Date() });
 */
import type { FieldErrors } from '../../errors/index.js';
import { FIELD_TYPES, type Field, type FieldTypeName } from '../model.js';
import { autodateFieldType } from './autodate.js';
import { boolFieldType } from './bool.js';
import { errorsOrNull, readOptions, type FieldTypeImpl } from './common.js';
import { dateFieldType } from './date.js';
import { editorFieldType } from './editor.js';
import { emailFieldType } from './email.js';
import type { FieldType } from './field-type.js';
import { fileFieldType } from './file.js';
import { geoPointFieldType } from './geo-point.js';
import { jsonFieldType } from './json.js';
import { numberFieldType } from './number.js';
import { passwordFieldType } from './password.js';
import { relationFieldType } from './relation.js';
import { selectFieldType } from './select.js';
import { textFieldType } from './text.js';
import { urlFieldType } from './url.js';

export { InvalidValue, type FieldDefinitionContext, type FieldType, type FieldValueContext, type Modifier } from './field-type.js';
export { autogenerateText, DEFAULT_ID_PATTERN, DEFAULT_TEXT_MAX, generateTextValue, validateTextPlain } from './text.js';
export { resolveAutodate } from './autodate.js';
export { DEFAULT_FILE_MAX_SIZE, fileMaxSelect, fileMaxSize, invalidNewFiles } from './file.js';
export { DEFAULT_JSON_MAX_SIZE, jsonMaxSize } from './json.js';
export { DEFAULT_EDITOR_MAX_SIZE, editorMaxSize } from './editor.js';
export { PASSWORD_MAX_LENGTH } from './password.js';
export { isEmail } from './email.js';
export type { GeoPoint } from './geo-point.js';
export { compilePattern, patternError, testPattern } from './pattern-match.js';
export { generateFromPattern } from './pattern-generate.js';
export { PatternSyntaxError } from './pattern-parse.js';

type Registry = { readonly [K in FieldTypeName]: FieldTypeImpl<Extract<Field, { type: K }>> };

/** Every field type, by name. */
export const FIELD_TYPE_REGISTRY: Registry = Object.freeze({
  text: textFieldType,
  number: numberFieldType,
  bool: boolFieldType,
  email: emailFieldType,
  url: urlFieldType,
  editor: editorFieldType,
  date: dateFieldType,
  autodate: autodateFieldType,
  select: selectFieldType,
  json: jsonFieldType,
  relation: relationFieldType,
  file: fileFieldType,
  geoPoint: geoPointFieldType,
  password: passwordFieldType,
});

/** Whether a value names a known field type. */
export function isFieldTypeName(value: unknown): value is FieldTypeName {
  return typeof value === 'string' && (FIELD_TYPES as readonly string[]).includes(value);
}

/** The implementation of a field type. Pass the field itself to the methods (`type.toDb(v, field)`). */
export function getFieldType<T extends FieldTypeName>(type: T): FieldType<Extract<Field, { type: T }>>;
export function getFieldType(type: FieldTypeName): FieldType<Field>;
export function getFieldType(type: FieldTypeName): FieldType<Field> {
  const impl = FIELD_TYPE_REGISTRY[type] as FieldType<Field> | undefined;
  if (!impl) throw new Error(`unknown field type: ${String(type)}`);
  return impl;
}

/** The implementation for a field (shorthand for `getFieldType(field.type)` typed for that field). */
export function fieldTypeOf<F extends Field>(field: F): FieldType<F> {
  return getFieldType(field.type) as unknown as FieldType<F>;
}

/**
 * Type errors in a raw field definition (an option of the wrong JSON type), keyed by option name; null
 * when the definition's options all have acceptable types. The `type` itself must already be known.
 */
export function fieldDefinitionTypeErrors(type: FieldTypeName, input: Record<string, unknown>): FieldErrors | null {
  return errorsOrNull(readOptions(input, FIELD_TYPE_REGISTRY[type].options).errors);
}
