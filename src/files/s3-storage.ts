/**
 * S3-compatible back end: each storage key is an object key in the configured bucket. The sniffed content
 * type is stored as the object's `Content-Type`, so serving needs no extra read to learn it.
 */
import type { Readable } from 'node:stream';
import { S3Client, type S3Config } from './s3/client.js';
import { assertSafeKey, collect, type ByteRange, type FileStorage, type ObjectInfo } from './storage.js';

const DELETE_CONCURRENCY = 4;

/** Files in one S3 bucket. */
export class S3Storage implements FileStorage {
  readonly kind = 's3';
  readonly client: S3Client;

  constructor(config: S3Config) {
    this.client = new S3Client(config);
  }

  async put(key: string, data: Buffer, contentType: string): Promise<void> {
    assertSafeKey(key);
    await this.client.put(key, data, contentType);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertSafeKey(key);
    return this.client.head(key);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    assertSafeKey(key);
    return this.client.get(key, range);
  }

  async readAll(key: string, maxBytes: number): Promise<Buffer> {
    return collect(await this.read(key), maxBytes);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    await this.client.delete(key);
  }

  async pruneEmpty(): Promise<void> {
    // Object stores have no folders.
  }

  async deletePrefix(prefix: string): Promise<void> {
    assertSafeKey(prefix);
    const keys = await this.client.list(`${prefix}/`);
    // One DELETE per object (GCS has no multi-delete), a few at a time.
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((k) => this.client.delete(k)));
    }
  }
}
