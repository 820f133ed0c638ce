/**
 * `file`: stored file names, one (`maxSelect` ≤ 1, TEXT column, zero `''`) or a list (JSON array column,
 * zero `[]`). Uploads, storage and mime/size checks of new files happen in the files/records layers; this
 * type handles the names. Supports `+field` / `field+` / `field-` (remove the listed names).
 */
import { fieldError, type FieldError, type FieldErrors } from '../../errors/index.js';
import type { FileField } from '../model.js';
import {
  baseDefinitionErrors,
  cappedList,
  errMatch,
  errNotIn,
  errorsOrNull,
  listValueMethods,
  MAX_SAFE_JSON_INT,
  definedBy,
  rangeError,
  stringOnly,
  valueToList,
  type FieldTypeImpl,
  type OptionSpecs,
} from './common.js';

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
  return invalidFilesError(valueToList(value).filter((name) => !known.has(name)));
}

/** `validation_invalid_file` naming the refused files (each cut to 250 characters), or null when none. */
function invalidFilesError(names: readonly string[]): FieldError | null {
  if (names.length === 0) return null;
  const invalidFiles = names.map((name) => name.slice(0, 250));
  return fieldError('validation_invalid_file', `Invalid new files: ${invalidFiles.join(', ')}.`, { invalidFiles });
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
  ...definedBy<FileField>('file', OPTIONS),
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
  ...listValueMethods(stringOnly, EXPECTED, cappedList(tooMany), (list, field) => {
    if (list.length > fileMaxSelect(field)) return tooMany(field);
    return invalidFilesError(list.filter((name) => name.length > MAX_FILENAME_LENGTH || !FILENAME_RE.test(name)));
  }),
};
