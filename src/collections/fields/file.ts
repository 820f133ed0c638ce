/**
 * `file`: stored file names, one (`maxSelect` ≤ 1, TEXT column, zero `''`) or a list (JSON array column,
 * zero `[]`). Uploads, storage and mime/size checks of new files happen in the files/records layers; this
 * type handles the names. Supports `+field` / `field+` / `field-` (remove the listed names).
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import { isMultiValued, type FileField } from '../model.js';
import {
  listValueMethods,
  baseDefinitionErrors,
  errMatch,
  errNotIn,
  errorsOrNull,
  errRequired,
  errUnsupportedType,
  invalid,
  isStringOrStringList,
  listFromDb,
  listToValue,
  MAX_SAFE_JSON_INT,
  normalizeWith,
  rangeError,
  stringOnly,
  valueToList,
  type FieldTypeImpl,
  type OptionSpecs,
} from './common.js';
import type { InvalidValue } from './field-type.js';

/** Default max size of one file in bytes when `maxSize` is 0. */
export const DEFAULT_FILE_MAX_SIZE = 5 << 20;

const EXPECTED = 'a file name or a list of file names';
// PocketBase's loose file name check: no leading dot, no path separators.
const FILENAME_RE = /^[^./\\][^/\\]+$/;
const MAX_FILENAME_LENGTH = 255;
const THUMB_RE = /^(\d+)x(\d+)(t|b|f)?$/;

/** The effective per-file byte limit. */
export function fileMaxSize(field: FileField): number {
  return field.maxSize > 0 ? field.maxSize : DEFAULT_FILE_MAX_SIZE;
}

/** The effective number of files allowed. */
export function fileMaxSelect(field: FileField): number {
  return Math.max(field.maxSelect, 1);
}

function tooMany(field: FileField): FieldError {
  const maxSelect = fileMaxSelect(field);
  return fieldError('validation_too_many_files', `The maximum allowed files is ${maxSelect}.`, { maxSelect });
}

/**
 * For the records layer: plain names in `value` that are neither already stored (`previous`) nor just
 * uploaded. Clients may keep or remove existing names but never point a record at other files.
 */
export function invalidNewFiles(value: unknown, previous: unknown, uploaded: readonly string[] = []): FieldError | null {
  const known = new Set([...valueToList(previous), ...uploaded]);
  const invalidFiles = valueToList(value)
    .filter((name) => !known.has(name))
    .map((name) => name.slice(0, 250));
  if (invalidFiles.length === 0) return null;
  return fieldError('validation_invalid_file', `Invalid new files: ${invalidFiles.join(', ')}.`, { invalidFiles });
}

function finish(list: string[], field: FileField): string | string[] | InvalidValue {
  const multi = isMultiValued(field);
  if (multi && list.length > field.maxSelect) return invalid(tooMany(field));
  return listToValue(list, multi);
}

const OPTIONS: OptionSpecs = {
  maxSize: { kind: 'int', default: 0 },
  maxSelect: { kind: 'int', default: 0 },
  mimeTypes: { kind: 'stringListOrNull', default: null },
  thumbs: { kind: 'stringListOrNull', default: null },
  protected: { kind: 'bool', default: false },
  required: { kind: 'bool', default: false },
};

/** The `file` field type. */
export const fileFieldType: FieldTypeImpl<FileField> = {
  type: 'file',
  options: OPTIONS,
  normalizeDefinition(input) {
    return normalizeWith<FileField>('file', OPTIONS, input);
  },
  validateDefinition(field) {
    const errors: FieldErrors = baseDefinitionErrors(field);
    const selectErr = rangeError(field.maxSelect, 0, MAX_SAFE_JSON_INT);
    if (selectErr) errors.maxSelect = selectErr;
    const sizeErr = rangeError(field.maxSize, 0, MAX_SAFE_JSON_INT);
    if (sizeErr) errors.maxSize = sizeErr;
    const thumbErrors: FieldErrors = {};
    (field.thumbs ?? []).forEach((thumb, i) => {
      if (['0x0', '0x0t', '0x0b', '0x0f'].includes(thumb)) thumbErrors[String(i)] = errNotIn();
      else if (!THUMB_RE.test(thumb)) thumbErrors[String(i)] = errMatch();
    });
    if (Object.keys(thumbErrors).length) errors.thumbs = thumbErrors;
    return errorsOrNull(errors);
  },
  ...listValueMethods(stringOnly, EXPECTED, finish),
  validateValue(value, field) {
    if (!isStringOrStringList(value)) return errUnsupportedType(EXPECTED);
    const list = valueToList(value);
    if (list.length === 0) return field.required ? errRequired() : null;
    if (list.length > fileMaxSelect(field)) return tooMany(field);
    const bad = list.filter((name) => name.length > MAX_FILENAME_LENGTH || !FILENAME_RE.test(name));
    if (bad.length) {
      const invalidFiles = bad.map((name) => name.slice(0, 250));
      return fieldError('validation_invalid_file', `Invalid new files: ${invalidFiles.join(', ')}.`, { invalidFiles });
    }
    return null;
  },
  toDb(value, field) {
    const list = valueToList(value);
    return isMultiValued(field) ? JSON.stringify(list) : (listToValue(list, false) as string);
  },
  fromDb(raw, field) {
    return listToValue(listFromDb(raw), isMultiValued(field));
  },
};
