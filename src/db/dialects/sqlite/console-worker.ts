/**
 * The SQL console's reader on SQLite, run in a worker thread (db/dialects/sqlite/sqlite-database.ts
 * `runConsole`): its own connection opened read-only, so no statement can write, and the server's event
 * loop stays free while a slow query runs; on timeout the main thread terminates the worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { consoleText, type ConsoleColumn, type ConsoleResult } from '../../console.js';

interface Input {
  filename: string;
  statements: string[];
  maxRows: number;
}

function run(input: Input): ConsoleResult {
  const conn = new BetterSqlite3(input.filename, { readonly: true, fileMustExist: true });
  try {
    conn.pragma('busy_timeout = 5000');
    const result: ConsoleResult = { execTime: 0, affectedRows: 0, columns: [], rows: [] };
    for (const text of input.statements) {
      const stmt = conn.prepare(text);
      if (!stmt.reader) {
        result.affectedRows = stmt.run().changes; // fails on this read-only connection for real writes
        result.columns = [];
        result.rows = [];
        continue;
      }
      stmt.safeIntegers(true).raw(true);
      result.columns = stmt.columns().map((c): ConsoleColumn => ({ name: c.name, type: c.type ?? '', nullable: nullable(conn, c) }));
      result.rows = [];
      for (const row of stmt.iterate() as Iterable<unknown[]>) {
        if (result.rows.length >= input.maxRows) break;
        result.rows.push(row.map(consoleText));
      }
    }
    return result;
  } finally {
    conn.close();
  }
}

/** NOT NULL columns of a table are not nullable; everything else (expressions included) may be NULL. */
function nullable(conn: BetterSqlite3.Database, c: BetterSqlite3.ColumnDefinition): boolean {
  if (!c.table || !c.column) return true;
  try {
    const row = conn.prepare('SELECT "notnull" AS n FROM pragma_table_info(?, ?) WHERE name = ?').get(c.table, c.database ?? 'main', c.column) as
      | { n: number }
      | undefined;
    return !(row && row.n === 1);
  } catch {
    return true;
  }
}

try {
  parentPort?.postMessage({ ok: true, result: run(workerData as Input) });
} catch (err) {
  const e = err as { message?: string; code?: string };
  parentPort?.postMessage({ ok: false, message: e.message ?? String(err), code: e.code ?? '' });
}
