/**
 * Backups (PocketBase-compatible): create, list, upload, download, delete and restore zips of the data,
 * scheduled backups from `settings.backups.cron` (at most `cronMaxKeep` automatic ones kept), stored in
 * `<dataDir>/backups/` or S3 (`settings.backups.s3`).
 *
 * SQLite: the zip holds consistent copies of data.db and auxiliary.db (online backup from a fixed WAL
 * snapshot: writes continue) plus every other file of the data dir (storage/ included) except backups/,
 * temp files and -wal/-shm. File deletions are held while the zip is made, so every file a record in the
 * snapshot refers to is still there to copy.
 * PostgreSQL: the zip holds a `pg_dump` of the database plus the same files; it restores into an empty
 * database from the CLI (`plinth backup restore KEY --db=URL`); the API refuses a restore (other nodes
 * keep running against the database).
 *
 * Restore (SQLite) validates the archive completely before anything is replaced, then asks the process
 * owner (the `serve` command, see {@link BackupService.restarter}) to close the app, swap the data dir and
 * open it again in-process. Docs: docs/backups.md.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { App } from '../app.js';
import { AppError } from '../errors/index.js';
import type { S3Settings } from '../settings/settings.js';
import { LOWER_ALPHANUMERIC_ALPHABET, randomString } from '../util/random.js';
import {
  cleanRestoreLeftovers,
  copySqlite,
  PG_DUMP_NAME,
  plainFiles,
  SQLITE_FILES,
  swapDataDir,
  TEMP_DIR_NAME,
  BACKUPS_DIR_NAME,
  validateSqliteBackup,
} from './data-dir.js';
import { pgDump, ToolMissingError } from './postgres.js';
import { dumpJson, PG_TABLES_DIR } from './postgres-json.js';
import { isValidBackupKey, LocalBackupStore, S3BackupStore, type BackupInfo, type BackupStore } from './store.js';
import { BadArchiveError, extractZip, writeZipFile, type ZipSource } from './zip.js';
import { existsSync } from 'node:fs';

export { isValidBackupKey, type BackupInfo } from './store.js';
export { BadArchiveError } from './zip.js';

/** PocketBase's rule for a name given to `POST /api/backups`. */
export const BACKUP_NAME_PATTERN = /^[a-z0-9_-]+\.zip$/;
export const AUTO_BACKUP_PREFIX = '@auto_pb_backup_';
export const AUTO_BACKUP_JOB = '__pbAutoBackup__';

const BUSY_MESSAGE = 'Try again later - another backup/restore process has already been started.';

/** Progress of a running backup: a phase and a fraction from 0 to 1. */
export type ProgressFn = (phase: 'database' | 'files' | 'upload' | 'restore', fraction: number) => void;

/**
 * Applies a staged restore: call only with the app closed. Resolves once the data dir holds the backup;
 * `revert` puts the previous data back (if the re-open fails), `discard` deletes it (after success).
 */
export type ApplyRestore = () => Promise<{ revert: () => Promise<void>; discard: () => Promise<void> }>;

/** The process owner's restart: close the server and app, `apply()`, open again. */
export type Restarter = (apply: ApplyRestore) => Promise<void>;

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function snake(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export class BackupService {
  /** The running backup or restore (PocketBase allows one at a time). */
  private active: { kind: 'backup' | 'restore'; key: string } | null = null;
  private s3: { signature: string; store: S3BackupStore } | null = null;
  /**
   * Set by whoever owns the process (the `serve` command) to restart in-process after a restore. Without
   * one (an embedded App), `POST /api/backups/{key}/restore` answers 400 and the CLI restore is the way.
   */
  restarter: Restarter | undefined;
  /** The stream a zip is written to (tests inject failing streams here: a full disk). */
  openOutput: (path: string) => Writable = (path) => createWriteStream(path, { flags: 'wx' });

  constructor(private readonly app: App) {}

  get tempDir(): string {
    return join(this.app.config.dataDir, TEMP_DIR_NAME);
  }

  /** Cleans up after earlier restores and schedules the automatic backups from settings. */
  init(): void {
    cleanRestoreLeftovers(this.tempDir);
    this.schedule();
    this.app.hooks.onSettingsChange.bind(
      async (_e, next) => {
        this.schedule();
        await next();
      },
      { id: 'backups:schedule' },
    );
  }

  private schedule(): void {
    const { cron } = this.app.settings.get().backups;
    if (!cron.trim()) {
      this.app.cron.remove(AUTO_BACKUP_JOB);
      return;
    }
    try {
      this.app.cron.add(AUTO_BACKUP_JOB, cron, () => this.runAutoBackup());
    } catch (err) {
      this.app.logger.warn({ err }, 'invalid backups.cron: automatic backups are off');
    }
  }

  /** The scheduled job: one automatic backup, then the oldest automatic ones beyond cronMaxKeep removed. */
  async runAutoBackup(): Promise<void> {
    const key = `${AUTO_BACKUP_PREFIX}${this.baseName()}`;
    try {
      await this.create(key);
    } catch (err) {
      this.app.logger.error({ err }, 'automatic backup failed');
      return;
    }
    const keep = Math.max(1, this.app.settings.get().backups.cronMaxKeep);
    const autos = (await this.store().list())
      .filter((b) => b.key.startsWith(AUTO_BACKUP_PREFIX))
      .sort((a, b) => (a.modified < b.modified ? 1 : a.modified > b.modified ? -1 : 0));
    for (const old of autos.slice(keep)) {
      await this.store()
        .delete(old.key)
        .catch((err: unknown) => this.app.logger.warn({ err, key: old.key }, 'failed to delete an old automatic backup'));
    }
  }

  private baseName(): string {
    const app = snake(this.app.settings.get().meta.appName) || 'plinth';
    return `${app.slice(0, 100)}_${timestamp()}.zip`;
  }

  /** Whether a backup could start now (`canBackup` in /api/health). */
  canBackup(): boolean {
    return this.active === null;
  }

  /** The key of the backup or restore running now, if any. */
  activeKey(): string | null {
    return this.active?.key ?? null;
  }

  /** Local folder or S3 bucket, from the current settings. */
  store(): BackupStore {
    const s3: S3Settings = this.app.settings.get().backups.s3;
    if (!s3.enabled) return new LocalBackupStore(join(this.app.config.dataDir, BACKUPS_DIR_NAME));
    const signature = JSON.stringify(s3);
    if (this.s3?.signature !== signature) this.s3 = { signature, store: new S3BackupStore(s3) };
    return this.s3.store;
  }

  async list(): Promise<BackupInfo[]> {
    try {
      const all = await this.store().list();
      return all.sort((a, b) => (a.modified < b.modified ? 1 : a.modified > b.modified ? -1 : a.key.localeCompare(b.key)));
    } catch (err) {
      throw AppError.badRequest(`Failed to retrieve backup items. Raw error: \n${(err as Error).message}`);
    }
  }

  /** Validates a name for `POST /api/backups` (PocketBase's rules); 400 with field errors. */
  async checkNewName(name: unknown): Promise<string | undefined> {
    if (name === undefined || name === null || name === '') return undefined;
    const fail = (code: string, message: string) =>
      AppError.validation('An error occurred while validating the submitted data.', { name: { code: code as `validation_${string}`, message } });
    if (typeof name !== 'string') throw fail('validation_invalid_value', 'Must be a string.');
    if (name.length > 150) throw fail('validation_length_out_of_range', 'The length must be between 1 and 150.');
    if (!BACKUP_NAME_PATTERN.test(name))
      throw fail('validation_match_invalid', 'Must be in a valid format (lowercase letters, digits, _ and -, ending in .zip).');
    if (await this.store().exists(name)) throw fail('validation_backup_name_exists', 'The backup file name is invalid or already exists.');
    return name;
  }

  /**
   * Makes a backup named `name` (default `pb_backup_<app>_<timestamp>.zip`) and resolves to its key.
   * 400 while another backup or restore runs, or when the zip cannot be written (a full disk...): a
   * failed backup leaves no file under its final name.
   */
  async create(name?: string, onProgress?: ProgressFn): Promise<string> {
    if (this.active) throw AppError.badRequest(BUSY_MESSAGE);
    const key = name ?? `pb_backup_${this.baseName()}`;
    if (!isValidBackupKey(key)) throw AppError.badRequest('Invalid backup name.');
    this.active = { kind: 'backup', key };
    const work = join(this.tempDir, `backup_${randomString(10, LOWER_ALPHANUMERIC_ALPHABET)}`);
    const release = this.app.files.holdDeletions();
    try {
      const store = this.store();
      if (await store.exists(key)) throw AppError.badRequest('A backup with this name already exists.');
      // Deletions already running when the hold began finish before the snapshot.
      await this.app.files.settled();
      let sources: ZipSource[] | undefined;
      await this.app.hooks.onBackupCreate.trigger({ name: key }, async () => {
        await mkdir(work, { recursive: true });
        sources = await this.collect(work, onProgress);
      });
      // A handler that did not call next() cancels the backup.
      if (!sources) throw AppError.badRequest('The backup was cancelled.');
      // Written beside its final place (same file system, so the rename is atomic) under a dot name that
      // is never listed; S3 backups are written in the temp dir and uploaded when complete.
      const tmp =
        store.kind === 'local' ? join((store as LocalBackupStore).dir, `.tmp_${randomString(10, LOWER_ALPHANUMERIC_ALPHABET)}.zip`) : join(work, 'backup.zip');
      await writeZipFile(sources, tmp, this.openOutput, (done, total) => onProgress?.('files', total ? done / total : 1));
      release();
      onProgress?.('upload', 0);
      await store.putFile(key, tmp);
      onProgress?.('upload', 1);
      return key;
    } catch (err) {
      if (err instanceof AppError) throw err;
      const e = err as NodeJS.ErrnoException;
      this.app.logger.error({ err }, 'backup failed');
      const why =
        e.code === 'ENOSPC' ? 'no space left on the device' : e.code === 'EACCES' || e.code === 'EROFS' ? 'the backups folder is not writable' : e.message;
      throw AppError.badRequest(`Failed to create backup: ${why}.`);
    } finally {
      release();
      this.active = null;
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** The files of a backup: the database copies (or dump) in `work`, then the data dir's other files. */
  private async collect(work: string, onProgress?: ProgressFn): Promise<ZipSource[]> {
    const dataDir = this.app.config.dataDir;
    const sources: ZipSource[] = [];
    if (this.app.db.dialect.name === 'postgres') {
      onProgress?.('database', 0);
      const dump = join(work, PG_DUMP_NAME);
      let json = process.env.PLINTH_BACKUP_PG_FORMAT === 'json';
      if (!json) {
        try {
          await pgDump(this.app.config.databaseUrl as string, dump);
          sources.push({ name: PG_DUMP_NAME, path: dump });
        } catch (err) {
          if (!(err instanceof ToolMissingError)) throw err;
          this.app.logger.warn(`${err.message} Backing up in Plinth's JSON format instead.`);
          json = true;
        }
      }
      if (json) {
        const dir = join(work, PG_TABLES_DIR);
        await dumpJson(this.app.db, this.app.collections.all(), dir);
        for (const name of await readdir(dir)) sources.push({ name: `${PG_TABLES_DIR}/${name}`, path: join(dir, name) });
      }
    } else {
      for (const [i, file] of SQLITE_FILES.entries()) {
        const source = join(dataDir, file);
        if (!existsSync(source)) continue;
        const dest = join(work, file);
        await copySqlite(source, dest, (f) => onProgress?.('database', (i + f) / SQLITE_FILES.length));
        sources.push({ name: file, path: dest });
      }
    }
    onProgress?.('database', 1);
    sources.push(...(await plainFiles(dataDir)));
    return sources;
  }

  /** Stores an uploaded zip (checked to be a readable zip archive first); 400 for anything else. */
  async upload(filename: string, data: Buffer): Promise<string> {
    const fail = (code: string, message: string) =>
      AppError.validation('An error occurred while validating the submitted data.', { file: { code: code as `validation_${string}`, message } });
    if (!isValidBackupKey(filename)) throw fail('validation_invalid_file_name', 'The file name must be letters, digits, _ - . @ and end in .zip.');
    if (data.length < 4 || data.readUInt32LE(0) !== 0x04034b50) {
      // an empty archive starts with the end-of-central-directory record
      if (!(data.length >= 22 && data.readUInt32LE(0) === 0x06054b50))
        throw fail('validation_invalid_mime_type', 'The file must be a zip archive (application/zip).');
    }
    const store = this.store();
    if (await store.exists(filename)) throw fail('validation_backup_name_exists', 'Backup file with the specified name already exists.');
    const work = join(this.tempDir, `upload_${randomString(10, LOWER_ALPHANUMERIC_ALPHABET)}`);
    await mkdir(work, { recursive: true });
    try {
      const path = join(work, 'upload.zip');
      await writeFile(path, data);
      const { listZip } = await import('./zip.js');
      try {
        await listZip(path);
      } catch (err) {
        throw fail('validation_invalid_zip', (err as Error).message);
      }
      await store.putFile(filename, path);
      return filename;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw AppError.badRequest(`Failed to upload backup: ${(err as Error).message}.`);
    } finally {
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** 400 for a key that is malformed or names no backup (PocketBase's answer for both). */
  private async requireExisting(key: string): Promise<number> {
    const size = isValidBackupKey(key)
      ? await this.store()
          .size(key)
          .catch(() => null)
      : null;
    if (size === null) throw AppError.badRequest('Missing or invalid backup file.');
    return size;
  }

  async read(key: string): Promise<{ stream: Readable; size: number }> {
    const size = await this.requireExisting(key);
    return { stream: await this.store().read(key), size };
  }

  async delete(key: string): Promise<void> {
    if (this.active?.key === key) throw AppError.badRequest('The backup is currently being used and cannot be deleted.');
    await this.requireExisting(key);
    try {
      await this.store().delete(key);
    } catch (err) {
      throw AppError.badRequest(`Invalid or already deleted backup file. Raw error: \n${(err as Error).message}`);
    }
  }

  /**
   * Extracts and checks a SQLite backup zip into a fresh folder of the temp dir; resolves to that folder.
   * Throws BadArchiveError (the folder removed) for a corrupt, hostile or foreign archive.
   */
  async stage(zipPath: string): Promise<string> {
    const dir = join(this.tempDir, `restore_${randomString(10, LOWER_ALPHANUMERIC_ALPHABET)}`);
    await mkdir(this.tempDir, { recursive: true });
    try {
      await extractZip(zipPath, dir);
      validateSqliteBackup(dir);
      return dir;
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * `POST /api/backups/{key}/restore`: everything that can fail is checked now (400, nothing replaced);
   * then the restart runs shortly after the response.
   */
  async restore(key: string): Promise<void> {
    if (this.active) throw AppError.badRequest(BUSY_MESSAGE);
    if (this.app.db.dialect.name === 'postgres') {
      throw AppError.badRequest(
        'Restoring over the API is not supported on PostgreSQL (other nodes keep using the database): stop the nodes and run `plinth backup restore KEY --db=URL` into an empty database.',
      );
    }
    await this.requireExisting(key);
    this.active = { kind: 'restore', key };
    let staged = '';
    try {
      await this.app.hooks.onBackupRestore.trigger({ name: key }, async () => {
        const copy = await this.store().localCopy(key, this.tempDir);
        try {
          staged = await this.stage(copy.path);
        } finally {
          await copy.cleanup();
        }
      });
      if (!staged) throw AppError.badRequest('The restore was cancelled.');
    } catch (err) {
      this.active = null;
      if (err instanceof AppError) throw err;
      if (err instanceof BadArchiveError) throw AppError.badRequest(`Invalid backup: ${err.message}`);
      throw AppError.badRequest(`Failed to restore backup: ${(err as Error).message}`);
    }
    const restart = this.restarter;
    if (!restart) {
      this.active = null;
      await rm(staged, { recursive: true, force: true }).catch(() => undefined);
      throw AppError.badRequest('The backup is valid, but this server cannot restart itself: stop it and run `plinth backup restore KEY --dir=DATA_DIR`.');
    }
    const dataDir = this.app.config.dataDir;
    const tempDir = this.tempDir;
    // Give the 204 a moment to leave, as PocketBase does.
    setTimeout(() => {
      restart(() => swapDataDir(dataDir, staged, tempDir)).catch((err: unknown) => {
        this.active = null;
        this.app.logger.error({ err }, 'restore failed');
      });
    }, 200).unref();
  }
}

/**
 * Restores a SQLite backup zip into `dataDir` with no app running (the CLI): validate, swap, keep the old
 * data in the temp dir until the swap succeeded.
 */
export async function restoreSqliteOffline(zipPath: string, dataDir: string): Promise<void> {
  const tempDir = join(dataDir, TEMP_DIR_NAME);
  await mkdir(tempDir, { recursive: true });
  const dir = join(tempDir, `restore_${randomString(10, LOWER_ALPHANUMERIC_ALPHABET)}`);
  try {
    await extractZip(zipPath, dir);
    validateSqliteBackup(dir);
    const { discard } = await swapDataDir(dataDir, dir, tempDir);
    await discard();
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
