/**
 * The SQLite driver: better-sqlite3 with one writer connection behind an async queue and one read-only
 * reader connection (WAL lets it read the last committed state while a write transaction is open).
 * All PRAGMAs are set here and nowhere else.
 */
import { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { ConsoleTimeout, consoleText, isPossibleWrite, splitStatements, type ConsoleOptions, type ConsoleResult } from '../../console.js';
import type { ColumnInfo, ConnectionUsage, Database, Executor, Row, RunResult, StatementObserver } from '../../dialect.js';
import { AppError } from '../../../errors/app-error.js';
import { sql, type Sql } from '../../sql.js';
import { OpenTransaction } from '../../transaction.js';
import { tracer } from '../../../tracing/index.js';
import { sqliteDialect } from './sqlite-dialect.js';

type Conn = BetterSqlite3.Database;
type Stmt = BetterSqlite3.Statement;

/** PocketBase's proven defaults (core/db_connect.go), plus a bounded WAL. */
const PRAGMAS = [
  'busy_timeout = 10000',
  'journal_size_limit = 200000000',
  'synchronous = NORMAL',
  'foreign_keys = ON',
  'temp_store = MEMORY',
  'cache_size = -32000',
];

const STATEMENT_CACHE_LIMIT = 1000;

/** SQL console reads running at once (each in a worker thread with its own connection). */
const MAX_CONSOLE_WORKERS = 4;

/** One better-sqlite3 connection with its prepared-statement cache; statements are timed while `owner.observer` is set. */
class Connection {
  private readonly statements = new Map<string, Stmt>();
  constructor(
    readonly conn: Conn,
    private readonly owner: { observer: StatementObserver | null },
  ) {}

  prepare(query: Sql): { stmt: Stmt; params: readonly unknown[]; text: string } {
    const { text, params } = sqliteDialect.compile(query);
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.conn.prepare(text);
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      this.statements.set(text, stmt);
    }
    return { stmt, params, text };
  }
  allSync<T>(query: Sql): T[] {
    const { stmt, params, text } = this.prepare(query);
    if (tracer) return this.traced(text, () => stmt.all(...params) as T[]);
    const observer = this.owner.observer;
    if (observer === null) return stmt.all(...params) as T[];
    const started = performance.now(); // the slow-query log and/or metrics: timed without a closure
    try {
      return stmt.all(...params) as T[];
    } finally {
      observer(text, performance.now() - started);
    }
  }
  getSync<T>(query: Sql): T | undefined {
    const { stmt, params, text } = this.prepare(query);
    if (tracer) return this.traced(text, () => stmt.get(...params) as T | undefined);
    const observer = this.owner.observer;
    if (observer === null) return stmt.get(...params) as T | undefined;
    const started = performance.now();
    try {
      return stmt.get(...params) as T | undefined;
    } finally {
      observer(text, performance.now() - started);
    }
  }
  runSync(query: Sql): RunResult {
    const { stmt, params, text } = this.prepare(query);
    if (tracer) return this.traced(text, () => this.exec(stmt, params));
    const observer = this.owner.observer;
    if (observer === null) return this.exec(stmt, params);
    const started = performance.now();
    try {
      return this.exec(stmt, params);
    } finally {
      observer(text, performance.now() - started);
    }
  }
  /** Tracing on: `fn` inside a SQL span, timed for the observer too when one is set. */
  private traced<R>(text: string, fn: () => R): R {
    const t = tracer as NonNullable<typeof tracer>;
    const observer = this.owner.observer;
    if (observer === null) return t.sql('sqlite', text, fn);
    const started = performance.now();
    try {
      return t.sql('sqlite', text, fn);
    } finally {
      observer(text, performance.now() - started);
    }
  }
  private exec(stmt: Stmt, params: readonly unknown[]): RunResult {
    if (!stmt.reader) return { changes: stmt.run(...params).changes };
    stmt.all(...params); // e.g. a PRAGMA that returns rows
    return { changes: 0 };
  }
  describe(query: Sql): ColumnInfo[] {
    const { stmt } = this.prepare(query);
    return stmt.columns().map((c) => ({ name: c.name, table: c.table, column: c.column, type: c.type }));
  }
  /** Statements cached against a schema that changed must be dropped (better-sqlite3 re-prepares, but cheap to be safe). */
  clearCache(): void {
    this.statements.clear();
  }
}

export interface SqliteOptions {
  /** File path, or ':memory:' (then reads share the writer connection). */
  filename: string;
}

/** Opens a SQLite database with Plinth's connection layout. */
export function openSqlite(options: SqliteOptions): SqliteDatabase {
  return new SqliteDatabase(options);
}

/** An open transaction on the writer connection (savepoints and callbacks: db/transaction.ts). */
class SqliteTransaction extends OpenTransaction<Connection> {
  async all<T = Row>(query: Sql): Promise<T[]> {
    return this.connection().allSync<T>(query);
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return this.connection().getSync<T>(query);
  }
  async run(query: Sql): Promise<RunResult> {
    return this.connection().runSync(query);
  }
  async describeColumns(query: Sql): Promise<ColumnInfo[]> {
    return this.connection().describe(query);
  }
  protected execute(conn: Connection, query: Sql): RunResult {
    return conn.runSync(query);
  }
}

export class SqliteDatabase implements Database {
  readonly dialect = sqliteDialect;
  observer: StatementObserver | null = null;
  private readonly writer: Connection;
  private readonly reader: Connection;
  /** Tail of the write queue: each transaction waits for the previous one. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Write transactions queued or running (metrics). */
  private queuedWrites = 0;

  readonly filename: string;

  constructor(options: SqliteOptions) {
    this.filename = options.filename;
    const w = new BetterSqlite3(options.filename);
    w.pragma('journal_mode = WAL');
    for (const p of PRAGMAS) w.pragma(p);
    this.writer = new Connection(w, this);
    if (options.filename === ':memory:') {
      this.reader = this.writer;
    } else {
      const r = new BetterSqlite3(options.filename);
      for (const p of PRAGMAS) r.pragma(p);
      r.pragma('query_only = ON');
      this.reader = new Connection(r, this);
    }
  }

  async all<T = Row>(query: Sql): Promise<T[]> {
    return this.reader.allSync<T>(query);
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return this.reader.getSync<T>(query);
  }
  /** A write outside a transaction is its own queued transaction. */
  async run(query: Sql): Promise<RunResult> {
    return this.transaction(async (tx) => tx.run(query));
  }
  async describeColumns(query: Sql): Promise<ColumnInfo[]> {
    return this.reader.describe(query);
  }
  afterCommit(fn: () => void): void {
    fn();
  }
  afterRollback(): void {
    // outside a transaction there is nothing to roll back
  }
  async runAtCommit(query: Sql): Promise<void> {
    await this.run(query);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      try {
        this.writer.runSync(sql`BEGIN IMMEDIATE`);
      } catch (err) {
        this.queuedWrites--;
        throw err;
      }
      const tx = new SqliteTransaction(this.writer);
      try {
        const result = await fn(tx);
        for (const q of tx.takeAtCommit()) this.writer.runSync(q);
        this.writer.runSync(sql`COMMIT`);
        tx.committed();
        return result;
      } catch (err) {
        if (this.writer.conn.inTransaction) this.writer.runSync(sql`ROLLBACK`);
        tx.rolledBack();
        throw err;
      } finally {
        this.queuedWrites--;
      }
    };
    this.queuedWrites++;
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  usage(): ConnectionUsage {
    return { writeQueue: this.queuedWrites };
  }

  /** Synchronous reads on the reader connection (tests and tools). */
  allSync<T = Row>(query: Sql): T[] {
    return this.reader.allSync<T>(query);
  }
  getSync<T = Row>(query: Sql): T | undefined {
    return this.reader.getSync<T>(query);
  }

  async tableNames(): Promise<string[]> {
    const rows = this.reader.allSync<{ name: string }>(sql`SELECT name FROM sqlite_schema WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%'`);
    return rows.map((r) => r.name);
  }

  async columnNames(table: string): Promise<string[]> {
    const rows = this.reader.allSync<{ name: string }>(sql`SELECT name FROM pragma_table_info(${table})`);
    return rows.map((r) => r.name);
  }

  /**
   * The SQL console. Reads run in a worker thread on a connection of their own opened read-only (no
   * statement can write through it, and a slow query does not block the server); on timeout the worker
   * is terminated. A possible write (PocketBase's prefix check) with `write` allowed runs on the writer
   * in one queued transaction, as PocketBase does; SQLite has no statement timeout there, so the limit
   * applies to reads only (docs/sql-console.md).
   */
  async runConsole(query: string, options: ConsoleOptions): Promise<ConsoleResult> {
    const started = performance.now();
    const statements = splitStatements(query, 'sqlite');
    if (statements.length === 0) throw Object.assign(new Error('empty query'), { code: 'SQLITE_MISUSE' });
    let result: ConsoleResult;
    if (options.write && isPossibleWrite(query)) {
      result = await this.consoleWrite(statements, false, options.maxRows);
    } else {
      try {
        result = this.filename === ':memory:' ? this.consoleInline(statements, options.maxRows) : await this.consoleRead(statements, options);
      } catch (err) {
        // A write PocketBase's prefix check does not see (REPLACE, WITH … INSERT, ALTER, PRAGMA x = y):
        // with writes allowed it runs on the writer, as it would on PocketBase's pool.
        if (!options.write || (err as { code?: string }).code !== 'SQLITE_READONLY') throw err;
        result = await this.consoleWrite(statements, true, options.maxRows);
      }
    }
    result.execTime = Math.round(performance.now() - started);
    return result;
  }

  /** Console workers running now: each holds a connection and some memory, so only a few at once. */
  private consoleWorkers = 0;

  /** Counted until the thread exits (after a timeout it may still be finishing a step). */
  private consoleRead(statements: string[], options: ConsoleOptions): Promise<ConsoleResult> {
    if (this.consoleWorkers >= MAX_CONSOLE_WORKERS) {
      return Promise.reject(new AppError('too_many_requests', 'Too many SQL console queries at once; try again shortly.'));
    }
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./console-worker.js', import.meta.url), {
        workerData: { filename: this.filename, statements, maxRows: options.maxRows },
      });
      this.consoleWorkers++;
      worker.once('exit', () => this.consoleWorkers--);
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        finish(() => reject(new ConsoleTimeout(options.timeoutMs)));
        void worker.terminate();
      }, options.timeoutMs);
      worker.once('message', (msg: { ok: true; result: ConsoleResult } | { ok: false; message: string; code: string }) => {
        finish(() => (msg.ok ? resolve(msg.result) : reject(Object.assign(new Error(msg.message), { code: msg.code }))));
      });
      worker.once('error', (err) => finish(() => reject(err)));
      worker.once('exit', () => finish(() => reject(new Error('the SQL console worker stopped'))));
    });
  }

  /** An in-memory database has no second connection: statements run on the writer, read-only by PRAGMA. */
  private consoleInline(statements: string[], maxRows: number): ConsoleResult {
    const conn = this.writer.conn;
    conn.pragma('query_only = ON');
    try {
      return this.consoleStatements(conn, statements, true, maxRows);
    } finally {
      conn.pragma('query_only = OFF');
    }
  }

  private async consoleWrite(statements: string[], returnRows: boolean, maxRows: number): Promise<ConsoleResult> {
    try {
      return await this.transaction(async () => this.consoleStatements(this.writer.conn, statements, returnRows, maxRows));
    } finally {
      this.schemaChanged();
    }
  }

  private consoleStatements(conn: Conn, statements: string[], returnRows: boolean, maxRows: number): ConsoleResult {
    const result: ConsoleResult = { execTime: 0, affectedRows: 0, columns: [], rows: [] };
    for (const text of statements) {
      const stmt = conn.prepare(text);
      if (!stmt.reader) {
        result.affectedRows += stmt.run().changes;
        continue;
      }
      stmt.safeIntegers(true).raw(true);
      const columns = stmt.columns().map((c) => ({ name: c.name, type: c.type ?? '', nullable: true }));
      const rows: (string | null)[][] = [];
      for (const row of stmt.iterate() as Iterable<unknown[]>) {
        if (rows.length >= maxRows) break;
        rows.push(row.map(consoleText));
      }
      if (returnRows) {
        result.columns = columns;
        result.rows = rows;
      }
    }
    return result;
  }

  /** Drops cached statements after DDL. */
  schemaChanged(): void {
    this.writer.clearCache();
    this.reader.clearCache();
  }

  /** Checkpoints the WAL (used on shutdown). */
  checkpoint(): void {
    this.writer.conn.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    await this.queue;
    try {
      this.checkpoint();
    } catch {
      // a checkpoint failure on close is not worth failing shutdown for
    }
    if (this.reader !== this.writer) this.reader.conn.close();
    this.writer.conn.close();
  }
}
