/**
 * `plinth backup create [NAME] | list | restore KEY|FILE.zip` (docs/backups.md). A progress bar on a TTY,
 * plain lines otherwise.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, cp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from '../app.js';
import { AppError } from '../errors/index.js';
import { createLogger } from '../util/logger.js';
import { PG_DUMP_NAME, TEMP_DIR_NAME, BACKUPS_DIR_NAME } from './data-dir.js';
import { restoreSqliteOffline, BadArchiveError, type ProgressFn } from './index.js';
import { pgRestore } from './postgres.js';
import { PG_TABLES_DIR, restoreJson } from './postgres-json.js';
import { isValidBackupKey } from './store.js';
import { extractZip } from './zip.js';

export const HELP = `Create, list or restore backups.

Usage:
  plinth backup create [NAME.zip] [--dir=./plinth_data] [--db=URL]
  plinth backup list [--dir=./plinth_data] [--db=URL]
  plinth backup restore KEY|FILE.zip [--dir=./plinth_data] [--db=URL]

  create   Zip the data (SQLite: consistent copies of the databases, taken while the server runs;
           PostgreSQL: pg_dump) plus the stored files, into the backups folder or S3 (settings.backups.s3).
  list     The backups, newest first.
  restore  SQLite: stop the server first; replaces the data dir's contents with the backup's (validated
           before anything is replaced). PostgreSQL (--db): loads the dump into an EMPTY database and the
           files into --dir. KEY is a name in <dir>/backups/ (or in S3, SQLite only) or a path to a zip.

Flags:
  --dir   Data directory                                   default ./plinth_data
  --db    PostgreSQL URL (same as PLINTH_DATABASE_URL); SQLite in --dir when absent
`;

class UsageError extends Error {}

function progress(): ProgressFn & { done(): void } {
  const tty = process.stderr.isTTY === true;
  let lastPhase = '';
  let lastDraw = 0;
  const fn = ((phase: string, fraction: number) => {
    if (!tty) {
      if (phase !== lastPhase) process.stderr.write(`${phase}...\n`);
      lastPhase = phase;
      return;
    }
    const now = Date.now();
    if (phase === lastPhase && now - lastDraw < 100 && fraction < 1) return;
    lastPhase = phase;
    lastDraw = now;
    const width = 30;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${phase.padEnd(8)}`);
  }) as ProgressFn & { done(): void };
  fn.done = () => {
    if (tty && lastPhase) process.stderr.write('\n');
  };
  return fn;
}

async function openApp(dir: string, db: string | undefined): Promise<App> {
  return App.open({
    dataDir: dir,
    automigrate: false,
    applyMigrations: false,
    ...(db ? { databaseUrl: db } : {}),
    logger: createLogger(process.env.PLINTH_LOG_LEVEL ?? 'fatal'),
  });
}

function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { dir: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, arg, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dir = resolve(values.dir ?? './plinth_data');
  const dbFlag = values.db ?? process.env.PLINTH_DATABASE_URL;
  const db = dbFlag && dbFlag !== '' ? dbFlag : undefined;
  try {
    if (extra.length) throw new UsageError(`Unexpected argument "${extra[0]}".`);
    switch (action) {
      case 'create':
        return await create(dir, db, arg);
      case 'list':
        if (arg) throw new UsageError(`Unexpected argument "${arg}".`);
        return await list(dir, db);
      case 'restore':
        if (!arg) throw new UsageError('Missing the backup to restore (a key from "plinth backup list" or a path to a zip).');
        return await restore(dir, db, arg);
      default:
        throw new UsageError(action ? `Unknown backup action "${action}".` : 'Missing the action: create, list or restore.');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`Error: ${err.message}\n\n${HELP}`);
      return 2;
    }
    if (err instanceof AppError || err instanceof BadArchiveError) {
      const details = err instanceof AppError && Object.keys(err.data).length ? ` ${JSON.stringify(err.data)}` : '';
      process.stderr.write(`Error: ${err.message}${details}\n`);
      return 1;
    }
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

async function create(dir: string, db: string | undefined, name: string | undefined): Promise<number> {
  const app = await openApp(dir, db);
  const bar = progress();
  try {
    const checked = await app.backups.checkNewName(name);
    const key = await app.backups.create(checked, bar);
    bar.done();
    const size = (await app.backups.store().size(key)) ?? 0;
    process.stdout.write(`Created backup ${key} (${formatSize(size)}).\n`);
    return 0;
  } finally {
    bar.done();
    await app.close();
  }
}

async function list(dir: string, db: string | undefined): Promise<number> {
  const app = await openApp(dir, db);
  try {
    const items = await app.backups.list();
    if (items.length === 0) {
      process.stdout.write('No backups.\n');
      return 0;
    }
    const width = Math.max(...items.map((b) => b.key.length));
    for (const b of items) process.stdout.write(`${b.key.padEnd(width)}  ${formatSize(b.size).padStart(9)}  ${b.modified}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

async function restore(dir: string, db: string | undefined, what: string): Promise<number> {
  const bar = progress();
  const tempDir = join(dir, TEMP_DIR_NAME);
  await mkdir(tempDir, { recursive: true });
  const scratch = await mkdtemp(join(tempDir, 'restore_cli_'));
  try {
    // The zip: a file path, a key in <dir>/backups/, or (SQLite) a key in the configured store (S3).
    let zip: string;
    if (existsSync(what) && statSync(what).isFile()) zip = resolve(what);
    else if (isValidBackupKey(what) && existsSync(join(dir, BACKUPS_DIR_NAME, what))) zip = join(dir, BACKUPS_DIR_NAME, what);
    else if (!db && isValidBackupKey(what) && existsSync(join(dir, 'data.db'))) {
      const app = await openApp(dir, undefined);
      try {
        if (!(await app.backups.store().exists(what))) throw new UsageError(`No backup "${what}" (see "plinth backup list").`);
        zip = (await app.backups.store().localCopy(what, scratch)).path;
      } finally {
        await app.close();
      }
    } else throw new UsageError(`No backup "${what}": give a key from "plinth backup list" or a path to a zip file.`);

    bar('restore', 0);
    if (!db) {
      await restoreSqliteOffline(zip, dir);
      bar('restore', 1);
      bar.done();
      process.stdout.write(`Restored ${what} into ${dir}.\n`);
      return 0;
    }
    const extracted = join(scratch, 'x');
    await extractZip(zip, extracted);
    if (existsSync(join(extracted, PG_DUMP_NAME))) await pgRestore(db, join(extracted, PG_DUMP_NAME));
    else if (existsSync(join(extracted, PG_TABLES_DIR))) await restoreJson(db, join(extracted, PG_TABLES_DIR), dir);
    else
      throw new BadArchiveError(
        `The backup has no ${PG_DUMP_NAME} or ${PG_TABLES_DIR}/: it is not a PostgreSQL backup (restore a SQLite backup without --db).`,
      );
    bar('files', 0.5);
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(extracted)) {
      if (name === PG_DUMP_NAME || name === PG_TABLES_DIR) continue;
      await cp(join(extracted, name), join(dir, name), { recursive: true, force: true });
    }
    bar('files', 1);
    bar.done();
    process.stdout.write(`Restored ${what} into the PostgreSQL database (files into ${dir}).\n`);
    return 0;
  } finally {
    bar.done();
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
