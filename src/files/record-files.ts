/**
 * A record write's file changes, kept consistent with the database:
 * 1. new files are written BEFORE the transaction (no storage I/O while holding the write lock);
 * 2. if the write fails, or an enclosing transaction (a batch) rolls back later, they are deleted again;
 * 3. files the record no longer references are deleted only after the outermost commit.
 */
import { invalidNewFiles } from '../collections/fields/index.js';
import type { Collection, FileField } from '../collections/model.js';
import type { Executor } from '../db/dialect.js';
import type { FieldErrors } from '../errors/index.js';
import type { RecordData } from '../hooks/index.js';
import { fileKey, recordPrefix, thumbsPrefix, type FileStorage } from './storage.js';
import { uploadErrors, type PlannedUpload, type UploadPlan } from './uploads.js';

/** Where background deletions go (the FileService). */
export interface FileJanitor {
  /** Deletes keys and prefixes in the background, logging failures. */
  deleteLater(storage: FileStorage, keys: readonly string[], prefixes: readonly string[]): void;
  /** Runs a task in the background, logging failures. */
  background(task: () => Promise<void>): void;
}

/** The file fields of a collection. */
export function fileFields(collection: Collection): FileField[] {
  return collection.fields.filter((f): f is FileField => f.type === 'file');
}

function names(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return typeof value === 'string' && value !== '' ? [value] : [];
}

/** The planned uploads the record's final values still reference. */
export function keptUploads(collection: Collection, record: RecordData, plan: UploadPlan): PlannedUpload[] {
  const kept: PlannedUpload[] = [];
  for (const field of fileFields(collection)) {
    for (const name of names(record[field.name])) {
      const upload = plan.uploads.get(name);
      if (upload && upload.field.name === field.name) kept.push(upload);
    }
  }
  return kept;
}

/**
 * Adds file-field errors: names that are neither stored already nor just uploaded (clients may keep or
 * drop files, never point at others), then size and sniffed-type limits of the kept uploads.
 */
export function checkFileFields(collection: Collection, record: RecordData, previous: RecordData | undefined, plan: UploadPlan, errors: FieldErrors): void {
  const uploaded = [...plan.uploads.keys()];
  for (const field of fileFields(collection)) {
    if (errors[field.name]) continue;
    const err = invalidNewFiles(record[field.name], previous?.[field.name], uploaded);
    if (err) errors[field.name] = err;
  }
  for (const [field, err] of uploadErrors(keptUploads(collection, record, plan))) errors[field] ??= err;
}

/** The files of one record write: what was written, and what to delete once it commits. */
export class FileChanges {
  constructor(
    private readonly storage: FileStorage,
    private readonly janitor: FileJanitor,
    private readonly collection: Collection,
    private readonly recordId: string,
    private readonly written: readonly string[],
    private readonly previous: RecordData | undefined,
  ) {}

  /** Writes the uploads the record kept; on a partial failure removes what was written and rethrows. */
  static async stage(
    storage: FileStorage,
    janitor: FileJanitor,
    collection: Collection,
    record: RecordData,
    previous: RecordData | undefined,
    plan: UploadPlan,
  ): Promise<FileChanges> {
    const id = String(record.id);
    const written: string[] = [];
    try {
      for (const upload of keptUploads(collection, record, plan)) {
        const key = fileKey(collection.id, id, upload.name);
        await storage.put(key, upload.data, upload.type);
        written.push(key);
      }
    } catch (err) {
      await Promise.allSettled(written.map((k) => storage.delete(k)));
      if (!previous) await storage.pruneEmpty(recordPrefix(collection.id, id));
      throw err;
    }
    return new FileChanges(storage, janitor, collection, id, written, previous);
  }

  /**
   * Call inside the write's transaction once the final record is known. After the outermost commit the
   * files the record dropped are deleted; if the transaction (or the batch it is part of) rolls back,
   * the files this write added are deleted instead.
   */
  bind(tx: Executor, record: RecordData, nested: boolean): void {
    const { keys, prefixes } = this.removedFiles(record);
    tx.afterCommit(() => {
      if (keys.length) this.janitor.deleteLater(this.storage, keys, prefixes);
    });
    if (nested && this.written.length) {
      tx.afterRollback(() => this.janitor.background(() => this.discard()));
    }
  }

  /** Deletes the files this write added (it failed), and a new record's then empty folder. */
  async discard(): Promise<void> {
    await Promise.allSettled(this.written.map((k) => this.storage.delete(k)));
    // Only for a create: an existing record's folder may be written to concurrently.
    if (!this.previous && this.written.length) await this.storage.pruneEmpty(recordPrefix(this.collection.id, this.recordId));
  }

  /** Keys (and thumbnail folders) of files the previous version had and `record` no longer has. */
  private removedFiles(record: RecordData): { keys: string[]; prefixes: string[] } {
    const keys: string[] = [];
    const prefixes: string[] = [];
    if (!this.previous) return { keys, prefixes };
    for (const field of fileFields(this.collection)) {
      const now = new Set(names(record[field.name]));
      for (const name of names(this.previous[field.name])) {
        if (now.has(name)) continue;
        keys.push(fileKey(this.collection.id, this.recordId, name));
        prefixes.push(thumbsPrefix(this.collection.id, this.recordId, name));
      }
    }
    return { keys, prefixes };
  }
}
