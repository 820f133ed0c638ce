/**
 * The PostgreSQL driver (node-postgres): a connection pool of configurable size. Reads and single writes
 * take any pooled connection; a transaction holds one connection for its duration, nested transactions
 * are savepoints. When the server is unreachable, queries fail fast with an `unavailable` classification
 * (answered as 503) and the pool reconnects by itself.
 */
import pg from 'pg';
import type { ColumnInfo, ConnectionUsage, Database, Executor, Row, RunResult, StatementObserver } from '../../dialect.js';
import { ConsoleTimeout, consoleText, isPossibleWrite, leadingKeyword, splitStatements, type ConsoleOptions, type ConsoleResult } from '../../console.js';
import { sql, type Sql } from '../../sql.js';
import { OpenTransaction } from '../../transaction.js';
import { tracer } from '../../../tracing/index.js';
import { postgresDialect } from './postgres-dialect.js';
import { HELPER_FUNCTIONS, INSTALL_LOCK } from './postgres-functions.js';

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Pool size (default 10). */
  poolSize?: number;
  /** How long a request may wait for a pooled connection before failing (ms, default 5000). */
  connectTimeoutMs?: number;
  /** Per-statement timeout (ms, default 30000). */
  statementTimeoutMs?: number;
}

/**
 * Row values as JS numbers, the way better-sqlite3 gives them: COUNT(*) and other bigint results
 * (int8) and NUMERIC would otherwise arrive as strings. Plinth stores no integer beyond 2^53.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * Named (prepared) statements: PostgreSQL parses and plans a statement once per connection instead of on
 * every request. Plinth's statement texts depend only on a query's shape (values are always parameters),
 * so a few hundred names cover an app; past the cap, new texts run unnamed. After a schema change a
 * prepared `SELECT *` may no longer match its table (SQLSTATE 0A000): that text is forgotten and the
 * query re-run unnamed, and the next use prepares it afresh under a new name.
 */
const MAX_NAMED_STATEMENTS = 500;
const statementNames = new Map<string, string>();
let statementSeq = 0;

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `plinth_${++statementSeq}`;
    statementNames.set(text, name);
  }
  return name;
}

/** Runs a statement; timed (from the call to the result, pool wait included) while `owner.observer` is set. */
function runQuery(conn: Queryable, query: Sql, owner: { observer: StatementObserver | null }): Promise<pg.QueryResult> {
  const { text, params } = postgresDialect.compile(query);
  if (tracer) return tracer.sql('postgresql', text, () => sendQuery(conn, text, params, owner));
  return sendQuery(conn, text, params, owner);
}

async function sendQuery(conn: Queryable, text: string, params: readonly unknown[], owner: { observer: StatementObserver | null }): Promise<pg.QueryResult> {
  const name = statementName(text);
  const observer = owner.observer;
  const started = observer === null ? 0 : performance.now();
  try {
    return await conn.query({ text, values: params as unknown[], ...(name ? { name } : {}) });
  } catch (err) {
    if (!name || (err as { code?: string }).code !== '0A000') throw err;
    statementNames.delete(text);
    return await conn.query({ text, values: params as unknown[] });
  } finally {
    if (observer !== null) observer(text, performance.now() - started);
  }
}

async function describe(conn: Queryable, query: Sql): Promise<ColumnInfo[]> {
  const { text, params } = postgresDialect.compile(query);
  // LIMIT 0 over the query: the result's field list without reading rows.
  const res = await conn.query({ text: `SELECT * FROM (${text}) AS _q LIMIT 0`, values: params as unknown[] });
  const out: ColumnInfo[] = [];
  for (const f of res.fields) {
    let table: string | null = null;
    let column: string | null = null;
    if (f.tableID) {
      const src = await conn.query({
        text: 'SELECT c.relname AS t, a.attname AS c FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.oid = $1 AND a.attnum = $2',
        values: [f.tableID, f.columnID],
      });
      table = (src.rows[0]?.t as string | undefined) ?? null;
      column = (src.rows[0]?.c as string | undefined) ?? null;
    }
    const type = [20, 21, 23, 700, 701, 1700].includes(f.dataTypeID) ? 'NUMERIC' : f.dataTypeID === 16 ? 'BOOLEAN' : 'TEXT';
    out.push({ name: f.name, table, column, type });
  }
  return out;
}

/** Statements that would end or split the console's transaction. */
const TX_CONTROL = new Set(['BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE', 'PREPARE', 'DISCARD']);

/** Every value as the text PostgreSQL sent. */
const RAW_TEXT = { getTypeParser: (() => (value: string) => value) as unknown as typeof pg.types.getTypeParser };

/** Column types by name (upper case, as database/sql reports them) and NOT NULL from the source column. */
async function consoleColumns(client: pg.PoolClient, fields: pg.FieldDef[]): Promise<ConsoleResult['columns']> {
  const oids = [...new Set(fields.map((f) => f.dataTypeID))];
  const types = await client.query<{ oid: number; name: string }>({
    text: 'SELECT oid::int AS oid, upper(typname) AS name FROM pg_type WHERE oid = ANY($1::oid[])',
    values: [oids],
  });
  const typeName = new Map(types.rows.map((r) => [r.oid, r.name]));
  const out: ConsoleResult['columns'] = [];
  for (const f of fields) {
    let nullable = true;
    if (f.tableID) {
      const a = await client.query<{ n: boolean }>({
        text: 'SELECT attnotnull AS n FROM pg_attribute WHERE attrelid = $1 AND attnum = $2',
        values: [f.tableID, f.columnID],
      });
      nullable = !a.rows[0]?.n;
    }
    out.push({ name: f.name, type: typeName.get(f.dataTypeID) ?? '', nullable });
  }
  return out;
}

/** A transaction holding one pooled connection (savepoints and callbacks: db/transaction.ts). */
class PostgresTransaction extends OpenTransaction<pg.PoolClient> {
  constructor(
    client: pg.PoolClient,
    private readonly owner: { observer: StatementObserver | null },
  ) {
    super(client);
  }
  async all<T = Row>(query: Sql): Promise<T[]> {
    return (await runQuery(this.connection(), query, this.owner)).rows as T[];
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return (await runQuery(this.connection(), query, this.owner)).rows[0] as T | undefined;
  }
  async run(query: Sql): Promise<RunResult> {
    return { changes: (await runQuery(this.connection(), query, this.owner)).rowCount ?? 0 };
  }
  describeColumns(query: Sql): Promise<ColumnInfo[]> {
    return describe(this.connection(), query);
  }
  protected execute(conn: pg.PoolClient, query: Sql): Promise<pg.QueryResult> {
    return runQuery(conn, query, this.owner);
  }
}

export class PostgresDatabase implements Database {
  readonly dialect = postgresDialect;
  readonly pool: pg.Pool;
  private readonly url: string;
  private readonly connectTimeoutMs: number;
  observer: StatementObserver | null = null;

  constructor(options: PostgresOptions) {
    this.url = options.url;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      idleTimeoutMillis: 30_000,
      types: TYPES,
    });
    // An idle client losing its connection (server restart) must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
  }

  /** Installs the helper functions; call once after construction. */
  async init(): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.run(INSTALL_LOCK);
      for (const f of HELPER_FUNCTIONS) await tx.run(f);
    });
  }

  async exclusive<T>(key: number, fn: () => Promise<T>): Promise<T> {
    // Not a pooled connection: holding one of those would starve a pool of size 1. Ending the session
    // releases the lock, whatever happens to fn.
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.connectTimeoutMs });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
      return await fn();
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async all<T = Row>(query: Sql): Promise<T[]> {
    return (await runQuery(this.pool, query, this)).rows as T[];
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return (await runQuery(this.pool, query, this)).rows[0] as T | undefined;
  }
  async run(query: Sql): Promise<RunResult> {
    return { changes: (await runQuery(this.pool, query, this)).rowCount ?? 0 };
  }
  usage(): ConnectionUsage {
    return { pool: { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount } };
  }
  describeColumns(query: Sql): Promise<ColumnInfo[]> {
    return describe(this.pool, query);
  }
  afterCommit(fn: () => void): void {
    fn();
  }
  afterRollback(): void {
    // outside a transaction there is nothing to roll back
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx = new PostgresTransaction(client, this);
    let broken = false;
    try {
      await runQuery(client, sql`BEGIN`, this);
      const result = await fn(tx);
      await runQuery(client, sql`COMMIT`, this);
      tx.committed();
      return result;
    } catch (err) {
      try {
        await runQuery(client, sql`ROLLBACK`, this);
      } catch {
        broken = true; // the connection itself failed: do not return it to the pool
      }
      tx.rolledBack();
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async tableNames(): Promise<string[]> {
    const rows = await this.all<{ name: string }>(sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`);
    return rows.map((r) => r.name);
  }

  async columnNames(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>(
      sql`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`,
    );
    return rows.map((r) => r.name);
  }

  /**
   * The SQL console: one pooled connection, one transaction (READ ONLY unless `write` is allowed and
   * PocketBase's prefix check says the query may write) with `SET LOCAL statement_timeout`. The
   * statements run one by one; transaction control (COMMIT, ROLLBACK, …) is refused so nothing can leave
   * that transaction, and a read-only transaction takes its snapshot first so it cannot be switched to
   * read-write. Row-returning SELECT/VALUES/TABLE statements are read through a cursor, at most
   * `maxRows` rows. Values come back as PostgreSQL's text, as PocketBase returns text.
   */
  async runConsole(query: string, options: ConsoleOptions): Promise<ConsoleResult> {
    const started = performance.now();
    const statements = splitStatements(query, 'postgres');
    if (statements.length === 0) throw new Error('empty query');
    for (const s of statements) {
      if (TX_CONTROL.has(leadingKeyword(s))) {
        throw Object.assign(new Error(`${leadingKeyword(s)} is not allowed in the SQL console: each request runs in a transaction of its own`), {
          code: '42601',
        });
      }
    }
    const write = options.write && isPossibleWrite(query);
    const client = await this.pool.connect();
    let broken = false;
    const result: ConsoleResult = { execTime: 0, affectedRows: 0, columns: [], rows: [] };
    try {
      await client.query(write ? 'BEGIN' : 'BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
      if (!write) await client.query('SELECT 1');
      for (const text of statements) {
        const keyword = leadingKeyword(text);
        let res: pg.QueryResult<unknown[]>;
        if (!write && (keyword === 'SELECT' || keyword === 'VALUES' || keyword === 'TABLE')) {
          await client.query({ text: `DECLARE plinth_console NO SCROLL CURSOR FOR ${text}` });
          res = await client.query({ text: `FETCH ${options.maxRows} FROM plinth_console`, rowMode: 'array', types: RAW_TEXT });
          await client.query('CLOSE plinth_console');
        } else {
          res = await client.query({ text, rowMode: 'array', types: RAW_TEXT });
        }
        if (res.fields.length === 0) {
          result.affectedRows += res.rowCount ?? 0;
          continue;
        }
        if (write) continue; // PocketBase answers a write with its affected rows only
        result.columns = await consoleColumns(client, res.fields);
        result.rows = res.rows.slice(0, options.maxRows).map((r) => r.map(consoleText));
      }
      await client.query(write ? 'COMMIT' : 'ROLLBACK');
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      if ((err as { code?: string }).code === '57014') throw new ConsoleTimeout(options.timeoutMs);
      throw err;
    } finally {
      client.release(broken);
    }
    result.execTime = Math.round(performance.now() - started);
    return result;
  }

  schemaChanged(): void {
    // node-postgres does not cache prepared statements by default: nothing to drop
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Opens a pool and installs the helper functions. */
export async function openPostgres(options: PostgresOptions): Promise<PostgresDatabase> {
  const db = new PostgresDatabase(options);
  await db.init();
  return db;
}
