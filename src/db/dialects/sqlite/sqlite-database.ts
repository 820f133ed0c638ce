/**
 * The SQLite driver: better-sqlite3 with one writer connection behind an async queue and one read-only
 * reader connection (WAL lets it read the last committed state while a write transaction is open).
 * All PRAGMAs are set here and nowhere else.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import BetterSqlite3 from 'better-sqlite3';
import type { ColumnInfo, Database, Executor, Row, RunResult } from '../../dialect.js';
import type { Sql } from '../../sql.js';
import { ident, sql } from '../../sql.js';
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

class Connection implements Executor {
  private readonly statements = new Map<string, Stmt>();
  constructor(readonly conn: Conn) {}

  prepare(query: Sql): { stmt: Stmt; params: readonly unknown[] } {
    const { text, params } = sqliteDialect.compile(query);
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.conn.prepare(text);
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      this.statements.set(text, stmt);
    }
    return { stmt, params };
  }
  allSync<T>(query: Sql): T[] {
    const { stmt, params } = this.prepare(query);
    return stmt.all(...params) as T[];
  }
  getSync<T>(query: Sql): T | undefined {
    const { stmt, params } = this.prepare(query);
    return stmt.get(...params) as T | undefined;
  }
  runSync(query: Sql): RunResult {
    const { stmt, params } = this.prepare(query);
    if (!stmt.reader) return { changes: stmt.run(...params).changes };
    stmt.all(...params); // e.g. a PRAGMA that returns rows
    return { changes: 0 };
  }
  async all<T = Row>(query: Sql): Promise<T[]> {
    return this.allSync<T>(query);
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return this.getSync<T>(query);
  }
  async run(query: Sql): Promise<RunResult> {
    return this.runSync(query);
  }
  /** Statements cached against a schema that changed must be dropped (better-sqlite3 re-prepares, but cheap to be safe). */
  clearCache(): void {
    this.statements.clear();
  }
}

interface TxState {
  depth: number;
  onCommit: Array<() => void>;
}

export interface SqliteOptions {
  /** File path, or ':memory:' (then reads share the writer connection). */
  filename: string;
}

/** Opens a SQLite database with Plinth's connection layout. */
export function openSqlite(options: SqliteOptions): SqliteDatabase {
  return new SqliteDatabase(options);
}

export class SqliteDatabase implements Database {
  readonly dialect = sqliteDialect;
  private readonly writer: Connection;
  private readonly reader: Connection;
  private readonly txContext = new AsyncLocalStorage<TxState>();
  /** Tail of the write queue: each transaction waits for the previous one. */
  private queue: Promise<unknown> = Promise.resolve();
  private savepointSeq = 0;

  constructor(options: SqliteOptions) {
    const w = new BetterSqlite3(options.filename);
    w.pragma('journal_mode = WAL');
    for (const p of PRAGMAS) w.pragma(p);
    this.writer = new Connection(w);
    if (options.filename === ':memory:') {
      this.reader = this.writer;
    } else {
      const r = new BetterSqlite3(options.filename, { readonly: false });
      for (const p of PRAGMAS) r.pragma(p);
      r.pragma('query_only = ON');
      this.reader = new Connection(r);
    }
  }

  /** Reads inside a transaction go to the writer so they see their own uncommitted writes. */
  private current(): Connection {
    return this.txContext.getStore() ? this.writer : this.reader;
  }

  async all<T = Row>(query: Sql): Promise<T[]> {
    return this.current().allSync<T>(query);
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return this.current().getSync<T>(query);
  }
  /** A write outside an explicit transaction is its own queued transaction. */
  async run(query: Sql): Promise<RunResult> {
    if (this.txContext.getStore()) return this.writer.runSync(query);
    return this.transaction(async (tx) => tx.run(query));
  }

  /** Synchronous read on the reader connection: the hot path for record views and lists. */
  getSync<T = Row>(query: Sql): T | undefined {
    return this.current().getSync<T>(query);
  }
  allSync<T = Row>(query: Sql): T[] {
    return this.current().allSync<T>(query);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const state = this.txContext.getStore();
    if (state) return this.savepoint(state, fn);
    const run = async (): Promise<T> => {
      this.writer.runSync(sql`BEGIN IMMEDIATE`);
      const state: TxState = { depth: 1, onCommit: [] };
      try {
        const result = await this.txContext.run(state, () => fn(this.writer));
        this.writer.runSync(sql`COMMIT`);
        for (const cb of state.onCommit) cb();
        return result;
      } catch (err) {
        if (this.writer.conn.inTransaction) this.writer.runSync(sql`ROLLBACK`);
        throw err;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  afterCommit(fn: () => void): void {
    const state = this.txContext.getStore();
    if (state) state.onCommit.push(fn);
    else fn();
  }

  private async savepoint<T>(state: TxState, fn: (tx: Executor) => Promise<T>): Promise<T> {
    // Savepoint names come from a counter, never from input.
    const seq = ++this.savepointSeq;
    const name = ident(`sp${seq}`);
    this.writer.runSync(sql`SAVEPOINT ${name}`);
    const pendingCallbacks = state.onCommit.length;
    state.depth++;
    try {
      const result = await fn(this.writer);
      this.writer.runSync(sql`RELEASE ${name}`);
      return result;
    } catch (err) {
      this.writer.runSync(sql`ROLLBACK TO ${name}`);
      this.writer.runSync(sql`RELEASE ${name}`);
      state.onCommit.length = pendingCallbacks; // what the rolled-back part announced never happened
      throw err;
    } finally {
      state.depth--;
    }
  }

  async describeColumns(query: Sql): Promise<ColumnInfo[]> {
    const { stmt } = this.current().prepare(query);
    return stmt.columns().map((c) => ({ name: c.name, table: c.table, column: c.column, type: c.type }));
  }

  async tableNames(): Promise<string[]> {
    const rows = this.current().allSync<{ name: string }>(
      sql`SELECT name FROM sqlite_schema WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%'`,
    );
    return rows.map((r) => r.name);
  }

  async columnNames(table: string): Promise<string[]> {
    const rows = this.current().allSync<{ name: string }>(sql`SELECT name FROM pragma_table_info(${table})`);
    return rows.map((r) => r.name);
  }

  /** Drops cached statements after DDL. */
  schemaChanged(): void {
    this.writer.clearCache();
    this.reader.clearCache();
  }

  /** Checkpoints the WAL (used on shutdown and periodically). */
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
