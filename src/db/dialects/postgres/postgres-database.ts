/**
 * The PostgreSQL driver (node-postgres): a connection pool of configurable size. Reads and single writes
 * take any pooled connection; a transaction holds one connection for its duration, nested transactions
 * are savepoints. When the server is unreachable, queries fail fast with an `unavailable` classification
 * (answered as 503) and the pool reconnects by itself.
 */
import pg from 'pg';
import type { ColumnInfo, Database, Executor, Row, RunResult } from '../../dialect.js';
import { sql, type Sql } from '../../sql.js';
import { OpenTransaction } from '../../transaction.js';
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

async function runQuery(conn: Queryable, query: Sql): Promise<pg.QueryResult> {
  const { text, params } = postgresDialect.compile(query);
  const name = statementName(text);
  try {
    return await conn.query({ text, values: params as unknown[], ...(name ? { name } : {}) });
  } catch (err) {
    if (!name || (err as { code?: string }).code !== '0A000') throw err;
    statementNames.delete(text);
    return conn.query({ text, values: params as unknown[] });
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

/** A transaction holding one pooled connection (savepoints and callbacks: db/transaction.ts). */
class PostgresTransaction extends OpenTransaction<pg.PoolClient> {
  async all<T = Row>(query: Sql): Promise<T[]> {
    return (await runQuery(this.connection(), query)).rows as T[];
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return (await runQuery(this.connection(), query)).rows[0] as T | undefined;
  }
  async run(query: Sql): Promise<RunResult> {
    return { changes: (await runQuery(this.connection(), query)).rowCount ?? 0 };
  }
  describeColumns(query: Sql): Promise<ColumnInfo[]> {
    return describe(this.connection(), query);
  }
  protected execute(conn: pg.PoolClient, query: Sql): Promise<pg.QueryResult> {
    return runQuery(conn, query);
  }
}

export class PostgresDatabase implements Database {
  readonly dialect = postgresDialect;
  readonly pool: pg.Pool;

  constructor(options: PostgresOptions) {
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

  async all<T = Row>(query: Sql): Promise<T[]> {
    return (await runQuery(this.pool, query)).rows as T[];
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return (await runQuery(this.pool, query)).rows[0] as T | undefined;
  }
  async run(query: Sql): Promise<RunResult> {
    return { changes: (await runQuery(this.pool, query)).rowCount ?? 0 };
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
    const tx = new PostgresTransaction(client);
    let broken = false;
    try {
      await runQuery(client, sql`BEGIN`);
      const result = await fn(tx);
      await runQuery(client, sql`COMMIT`);
      tx.committed();
      return result;
    } catch (err) {
      try {
        await runQuery(client, sql`ROLLBACK`);
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
    const rows = await this.all<{ name: string }>(
      sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`,
    );
    return rows.map((r) => r.name);
  }

  async columnNames(table: string): Promise<string[]> {
    const rows = await this.all<{ name: string }>(
      sql`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`,
    );
    return rows.map((r) => r.name);
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
