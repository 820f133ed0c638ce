/**
 * The dialect seam. Everything that differs between SQLite and PostgreSQL lives behind this interface:
 * the driver, how fragments compile to text, capability flags, error translation, and the handful of
 * SQL functions the rules compiler and the DDL code need. Code outside `db/dialects/*` only ever builds
 * portable fragments with `sql` and asks the dialect for the rest.
 */
import type { ConsoleOptions, ConsoleResult } from './console.js';
import type { CompiledQuery, Identifier, Sql, SqlValue } from './sql.js';

/** An expression argument: a fragment or a checked identifier. */
export type SqlExpr = Sql | Identifier;

export type DialectName = 'sqlite' | 'postgres';

/** A database row as the driver returns it. */
export type Row = Record<string, unknown>;

export interface RunResult {
  changes: number;
}

/**
 * Something queries run on: the database (reads on a reader connection, each write its own queued
 * transaction) or an open transaction. Code that runs inside a transaction is handed the transaction
 * and must use it (not the database) for everything, so it reads its own writes.
 */
export interface Executor {
  all<T = Row>(query: Sql): Promise<T[]>;
  get<T = Row>(query: Sql): Promise<T | undefined>;
  run(query: Sql): Promise<RunResult>;
  /**
   * On the database: a new write transaction (on SQLite, queued behind the one in progress, so
   * transactions never see SQLITE_BUSY from each other). On a transaction: a savepoint inside it.
   * Throwing rolls back.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` once the outermost transaction commits (dropped if it, or the savepoint that registered
   * it, rolls back); on the database itself, at once. After-commit events (realtime, webhooks) go
   * through this so a write inside a batch never announces a change that is later rolled back.
   */
  afterCommit(fn: () => void): void;
  /**
   * Runs `fn` if the work registered here is rolled back: the outermost transaction, or the savepoint
   * that was open when it was registered. On the database itself (no transaction) it never runs.
   * Used to undo side effects outside the database (files written for a write that did not happen).
   */
  afterRollback(fn: () => void): void;
  /**
   * Runs `query` (a write whose result nobody needs) as part of the outermost transaction, at its commit: a
   * dialect may send it together with the COMMIT (PostgreSQL: one round trip for both). If it fails, nothing
   * commits and the transaction (and the write that opened it) fails with its error; dropped if the savepoint
   * that registered it rolls back. Statements run in the order they were registered, after every other
   * statement of the transaction, so nothing in the transaction can read what they write. They must be
   * independent INSERT/UPDATE/DELETE statements: PostgreSQL sends several as ONE statement (data-modifying WITH
   * clauses, one snapshot) with the COMMIT. On the database itself (no transaction) it runs at once. Webhook
   * capture uses it (its outbox rows are only read later), and so does a create whose only record hooks need
   * nothing before the commit (records/write.ts: its INSERT travels with the capture's).
   */
  runAtCommit(query: Sql): Promise<void>;
  /** Result columns of a query without running it: name, and the source table/column when the driver knows. */
  describeColumns(query: Sql): Promise<ColumnInfo[]>;
}

/** How a driver failure is classified, so callers can answer with the right 4xx/5xx. */
export interface DbErrorInfo {
  /** `bad_text`: text the database cannot store (PostgreSQL 22021/22P05: NUL, untranslatable characters). */
  kind: 'unique' | 'not_null' | 'foreign_key' | 'check' | 'busy' | 'too_big' | 'bad_text' | 'unavailable' | 'other';
  /** For unique violations: the table and columns (when the driver names them) or the index name. */
  table?: string;
  columns?: string[];
  index?: string;
}

export interface ColumnInfo {
  name: string;
  table: string | null;
  column: string | null;
  /** Declared type of the source column, if any (e.g. 'NUMERIC', 'TEXT'). */
  type: string | null;
}

export interface DialectCapabilities {
  /** `INSERT … RETURNING` works. */
  returning: boolean;
  /** DDL can run inside a transaction and roll back. */
  transactionalDdl: boolean;
  /** Several connections may write at once (false: Plinth queues writes on one connection). */
  multipleWriters: boolean;
}

/** Column kinds the DDL layer asks for; the dialect picks the real type and default. */
export type ColumnKind = 'text' | 'number' | 'bool' | 'json' | 'jsonArray' | 'primaryKey';

/**
 * SQL building blocks the rules compiler and DDL need, per dialect. Every argument is a fragment the
 * caller built safely; the result is a fragment.
 */
export interface DialectFunctions {
  /** JSON value at a path inside a JSON text/document column, as a scalar (NULL if absent). Path keys are bound. */
  jsonExtract(doc: SqlExpr, path: readonly (string | number)[]): Sql;
  /** A table expression yielding one row per element of a JSON array (column `value`), usable as `FROM <x> AS alias`.
   *  Non-array or invalid input yields one row holding the whole scalar, like PocketBase's json_each fallback. */
  jsonEach(doc: SqlExpr): Sql;
  /**
   * The JSON value at a path with its JSON type kept, for typed comparisons (`sqliteCompare`); on SQLite
   * the same as `jsonExtract`, whose result already carries the type.
   */
  jsonValue(doc: SqlExpr, path: readonly (string | number)[]): Sql;
  /** The last element of a JSON array as text ('' when empty/invalid): single-value conversion of a list. */
  jsonArrayLast(doc: SqlExpr): Sql;
  /** A one-element JSON array holding a scalar (list conversion of a single value). */
  jsonArrayOf(value: SqlExpr): Sql;
  /** Number of elements of a JSON array column (0 for empty/invalid). */
  jsonArrayLength(doc: SqlExpr): Sql;
  /** `a LIKE b ESCAPE '\'` with ASCII case-insensitivity on both dialects. */
  like(a: SqlExpr, pattern: SqlExpr, negate: boolean): Sql;
  /** SQLite-compatible strftime with NULL normalised to ''. */
  strftime(format: SqlExpr, value: SqlExpr | null, modifiers: readonly SqlExpr[]): Sql;
  /** Haversine distance in km between two lon/lat pairs. */
  geoDistance(lonA: SqlExpr, latA: SqlExpr, lonB: SqlExpr, latB: SqlExpr): Sql;
  /** ASCII lower-case. */
  lower(a: SqlExpr): Sql;
  /**
   * One ORDER BY term (or several): NULLs first ascending, as in SQLite. `json`: the value is a
   * `jsonValue`, ordered NULL < numbers (booleans as 1/0) < text and JSON text, as SQLite orders them.
   */
  orderBy(value: Sql, desc: boolean, kind?: 'json'): Sql;
  /** A random ordering expression. */
  random(): Sql;
  /** The physical row order key of a table alias (`_rowid_` in SQLite). */
  rowid(tableAlias: SqlExpr): Sql;
  /** Casts an expression to a number for numeric comparisons. */
  toNumber(a: SqlExpr): Sql;
  /** Casts to text. */
  toText(a: SqlExpr): Sql;
  /**
   * Where the database is strictly typed (PostgreSQL): compares two values of different kinds the way
   * SQLite does (NULL if either is NULL; numbers and booleans numerically; text bytewise; a number sorts
   * before any text), as -1/0/1. Each argument comes from `comparable`. Null where comparisons across
   * kinds already work (SQLite).
   */
  readonly sqliteCompare: ((a: Sql, b: Sql) => Sql) | null;
  /**
   * An operand's value in the form `sqliteCompare` takes, given its kind. `numericText`: a text column
   * compared with a number column, which SQLite reads as a number where it looks like one.
   */
  comparable(value: SqlExpr, kind: 'number' | 'bool' | 'text' | 'json' | 'numericText'): Sql;
}

export interface Dialect {
  readonly name: DialectName;
  readonly capabilities: DialectCapabilities;
  readonly fn: DialectFunctions;
  /** Fragment → text with placeholders and quoted identifiers, plus the parameter list. */
  compile(query: Sql): CompiledQuery;
  /** A column's type and default for `CREATE TABLE` / `ADD COLUMN`. */
  columnType(kind: ColumnKind): Sql;
  /**
   * An index column with a SQLite collation as PocketBase index strings write it: SQLite keeps
   * `COLLATE NOCASE|BINARY|RTRIM`; PostgreSQL indexes `LOWER(col)` / `col COLLATE "C"` / `RTRIM(col)`,
   * which enforce the same uniqueness.
   */
  indexColumn(column: SqlExpr, collate: 'NOCASE' | 'BINARY' | 'RTRIM' | undefined): Sql;
  /** Maps a driver error to a classification (never throws). */
  classifyError(err: unknown): DbErrorInfo;
  /**
   * Appended to a `SELECT` inside a transaction that decides a write on what it read (single-use
   * tokens): `FOR UPDATE` where writers run concurrently, so a second transaction waits and re-checks;
   * empty on SQLite, whose writes are already one at a time.
   */
  readonly forUpdate: Sql;
  /** Converts a JS value to what the driver binds (booleans, bigint …). */
  toDriverValue(value: SqlValue): unknown;
}

/**
 * Told about every statement after it ran (metrics/: query latency, the slow-query log): its text (placeholders,
 * never values) and how long it took in ms. While no observer is set, statements are not timed at all.
 */
export type StatementObserver = (text: string, ms: number) => void;

/** How busy the connections are (read when metrics are scraped). */
export interface ConnectionUsage {
  /** PostgreSQL: the pool's connections (open, idle) and the requests waiting for one. */
  pool?: { total: number; idle: number; waiting: number };
  /** SQLite: write transactions queued behind (and including) the one running. */
  writeQueue?: number;
}

/** The database handle the rest of Plinth uses. Reads go to a reader connection; writes are queued. */
export interface Database extends Executor {
  readonly dialect: Dialect;
  /** Set by the app when metrics or the slow-query log are on (metrics/); null = no timing. */
  observer: StatementObserver | null;
  /** Connection use right now (metrics). */
  usage(): ConnectionUsage;
  /** Drops cached prepared statements after DDL. */
  schemaChanged(): void;
  /** Table names in the main schema. */
  tableNames(): Promise<string[]>;
  /** Column names of a table, in order. */
  columnNames(table: string): Promise<string[]>;
  /**
   * The superuser SQL console (POST /api/sql): raw SQL text a superuser typed, the one place Plinth runs
   * SQL it did not write. Read-only unless `options.write`; bounded by a timeout and a row cap. See
   * db/console.ts and docs/sql-console.md.
   */
  runConsole(query: string, options: ConsoleOptions): Promise<ConsoleResult>;
  /**
   * Runs `fn` while holding a database-wide lock named by `key` (PostgreSQL: a session advisory lock on a
   * connection of its own, outside the pool), so nodes starting together set up the database one at a time.
   * Absent where there is one process per database (SQLite).
   */
  exclusive?<T>(key: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
