/**
 * The data directory side of backups: which files go into a zip, consistent copies of the SQLite files,
 * checking an extracted backup before it may replace anything, and the swap itself.
 *
 * SQLite copies use the online backup API from a connection of their own that holds ONE read transaction
 * for the whole copy: in WAL mode that is a fixed snapshot (the copy never restarts however many writes
 * commit meanwhile) and writers are not blocked; the copy runs in steps between event-loop turns.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { ZipSource } from './zip.js';
import { BadArchiveError } from './zip.js';

/** Plinth's scratch folder inside the data dir (never backed up, never swapped). */
export const TEMP_DIR_NAME = '.plinth_temp';
export const BACKUPS_DIR_NAME = 'backups';
/** SQLite files copied through the backup API rather than read as bytes. */
export const SQLITE_FILES = ['data.db', 'auxiliary.db'] as const;
/** The PostgreSQL dump inside a PostgreSQL backup zip. */
export const PG_DUMP_NAME = 'postgres_dump.sql';

/** Top-level names never copied into a backup nor replaced by a restore. */
const KEEP_OUT = new Set([TEMP_DIR_NAME, BACKUPS_DIR_NAME, 'lost+found']);

function isScratch(name: string): boolean {
  return /-(wal|shm|journal)$/.test(name) || name.startsWith('.tmp_');
}

/** Every regular file of the data dir that belongs in a backup, except the SQLite databases. */
export async function plainFiles(dataDir: string): Promise<ZipSource[]> {
  const out: ZipSource[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      const rel = relative(dataDir, path).split(sep).join('/');
      if (dir === dataDir && (KEEP_OUT.has(name) || (SQLITE_FILES as readonly string[]).includes(name))) continue;
      if (isScratch(name)) continue;
      const st = await lstat(path).catch(() => null);
      if (!st) continue; // deleted meanwhile
      if (st.isDirectory()) await walk(path);
      else if (st.isFile()) out.push({ name: rel, path });
      // symlinks, sockets, devices: not data
    }
  };
  await walk(dataDir);
  return out;
}

/** Copies a live SQLite database to `dest` from a consistent snapshot, without blocking writers. */
export async function copySqlite(source: string, dest: string, onProgress?: (fraction: number) => void): Promise<void> {
  const conn = new BetterSqlite3(source, { readonly: true, fileMustExist: true });
  try {
    conn.pragma('busy_timeout = 5000');
    // One read transaction for the whole copy: a fixed WAL snapshot.
    conn.exec('BEGIN');
    conn.prepare('SELECT COUNT(*) FROM sqlite_schema').get();
    await conn.backup(dest, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(totalPages ? 1 - remainingPages / totalPages : 1);
        return 256;
      },
    });
    conn.exec('COMMIT');
  } finally {
    conn.close();
  }
}

/**
 * Checks an extracted SQLite backup: `data.db` present, a SQLite file that passes `PRAGMA integrity_check`
 * and holds a `_collections` table (Plinth's or PocketBase's); `auxiliary.db`, when present, must pass the
 * integrity check too. Throws BadArchiveError naming the problem.
 */
export function validateSqliteBackup(dir: string): void {
  const data = join(dir, 'data.db');
  if (!existsSync(data)) {
    const hint =
      existsSync(join(dir, PG_DUMP_NAME)) || existsSync(join(dir, 'postgres_tables'))
        ? ' (it is a PostgreSQL backup: restore it with `plinth backup restore KEY --db=URL`)'
        : '';
    throw new BadArchiveError(`The backup has no data.db${hint}.`);
  }
  checkSqliteFile(data, true);
  if (existsSync(join(dir, 'auxiliary.db'))) checkSqliteFile(join(dir, 'auxiliary.db'), false);
}

function checkSqliteFile(path: string, needCollections: boolean): void {
  const name = path.split(sep).pop();
  let conn: BetterSqlite3.Database | undefined;
  try {
    conn = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    const rows = conn.pragma('integrity_check') as Array<{ integrity_check: string }>;
    if (rows.length !== 1 || rows[0]?.integrity_check !== 'ok') {
      throw new BadArchiveError(`${name} in the backup is damaged (integrity check: ${String(rows[0]?.integrity_check ?? 'failed').slice(0, 200)}).`);
    }
    if (needCollections) {
      const t = conn.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '_collections'`).get();
      if (!t) throw new BadArchiveError(`${name} in the backup is not a Plinth or PocketBase database (no _collections table).`);
    }
  } catch (err) {
    if (err instanceof BadArchiveError) throw err;
    throw new BadArchiveError(`${name} in the backup is not a usable SQLite database (${(err as Error).message}).`);
  } finally {
    conn?.close();
  }
  // A read-only open of a WAL database may leave -shm/-wal beside it: not part of the data.
  for (const suffix of ['-wal', '-shm']) rmSync(path + suffix, { force: true });
}

/**
 * Replaces the data dir's contents with `staged`'s (the app must be closed): current entries move to an
 * `old_…` folder in the temp dir, the staged ones move in. On failure everything moves back. Resolves to a
 * `revert` function (moves the old contents back) for a restart that fails afterwards.
 */
export async function swapDataDir(dataDir: string, staged: string, tempDir: string): Promise<{ revert: () => Promise<void>; discard: () => Promise<void> }> {
  const old = join(tempDir, `old_${Date.now()}`);
  await mkdir(old, { recursive: true });
  const movedOut: string[] = [];
  const movedIn: string[] = [];
  const revert = async (): Promise<void> => {
    for (const name of movedIn.splice(0)) await rm(join(dataDir, name), { recursive: true, force: true });
    for (const name of movedOut.splice(0)) await rename(join(old, name), join(dataDir, name));
  };
  try {
    for (const name of await readdir(dataDir)) {
      if (KEEP_OUT.has(name)) continue;
      await rename(join(dataDir, name), join(old, name));
      movedOut.push(name);
    }
    for (const name of await readdir(staged)) {
      if (KEEP_OUT.has(name)) continue;
      await rename(join(staged, name), join(dataDir, name));
      movedIn.push(name);
    }
  } catch (err) {
    await revert();
    throw err;
  }
  const discard = async (): Promise<void> => {
    await rm(old, { recursive: true, force: true });
    await rm(staged, { recursive: true, force: true });
  };
  return { revert, discard };
}

/** Removes leftovers of earlier restores and failed runs (`old_*`, `restore_*`, …) over an hour old from the temp dir. */
export function cleanRestoreLeftovers(tempDir: string): void {
  let names: string[];
  try {
    names = readdirSync(tempDir);
  } catch {
    return;
  }
  // Only stale ones: another process (a CLI backup beside a running server) may be using a fresh one.
  const cutoff = Date.now() - 60 * 60 * 1000;
  for (const n of names) {
    if (!n.startsWith('old_') && !n.startsWith('restore_') && !n.startsWith('backup_') && !n.startsWith('upload_')) continue;
    const path = join(tempDir, n);
    try {
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}
