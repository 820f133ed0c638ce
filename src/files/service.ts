/**
 * The files capability: picks the storage back end from settings at runtime (local directory, or S3 when
 * `settings.s3.enabled`), stages record uploads, makes thumbnails, and runs deletions in the background
 * (tracked, so tests and shutdown can wait for them with `settled()`).
 */
import { join } from 'node:path';
import type { Collection } from '../collections/model.js';
import type { HookBus, RecordData } from '../hooks/index.js';
import type { S3Settings, Settings } from '../settings/settings.js';
import type { Logger } from '../util/logger.js';
import { LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';
import { LocalStorage } from './local-storage.js';
import { FileChanges, fileFields, type FileJanitor } from './record-files.js';
import { S3Storage } from './s3-storage.js';
import { fileKey, recordPrefix, thumbKey, type FileStorage, type ObjectInfo } from './storage.js';
import { makeThumb, ThumbError, type ThumbSpec } from './thumbs.js';
import type { UploadPlan } from './uploads.js';

/** Largest original we load to make a thumbnail from. */
const MAX_THUMB_SOURCE_BYTES = 64 * 1024 * 1024;
/** Thumbnails made at the same time (each holds a decoded image in memory). */
const THUMB_CONCURRENCY = 2;
/** Remembered failed thumbnails, so a bad image is not decoded again on every request. */
const MAX_FAILED_THUMBS = 1000;

/** Storage for records' files. */
export class FileService implements FileJanitor {
  /** The data dir's `storage/` (settings.s3 off). */
  readonly local: LocalStorage;
  private s3: { signature: string; storage: S3Storage } | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly thumbsInFlight = new Map<string, Promise<ObjectInfo | null>>();
  private readonly failedThumbs = new Set<string>();
  private thumbSlots = THUMB_CONCURRENCY;
  private holds = 0;
  private readonly heldDeletions: Array<() => void> = [];
  private readonly thumbQueue: Array<() => void> = [];

  constructor(
    dataDir: string,
    private readonly settings: () => Settings,
    private readonly logger: Logger,
  ) {
    this.local = new LocalStorage(join(dataDir, 'storage'));
  }

  /** The back end selected by the current settings (S3 clients are rebuilt when `settings.s3` changes). */
  storage(): FileStorage {
    const s3 = this.settings().s3;
    if (!s3.enabled) return this.local;
    const signature = JSON.stringify(s3);
    if (this.s3?.signature !== signature) this.s3 = { signature, storage: s3Storage(s3) };
    return this.s3.storage;
  }

  /** Deletes a collection's files when the collection is deleted. */
  bindHooks(hooks: HookBus): void {
    hooks.onCollectionChange.bind(
      async (event, next) => {
        // Another node's change (source `cluster`): that node deletes the files.
        if (event.action === 'delete' && (event as { source?: string }).source !== 'cluster') this.deleteLater(this.storage(), [], [event.collection.id]);
        await next();
      },
      { id: 'files:collection-delete' },
    );
  }

  /** Writes a record's kept uploads (see FileChanges for the rest of the protocol). */
  stage(collection: Collection, record: RecordData, previous: RecordData | undefined, plan: UploadPlan): Promise<FileChanges> {
    return FileChanges.stage(this.storage(), this, collection, record, previous, plan);
  }

  /** After a record delete committed: removes its folder (files and thumbnails). */
  deleteRecordFiles(collection: Collection, recordId: string): void {
    if (fileFields(collection).length === 0) return;
    this.deleteLater(this.storage(), [], [recordPrefix(collection.id, recordId)]);
  }

  deleteLater(storage: FileStorage, keys: readonly string[], prefixes: readonly string[]): void {
    if (this.holds > 0) {
      this.heldDeletions.push(() => this.deleteLater(storage, keys, prefixes));
      return;
    }
    this.track(
      (async () => {
        const results = await Promise.allSettled([...keys.map((k) => storage.delete(k)), ...prefixes.map((p) => storage.deletePrefix(p))]);
        for (const r of results) if (r.status === 'rejected') this.logger.warn({ err: r.reason }, 'failed to delete a stored file');
      })(),
    );
  }

  /**
   * Holds file deletions (queued, not run) until the returned release is called (idempotent): a backup
   * copies the files after its database snapshot, so no file the snapshot refers to may vanish meanwhile.
   */
  holdDeletions(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0) for (const run of this.heldDeletions.splice(0)) run();
    };
  }

  background(task: () => Promise<void>): void {
    this.track(task());
  }

  /** Resolves once every background deletion started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err) => this.logger.warn({ err }, 'background file task failed')).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /**
   * A thumbnail of a stored image (key and metadata), made once even under concurrent requests if
   * missing; null when it cannot be made (corrupt or oversized image): the caller serves the original.
   */
  async thumbnail(
    storage: FileStorage,
    collectionId: string,
    recordId: string,
    name: string,
    spec: ThumbSpec,
    type: string,
  ): Promise<{ key: string; info: ObjectInfo } | null> {
    const key = thumbKey(collectionId, recordId, name, spec.size);
    if (this.failedThumbs.has(`${storage.kind}:${key}`)) return null;
    const existing = await storage.stat(key);
    if (existing) return { key, info: existing };
    let job = this.thumbsInFlight.get(key);
    if (!job) {
      job = this.withThumbSlot(() => this.makeThumbnail(storage, fileKey(collectionId, recordId, name), key, spec, type)).finally(() =>
        this.thumbsInFlight.delete(key),
      );
      this.thumbsInFlight.set(key, job);
    }
    const made = await job;
    return made ? { key, info: made } : null;
  }

  private async makeThumbnail(storage: FileStorage, source: string, key: string, spec: ThumbSpec, type: string): Promise<ObjectInfo | null> {
    try {
      const input = await storage.readAll(source, MAX_THUMB_SOURCE_BYTES);
      const thumb = await makeThumb(input, type, spec);
      await storage.put(key, thumb, type);
      return { size: thumb.length, contentType: type };
    } catch (err) {
      this.logger.debug({ err, key }, 'thumbnail not generated; serving the original');
      // Only the image's own fault is remembered; a storage hiccup is retried on the next request.
      if (err instanceof ThumbError) {
        if (this.failedThumbs.size >= MAX_FAILED_THUMBS) this.failedThumbs.clear();
        this.failedThumbs.add(`${storage.kind}:${key}`);
      }
      return null;
    }
  }

  private async withThumbSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.thumbSlots === 0) await new Promise<void>((resolve) => this.thumbQueue.push(resolve));
    else this.thumbSlots--;
    try {
      return await fn();
    } finally {
      const next = this.thumbQueue.shift();
      if (next) next();
      else this.thumbSlots++;
    }
  }

  /**
   * `POST /api/settings/test/s3`: writes and deletes a small object with the given settings. Resolves on
   * success; rejects with an Error whose message says what went wrong.
   */
  async testS3(config: S3Settings): Promise<void> {
    if (!config.enabled) throw new Error('S3 storage filesystem is not enabled.');
    if (!config.bucket) throw new Error('The S3 bucket is not set.');
    const storage = s3Storage(config, 10_000);
    const key = `plinth_settings_test_${randomString(10, LOWER_ALPHANUMERIC_ALPHABET)}.txt`;
    await storage.put(key, Buffer.from('test'), 'text/plain; charset=utf-8');
    await storage.delete(key);
  }
}

function s3Storage(s3: S3Settings, timeoutMs?: number): S3Storage {
  return new S3Storage({
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secret: s3.secret,
    forcePathStyle: s3.forcePathStyle,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}
