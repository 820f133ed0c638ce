/**
 * Where backups live: `<dataDir>/backups/` by default, or an S3 bucket when `settings.backups.s3.enabled`
 * (same client as file storage). Keys are plain file names, checked by {@link isValidBackupKey} before
 * any path or object key is built from them.
 */
import { createReadStream } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { S3Client } from '../files/s3/client.js';
import type { S3Settings } from '../settings/settings.js';
import { formatDateTime } from '../util/datetime.js';

/** One backup in a listing (PocketBase's BackupFileInfo). */
export interface BackupInfo {
  key: string;
  size: number;
  /** PocketBase's datetime format, `2024-01-01 12:00:00.000Z`. */
  modified: string;
}

/**
 * A backup key: a plain file name ending in `.zip` (letters, digits, `_ - . @`), no leading dot, no `..`,
 * at most 150 characters. Uploaded files keep their own name, so this is wider than the create-name rule.
 */
export function isValidBackupKey(key: string): boolean {
  return key.length <= 150 && /^[A-Za-z0-9_@-][A-Za-z0-9_@.-]*\.zip$/.test(key) && !key.includes('..');
}

export interface BackupStore {
  readonly kind: 'local' | 's3';
  list(): Promise<BackupInfo[]>;
  exists(key: string): Promise<boolean>;
  size(key: string): Promise<number | null>;
  read(key: string): Promise<Readable>;
  /** Stores a finished zip file from `path` (moved when local, uploaded when S3). */
  putFile(key: string, path: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** A local path for the backup (downloaded into `tmpDir` for S3); `cleanup` removes a downloaded copy. */
  localCopy(key: string, tmpDir: string): Promise<{ path: string; cleanup: () => Promise<void> }>;
}

function assertKey(key: string): void {
  if (!isValidBackupKey(key)) throw new Error(`invalid backup key "${key.slice(0, 200)}"`);
}

/** Backups in a local folder. Temporary files start with a dot and are never listed. */
export class LocalBackupStore implements BackupStore {
  readonly kind = 'local';
  constructor(readonly dir: string) {}

  async list(): Promise<BackupInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: BackupInfo[] = [];
    for (const name of names) {
      if (!isValidBackupKey(name)) continue;
      const st = await lstat(join(this.dir, name)).catch(() => null);
      if (st?.isFile()) out.push({ key: name, size: st.size, modified: formatDateTime(st.mtime) });
    }
    return out;
  }

  async size(key: string): Promise<number | null> {
    assertKey(key);
    const st = await lstat(join(this.dir, key)).catch(() => null);
    return st?.isFile() ? st.size : null;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  async read(key: string): Promise<Readable> {
    assertKey(key);
    return createReadStream(join(this.dir, key));
  }

  async putFile(key: string, path: string): Promise<void> {
    assertKey(key);
    await mkdir(this.dir, { recursive: true });
    try {
      await rename(path, join(this.dir, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // Another file system: copy to a temporary name, then rename into place.
      const tmp = join(this.dir, `.tmp_${key}`);
      await copyFile(path, tmp);
      await rename(tmp, join(this.dir, key));
      await rm(path, { force: true });
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await rm(join(this.dir, key));
  }

  async localCopy(key: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
    assertKey(key);
    return { path: join(this.dir, key), cleanup: async () => undefined };
  }
}

/** Backups as objects in an S3 bucket (no prefix: keys are the bucket's top-level names, as PocketBase). */
export class S3BackupStore implements BackupStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  constructor(config: S3Settings) {
    this.client = new S3Client(config);
  }

  async list(): Promise<BackupInfo[]> {
    const keys = (await this.client.list('')).filter(isValidBackupKey);
    const out: BackupInfo[] = [];
    for (const key of keys) {
      const head = await this.client.head(key);
      if (head) out.push({ key, size: head.size, modified: formatDateTime(head.modified ?? new Date(0)) });
    }
    return out;
  }

  async size(key: string): Promise<number | null> {
    assertKey(key);
    return (await this.client.head(key))?.size ?? null;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  async read(key: string): Promise<Readable> {
    assertKey(key);
    return this.client.get(key);
  }

  async putFile(key: string, path: string): Promise<void> {
    assertKey(key);
    // The client uploads whole buffers (no multipart upload yet): fine for backups of a few hundred MB.
    await this.client.put(key, await readFile(path), 'application/zip');
    await rm(path, { force: true });
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    if (!(await this.exists(key))) throw new Error('no such backup');
    await this.client.delete(key);
  }

  async localCopy(key: string, tmpDir: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
    assertKey(key);
    await mkdir(tmpDir, { recursive: true });
    const path = join(tmpDir, `download_${Date.now()}_${key}`);
    const { pipeline } = await import('node:stream/promises');
    const { createWriteStream } = await import('node:fs');
    await pipeline(await this.client.get(key), createWriteStream(path));
    return { path, cleanup: () => rm(path, { force: true }) };
  }
}
