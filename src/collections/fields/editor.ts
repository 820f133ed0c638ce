/** `editor`: rich text (HTML) as a string, zero value `''`, size-limited (5 MiB unless `maxSize` is set). */
import { fieldError, type FieldErrors } from '../../errors/index.js';
import type { EditorField } from '../model.js';
import {
  baseDefinitionErrors,
  errorsOrNull,
  errRequired,
  errUnsupportedType,
  type FieldTypeImpl,
  MAX_SAFE_JSON_INT,
  definedBy,
  type OptionSpecs,
  rangeError,
  stringValueMethods,
} from './common.js';

/** Default max size in bytes when `maxSize` is 0. */
export const DEFAULT_EDITOR_MAX_SIZE = 5 << 20;

/** The effective byte limit of an editor field. */
export function editorMaxSize(field: EditorField): number {
  return field.maxSize > 0 ? field.maxSize : DEFAULT_EDITOR_MAX_SIZE;
}

const OPTIONS: OptionSpecs = {
  maxSize: { kind: 'int', default: 0 },
  convertURLs: { kind: 'bool', default: false },
  required: { kind: 'bool', default: false },
};

/** The `editor` field type. */
export const editorFieldType: FieldTypeImpl<EditorField> = {
  ...definedBy<EditorField>('editor', OPTIONS),
  ...stringValueMethods,
  validateDefinition(field) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    const sizeErr = rangeError(field.maxSize, 0, MAX_SAFE_JSON_INT);
    if (sizeErr) errors.maxSize = sizeErr;
    return errorsOrNull(errors);
  },
  validateValue(value, field) {
    if (typeof value !== 'string') return errUnsupportedType('a string');
    if (value === '' && field.required) return errRequired();
    const maxSize = editorMaxSize(field);
    if (Buffer.byteLength(value, 'utf8') > maxSize) {
      return fieldError('validation_content_size_limit', `The maximum allowed content size is ${maxSize} bytes.`, { maxSize });
    }
    return null;
  },
};
