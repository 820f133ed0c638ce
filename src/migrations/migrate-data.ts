/**
 * `plinth migrate-data --from=./plinth_data --to=postgres://…`: moves a SQLite instance into an empty
 * PostgreSQL database. Schema (collections and their tables, indexes and views), records, auth records with
 * their password hashes, settings, migration history, authenticator and API-key rows are copied as stored,
 * so tokens, passwords and secrets keep working. Files are not touched (local or S3 storage stays where it
 * is; point the new nodes at the same data directory or bucket).
 *
 * Everything happens in one PostgreSQL transaction, and row counts are compared before it commits: a
 * failure part-way leaves the target as empty as it was. A target that already holds tables is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureApiKeyTable } from '../auth/api-keys.js';
import { ensureTotpTable } from '../auth/totp.js';
import { createCollectionDdl } from '../collections/ddl.js';
import { CollectionStore, createInternalTables } from '../collections/store.js';
import type { Database, Executor } from '../db/dialect.js';
import { openSqlite } from '../db/dialects/sqlite/sqlite-database.js';
import { ident, isPostgresUrl, join as joinSql, openDatabase, param, sql } from '../db/index.js';
import { StartupError } from '../errors/index.js';
import { HookBus } from '../hooks/index.js';
import { unstorableReason } from '../util/storable-text.js';
import { createJobsTable } from '../jobs/queue.js';

export const MIGRATE_DATA_HELP = `Copy a SQLite instance into an empty PostgreSQL database.

Usage:
  plinth migrate-data --from=./plinth_data --to=postgres://user:password@host:5432/db

Copies the schema, every record (auth records with their password hashes), settings, migration
history, authenticators, API keys and background jobs, in one transaction, then compares row counts before committing.
Refuses a target database that already has tables. Files stay where they are (local or S3).

Flags:
  --from   Data directory of the SQLite instance (holds data.db)     default ./plinth_data
  --to     PostgreSQL URL of an empty database                      required
`;

/** Tables outside the collections that belong to an instance (per-node or throw-away ones are left out). */
const INTERNAL_TABLES = ['_collections', '_params', '_migrations', '_totp', '_apiKeys', '_jobs'];
/** Rows per INSERT: well under PostgreSQL's 65,535 bound parameters for any sane column count. */
const BATCH_PARAMS = 30_000;

/** Why the move cannot proceed (reported by the CLI as one line, exit code 1). */
export class MigrateDataError extends StartupError {}

export interface MigrateDataOptions {
  from: string;
  to: string;
  /** Progress output (default: stderr; a bar on a terminal, a line per table otherwise). */
  progress?: (done: number, total: number, table: string) => void;
}

export interface MigrateDataResult {
  tables: Array<{ name: string; rows: number }>;
  rows: number;
}

export async function migrateData(options: MigrateDataOptions): Promise<MigrateDataResult> {
  const file = join(options.from, 'data.db');
  if (!existsSync(file)) throw new MigrateDataError(`No Plinth SQLite database at ${file} (use --from=<data directory>).`);
  if (!isPostgresUrl(options.to)) throw new MigrateDataError('--to must be a postgres:// URL.');
  const source = openSqlite({ filename: file });
  let target: Database | undefined;
  try {
    const pgDb = await openDatabase({ url: options.to, dataDir: options.from, poolSize: 2 });
    target = pgDb;
    // Plinth's own helper functions were just installed; anything else means someone's data is there.
    const existing = await pgDb.tableNames();
    if (existing.length) {
      throw new MigrateDataError(
        `The target database is not empty: it has ${existing.length} table(s) (${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', …' : ''}). migrate-data only copies into an empty database.`,
      );
    }
    const schema = new CollectionStore(source, new HookBus());
    await schema.load();
    const collections = schema.all();
    const sourceTables = new Set(await source.tableNames());
    const copies = [
      ...INTERNAL_TABLES.filter((t) => sourceTables.has(t)),
      ...collections.filter((c) => c.type !== 'view' && sourceTables.has(c.name)).map((c) => c.name),
    ];
    const counts = new Map<string, number>();
    for (const t of copies) {
      const row = await source.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${ident(t)}`);
      counts.set(t, Number(row?.n ?? 0));
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const progress = options.progress ?? progressPrinter();
    let done = 0;

    await pgDb
      .transaction(async (tx) => {
        await copyAll(tx);
      })
      .catch((err: unknown) => {
        if (err instanceof MigrateDataError) throw err;
        const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
        throw new MigrateDataError(`Copying into PostgreSQL failed: ${message}. ${NOTHING_COMMITTED}`);
      });
    async function copyAll(tx: Executor): Promise<void> {
      await createInternalTables(tx);
      await ensureTotpTable(tx);
      await ensureApiKeyTable(tx);
      await createJobsTable(tx, 'postgres');
      await copyStoredKey(tx, options.from);
      // Tables first, then views (which may read any table).
      for (const c of [...collections.filter((c) => c.type !== 'view'), ...collections.filter((c) => c.type === 'view')]) {
        for (const statement of createCollectionDdl(c, pgDb.dialect)) {
          await tx.run(statement).catch((err: Error) => {
            throw new MigrateDataError(`Creating ${c.type === 'view' ? 'view' : 'table'} "${c.name}" failed on PostgreSQL: ${err.message}`);
          });
        }
      }
      for (const table of copies) {
        const start = done;
        const what = collections.some((c) => c.name === table) ? `collection "${table}"` : `table "${table}"`;
        done += await copyTable(source, tx, table, what, (n) => progress(start + n, total, table));
      }
      for (const table of copies) {
        const row = await tx.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM ${ident(table)}`);
        const expected = counts.get(table) ?? 0;
        if (Number(row?.n ?? 0) !== expected) {
          throw new MigrateDataError(`Row count mismatch in "${table}": ${expected} in SQLite, ${Number(row?.n ?? 0)} copied. Nothing was committed.`);
        }
      }
    }
    return { tables: copies.map((name) => ({ name, rows: counts.get(name) ?? 0 })), rows: total };
  } finally {
    await source.close();
    await target?.close();
  }
}

/**
 * The SQLite instance's stored encryption key (`.encryption-key`) becomes the PostgreSQL one (`_plinthKeys`),
 * so the secrets copied as stored (settings, OAuth2 client secrets) open there too (util/secret-box.ts).
 */
async function copyStoredKey(tx: Executor, dataDir: string): Promise<void> {
  const file = join(dataDir, '.encryption-key');
  if (!existsSync(file)) return;
  const key = readFileSync(file, 'utf8').trim();
  if (Buffer.from(key, 'base64').length !== 32) throw new MigrateDataError(`${file} does not hold a 32-byte base64 key.`);
  await tx.run(sql`CREATE TABLE IF NOT EXISTS "_plinthKeys" (name TEXT PRIMARY KEY NOT NULL, "key" TEXT NOT NULL)`);
  await tx.run(sql`INSERT INTO "_plinthKeys" (name, "key") VALUES ('secret-box', ${key})`);
}

/** The rollback leaves the target as it was; said once at the end of every failure message. */
const NOTHING_COMMITTED = 'Nothing was committed: the PostgreSQL database is left empty.';
/** What to do about a value PostgreSQL cannot take. */
const FIX_AND_RERUN = 'Fix or remove the value in SQLite, then run migrate-data again.';

/** How a failure names a row: its record id (or the internal table's key), else its SQLite rowid. */
function rowName(row: Record<string, unknown>): string {
  const key = row.id ?? row.file ?? row.key;
  return typeof key === 'string' && key !== '' ? `record "${key}"` : `row ${String(row._plinth_rowid)}`;
}

/**
 * Values PostgreSQL's text cannot hold are found before the INSERT, so the report names the collection, the
 * record and the field: NUL (U+0000; SQLite stores it, PostgreSQL refuses it with 22021). SQLite hands out
 * no unpaired surrogates (invalid UTF-8 reads as U+FFFD), but the same check refuses them too.
 */
function checkRows(rows: Array<Record<string, unknown>>, columns: string[], what: string): void {
  for (const row of rows) {
    for (const c of columns) {
      const v = row[c];
      if (typeof v !== 'string') continue;
      const reason = unstorableReason(v);
      if (reason) {
        const why = reason === 'nul' ? 'contains a NUL character (U+0000)' : 'contains an unpaired UTF-16 surrogate';
        throw new MigrateDataError(
          `In ${what}, ${rowName(row)}, field "${c}": the value ${why}, which PostgreSQL cannot store. ${NOTHING_COMMITTED} ${FIX_AND_RERUN}`,
        );
      }
    }
  }
}

/** One line for a row PostgreSQL refused: where (collection, record, field when PostgreSQL names it) and PostgreSQL's own reason. */
function refusedRow(err: unknown, row: Record<string, unknown>, what: string): MigrateDataError {
  const e = err as { message?: unknown; code?: unknown; column?: unknown };
  const column = typeof e.column === 'string' ? `, field "${e.column}"` : '';
  const why = typeof e.message === 'string' ? e.message.split('\n')[0] : String(err);
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  return new MigrateDataError(`In ${what}, ${rowName(row)}${column}: PostgreSQL refused the row: ${why}${code}. ${NOTHING_COMMITTED} ${FIX_AND_RERUN}`);
}

/**
 * Copies every row of `table` in rowid order, in multi-row INSERTs; returns the number of rows. Each INSERT
 * runs in a savepoint: if PostgreSQL refuses a batch, its rows are tried one by one to name the culprit.
 */
async function copyTable(source: Database, target: Executor, table: string, what: string, onRows: (n: number) => void): Promise<number> {
  const columns = await source.columnNames(table);
  const perBatch = Math.max(1, Math.floor(BATCH_PARAMS / Math.max(1, columns.length)));
  const cols = joinSql(columns.map((c) => ident(c)));
  let copied = 0;
  onRows(0);
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const rows = await source.all<Record<string, unknown>>(
      sql`SELECT _rowid_ AS _plinth_rowid, ${cols} FROM ${ident(table)} WHERE _rowid_ > ${after} ORDER BY _rowid_ LIMIT ${perBatch}`,
    );
    if (rows.length === 0) return copied;
    checkRows(rows, columns, what);
    const tuple = (r: Record<string, unknown>) => sql`(${joinSql(columns.map((c) => param(toPostgres(r[c]))))})`;
    try {
      await target.transaction((sp) => sp.run(sql`INSERT INTO ${ident(table)} (${cols}) VALUES ${joinSql(rows.map(tuple))}`));
    } catch (batchErr) {
      for (const r of rows) {
        await target
          .transaction((sp) => sp.run(sql`INSERT INTO ${ident(table)} (${cols}) VALUES ${tuple(r)}`))
          .catch((err: unknown) => {
            throw refusedRow(err, r, what);
          });
      }
      // Every row went in on its own: whatever failed the batch did not fail them.
      void batchErr;
    }
    copied += rows.length;
    after = Number(rows[rows.length - 1]?._plinth_rowid);
    onRows(copied);
  }
}

/** SQLite keeps booleans as 0/1 and has no separate integer kinds; PostgreSQL accepts these as text. */
function toPostgres(value: unknown): string | number | null | Buffer {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return String(value);
}

function progressPrinter(): (done: number, total: number, table: string) => void {
  const tty = process.stderr.isTTY;
  let lastTable = '';
  let lastDraw = 0;
  return (done, total, table) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (tty) {
      const now = Date.now();
      if (now - lastDraw < 100 && done !== total) return;
      lastDraw = now;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${done}/${total} rows  ${table.padEnd(30).slice(0, 30)}`,
      );
      if (done === total) process.stderr.write('\n');
    } else if (table !== lastTable) {
      lastTable = table;
      process.stderr.write(`${pct}% ${done}/${total} rows, copying ${table}\n`);
    }
  };
}
