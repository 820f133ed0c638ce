/**
 * The storage seam: a flat key → bytes store that the local directory and S3 back ends both implement.
 * Keys are `/`-separated, relative, made only by the helpers below from checked names, so no back end
 * ever sees `..`, an absolute path or an empty segment.
 */
import type { Readable } from 'node:stream';
import { isSafeFileName } from './names.js';

/** What a back end knows about a stored object. */
export interface ObjectInfo {
  size: number;
  /** The type recorded at upload, when the back end keeps one (S3 does; the local directory does not). */
  contentType?: string;
  modified?: Date;
}

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** One storage back end. Every method rejects keys that {@link isSafeKey} refuses. */
export interface FileStorage {
  /** Human-readable name for logs (`local`, `s3`). */
  readonly kind: string;
  /** Writes (replaces) an object; readers never see it half-written. */
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  /** Object metadata, or null when there is no such (regular) object. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Streams the object or part of it; rejects if it is missing. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Reads a whole object into memory (thumbnails, sniffing); rejects if larger than `maxBytes`. */
  readAll(key: string, maxBytes: number): Promise<Buffer>;
  /** Deletes one object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object whose key starts with `prefix/`. */
  deletePrefix(prefix: string): Promise<void>;
  /** Removes the folder `prefix` if it is empty (object stores have no folders: a no-op there). */
  pruneEmpty(prefix: string): Promise<void>;
}

/** Whether every segment of a key is a safe file name (no `..`, no empty or hidden segments, no NUL). */
export function isSafeKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  return key.split('/').every((segment) => isSafeFileName(segment));
}

/** Throws for a key {@link isSafeKey} refuses: a programming error or tampered data, never user input. */
export function assertSafeKey(key: string): void {
  if (!isSafeKey(key)) throw new Error(`unsafe storage key: ${JSON.stringify(key.slice(0, 200))}`);
}

/** `<collectionId>/<recordId>`: the folder holding a record's files. */
export function recordPrefix(collectionId: string, recordId: string): string {
  return `${collectionId}/${recordId}`;
}

/** `<collectionId>/<recordId>/<file>`. */
export function fileKey(collectionId: string, recordId: string, name: string): string {
  return `${recordPrefix(collectionId, recordId)}/${name}`;
}

/** `<collectionId>/<recordId>/thumbs_<file>`: the folder of a file's thumbnails. */
export function thumbsPrefix(collectionId: string, recordId: string, name: string): string {
  return `${recordPrefix(collectionId, recordId)}/thumbs_${name}`;
}

/** `<collectionId>/<recordId>/thumbs_<file>/<WxH>_<file>`. */
export function thumbKey(collectionId: string, recordId: string, name: string, size: string): string {
  return `${thumbsPrefix(collectionId, recordId, name)}/${size}_${name}`;
}

/** Reads a stream to the end, failing once more than `maxBytes` arrived. */
export async function collect(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buf.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new Error(`object larger than ${maxBytes} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
