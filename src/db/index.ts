/** The database layer: fragments, the dialect seam, and opening a database from a URL or a data dir. */
import { join } from 'node:path';
import { StartupError } from '../errors/startup-error.js';
import { maskUrlCredentials } from '../util/mask-url.js';
import type { Database } from './dialect.js';
import { openSqlite } from './dialects/sqlite/sqlite-database.js';

export * from './sql.js';
export type * from './dialect.js';
export { openSqlite, SqliteDatabase } from './dialects/sqlite/sqlite-database.js';
export { sqliteDialect } from './dialects/sqlite/sqlite-dialect.js';

/** Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * PostgreSQL for a `postgres://` URL, SQLite in `<dataDir>/data.db` when there is none (or `sqlite:`).
 * The PostgreSQL driver is loaded only here, so a SQLite node never pays for it. A bad URL or an
 * unreachable server is a StartupError naming the database (password hidden).
 */
export async function openDatabase(options: { url?: string | undefined; dataDir: string; poolSize?: number | undefined }): Promise<Database> {
  const { url, dataDir, poolSize } = options;
  if (!url || url.startsWith('sqlite:')) return openSqlite({ filename: join(dataDir, 'data.db') });
  const shown = maskUrlCredentials(url); // never print a password
  if (isPostgresUrl(url)) {
    const { openPostgres } = await import('./dialects/postgres/postgres-database.js');
    try {
      return await openPostgres({ url, ...(poolSize ? { poolSize } : {}) });
    } catch (err) {
      const reason = err instanceof Error ? err.message || (err as { code?: string }).code : String(err);
      throw new StartupError(`Cannot open the PostgreSQL database ${shown}: ${reason}`, { cause: err });
    }
  }
  throw new StartupError(`Unsupported database URL "${shown}": use postgres://user:password@host:5432/db, or omit it for SQLite.`);
}
