/**
 * From multipart uploads to record values, PocketBase's way: every upload for a file field gets its
 * stored name up front, and the names stand in for the files in the body, so the field type's ordinary
 * value logic (modifiers, single-file "keep the last", maxSelect) decides which uploads survive.
 *
 * - files under `field` are merged AFTER the plain string values sent under the same key (existing names
 *   to keep); with no such values they replace the field's files;
 * - files under `field+` / `+field` append / prepend (plain values under those keys are ignored);
 * - files under `field-`, or for fields that are not file fields, are ignored.
 */
import { fileMaxSize } from '../collections/fields/index.js';
import { findField, type Collection, type FileField } from '../collections/model.js';
import { fieldError, type FieldError } from '../errors/index.js';
import { storedFileName } from './names.js';
import { detectFileType, mimeAllowed } from './sniff.js';

/** One uploaded file as the body parser hands it over. */
export interface Upload {
  field: string;
  filename: string;
  data: Buffer;
}

/** An upload with its stored name and sniffed type, waiting to be written if the record keeps it. */
export interface PlannedUpload {
  field: FileField;
  name: string;
  originalName: string;
  data: Buffer;
  /** The detected type (stored with the object on S3). */
  type: string;
  /** Other names the file's type satisfies in `mimeTypes` (e.g. `text/plain` for a CSV). */
  alsoTypes: readonly string[];
}

/** The body with upload names merged in, and the planned uploads by stored name. */
export interface UploadPlan {
  data: Record<string, unknown>;
  uploads: Map<string, PlannedUpload>;
}

function splitKey(key: string): { name: string; modifier: boolean } {
  if (key.endsWith('+') || key.endsWith('-')) return { name: key.slice(0, -1), modifier: true };
  if (key.startsWith('+')) return { name: key.slice(1), modifier: true };
  return { name: key, modifier: false };
}

/** Plain values already in the body under a key, as a list (validation of their types happens later). */
function asList(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && value.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // a single name that starts with '['
    }
  }
  return [value];
}

/** Detects every upload's type, names it and merges the names into a copy of the body (see the module comment). */
export async function planUploads(collection: Collection, data: Record<string, unknown>, uploads: readonly Upload[] = []): Promise<UploadPlan> {
  const plan: UploadPlan = { data: { ...data }, uploads: new Map() };
  const byKey = new Map<string, PlannedUpload[]>();
  for (const upload of uploads) {
    if (upload.field.endsWith('-')) continue;
    const { name } = splitKey(upload.field);
    const field = findField(collection, name);
    if (field?.type !== 'file') continue;
    const { type, also } = await detectFileType(upload.data, upload.filename);
    const planned: PlannedUpload = {
      field,
      name: storedFileName(upload.filename, type),
      originalName: upload.filename,
      data: upload.data,
      type,
      alsoTypes: also,
    };
    plan.uploads.set(planned.name, planned);
    const list = byKey.get(upload.field) ?? [];
    list.push(planned);
    byKey.set(upload.field, list);
  }
  for (const [key, list] of byKey) {
    const names = list.map((u) => u.name);
    const keep = splitKey(key).modifier ? [] : asList(data[key]);
    setOwn(plan.data, key, [...keep, ...names]);
  }
  return plan;
}

/**
 * Checks the uploads a record kept (its final value) against the field's `maxSize` and `mimeTypes`
 * (the detected type, never the client's claim). Returns the first problem per field.
 */
export function uploadErrors(kept: readonly PlannedUpload[]): Map<string, FieldError> {
  const errors = new Map<string, FieldError>();
  for (const upload of kept) {
    const field = upload.field;
    if (errors.has(field.name)) continue;
    const maxSize = fileMaxSize(field);
    if (upload.data.length > maxSize) {
      errors.set(
        field.name,
        fieldError(
          'validation_file_size_limit',
          `Failed to upload "${upload.originalName.slice(0, 100)}" - the maximum allowed file size is ${maxSize} bytes.`,
          {
            file: upload.originalName.slice(0, 100),
            maxSize,
          },
        ),
      );
      continue;
    }
    const allowed = field.mimeTypes ?? [];
    if (allowed.length > 0 && !mimeAllowed(upload.type, allowed, upload.alsoTypes)) {
      errors.set(
        field.name,
        fieldError('validation_invalid_mime_type', `"${upload.originalName.slice(0, 100)}" mime type must be one of: ${allowed.join(', ')}.`, {
          file: upload.originalName.slice(0, 100),
          types: allowed.join(', '),
        }),
      );
    }
  }
  return errors;
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
