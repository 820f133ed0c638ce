/** The database layer: fragments, the dialect seam, and opening a database from a URL or a data dir. */
export * from './sql.js';
export type * from './dialect.js';
export { openSqlite, SqliteDatabase } from './dialects/sqlite/sqlite-database.js';
export { sqliteDialect } from './dialects/sqlite/sqlite-dialect.js';
