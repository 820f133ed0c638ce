/**
 * The PostgreSQL driver (node-postgres): a connection pool of configurable size. Reads and single writes
 * take any pooled connection; a transaction holds one connection for its duration, nested transactions
 * are savepoints. When the server is unreachable, queries fail fast with an `unavailable` classification
 * (answered as 503) and the pool reconnects by itself.
 */
import pg from 'pg';
import type { ColumnInfo, ConnectionUsage, Database, Executor, Row, RunResult, StatementObserver } from '../../dialect.js';
import { ConsoleTimeout, consoleText, isPossibleWrite, leadingKeyword, splitStatements, type ConsoleOptions, type ConsoleResult } from '../../console.js';
import { ident, join, sql, type Sql } from '../../sql.js';
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

/**
 * A statement sent with parameterless statements around it in ONE round trip: an optional `head` (BEGIN)
 * before and an optional `tail` (COMMIT) after, each as Parse/Bind/Execute, the statement's own Parse (first
 * use on the connection)/Bind/Describe/Execute between them, and a single Sync at the end. Because there is
 * only one Sync, an error skips everything after it up to the Sync: a failing BEGIN means the statement does
 * not run (so it can never run outside the transaction BEGIN failed to open — which node-postgres' pipeline
 * mode, one Sync per query, would not guarantee), and a failing statement means COMMIT does not run.
 *
 * It extends node-postgres' own Query (so results, type parsers and named statements behave exactly as for
 * any query) and overrides: `submit` writes the head's messages first; `_getRows` (which writes Execute and
 * Sync) puts the tail's messages before the Sync; and only the statement's own CommandComplete and rows count
 * as its result. One bookkeeping detail: the client marks the statement's name as parsed on the FIRST
 * ParseComplete it sees, which is the head's; when the statement had not been parsed on this connection
 * before, that mark is undone when the head completes (the statement's own ParseComplete sets it again) and on
 * an error before that point, so a failed Parse is retried next time. Pinned by postgres-database.test.ts
 * ("lazy BEGIN").
 */
interface WireConnection {
  parse(msg: { text: string }): void;
  bind(msg: Record<string, never>): void;
  execute(msg: { portal?: string; rows?: number }): void;
  sync(): void;
  flush(): void;
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
  stream: { cork?: () => void; uncork?: () => void };
}
interface QueryInternals {
  name?: string;
  text: string;
  portal: string;
  hasBeenParsed(connection: WireConnection): boolean;
  handleCommandComplete(msg: unknown, connection: WireConnection): void;
  handleDataRow(msg: unknown): void;
  handleError(err: unknown, connection: WireConnection): void;
  submit(connection: WireConnection): Error | null;
}
const BaseQuery = pg.Query as unknown as new (config: pg.QueryConfig, callback: (err: Error | undefined, res: pg.QueryResult) => void) => QueryInternals;

/** Parse/Bind/Execute of a constant statement on the unnamed statement and portal (no Describe, no Sync). */
function writeConstant(connection: WireConnection, text: string): void {
  connection.parse({ text });
  connection.bind({});
  connection.execute({});
}

class SurroundedQuery extends BaseQuery {
  /** Where the answers are: before the head completed, at the statement, or past it (the tail's). */
  private phase: 'head' | 'main' | 'tail';
  private parsedBefore = true;

  constructor(
    private readonly head: string | null,
    private readonly tail: string | null,
    config: pg.QueryConfig,
    callback: (err: Error | undefined, res: pg.QueryResult) => void,
  ) {
    super(config, callback);
    this.phase = head ? 'head' : 'main';
  }

  override submit(connection: WireConnection): Error | null {
    this.parsedBefore = !this.name || this.hasBeenParsed(connection);
    connection.stream.cork?.();
    try {
      if (this.head) writeConstant(connection, this.head);
      return super.submit(connection); // queryMode 'extended': Parse?/Bind/Describe, then _getRows below
    } finally {
      connection.stream.uncork?.();
    }
  }

  /** node-postgres writes Execute and Sync here; the tail goes between them. */
  _getRows(connection: WireConnection, rows?: number): void {
    connection.execute({ portal: this.portal, rows });
    if (this.tail) writeConstant(connection, this.tail);
    connection.sync();
  }

  override handleCommandComplete(msg: unknown, connection: WireConnection): void {
    if (this.phase === 'main') {
      this.phase = 'tail';
      return super.handleCommandComplete(msg, connection);
    }
    if (this.phase === 'head') {
      this.phase = 'main';
      this.forgetEarlyParseMark(connection, true);
    }
  }

  override handleDataRow(msg: unknown): void {
    if (this.phase === 'main') super.handleDataRow(msg); // rows of a head or tail (not BEGIN/COMMIT) are not ours
  }

  override handleError(err: unknown, connection: WireConnection): void {
    if (this.phase === 'head') this.forgetEarlyParseMark(connection, false);
    super.handleError(err, connection);
  }

  /** Undoes the "parsed" mark the head's ParseComplete put on this statement's name (see above). */
  private forgetEarlyParseMark(connection: WireConnection, ownParseComing: boolean): void {
    if (this.parsedBefore || !this.name) return;
    delete connection.parsedStatements[this.name];
    if (ownParseComing) connection.submittedNamedStatements[this.name] = this.text;
  }
}

/**
 * `query` between `head` and `tail` (constant statements without parameters, either may be null) in one round
 * trip; if `head` fails, `query` does not run, and if `query` fails, `tail` does not. Exported for the
 * driver's tests; transactions use it with BEGIN (their first statement) and COMMIT (runAtCommit).
 */
export function sendAround(
  client: pg.ClientBase,
  head: string | null,
  query: Sql,
  tail: string | null,
  owner: { observer: StatementObserver | null } = UNOBSERVED,
): Promise<pg.QueryResult> {
  const { text, params } = postgresDialect.compile(query);
  const name = statementName(text);
  const send = () =>
    new Promise<pg.QueryResult>((resolve, reject) => {
      const config = { text, values: params as unknown[], queryMode: 'extended', ...(name ? { name } : {}) } as pg.QueryConfig;
      client.query(new SurroundedQuery(head, tail, config, (err, res) => (err ? reject(err) : resolve(res))) as unknown as pg.Submittable);
    });
  // Timed for the metrics observer and traced like runQuery's statements (the head/tail ride along unnamed).
  const observed = async () => {
    const observer = owner.observer;
    if (observer === null) return send();
    const started = performance.now();
    try {
      return await send();
    } finally {
      observer(text, performance.now() - started);
    }
  };
  return tracer ? tracer.sql('postgresql', text, observed) : observed();
}

const UNOBSERVED: { observer: StatementObserver | null } = { observer: null };

/** `query` behind `head` in one round trip (see sendAround). */
export function queryAfter(
  client: pg.ClientBase,
  head: string,
  query: Sql,
  owner: { observer: StatementObserver | null } = UNOBSERVED,
): Promise<pg.QueryResult> {
  return sendAround(client, head, query, null, owner);
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

/**
 * Deferred writes as one statement: `WITH "_w1" AS (first), … last`. PostgreSQL runs every data-modifying WITH
 * clause to completion on the same snapshot, so they must not depend on each other's effects (runAtCommit's
 * contract: independent INSERT/UPDATE/DELETE statements).
 */
function oneStatement(statements: readonly Sql[]): Sql {
  const head = statements.slice(0, -1).map((q, i) => sql`${ident(`_w${i + 1}`)} AS (${q})`);
  return sql`WITH ${join(head)} ${statements[statements.length - 1] as Sql}`;
}

/**
 * A transaction holding one pooled connection (savepoints and callbacks: db/transaction.ts).
 *
 * BEGIN is lazy: it is sent together with the transaction's first statement (`queryAfter`), so a transaction
 * of N statements costs N + 1 round trips (the COMMIT) instead of N + 2; one that runs no statement costs
 * none. Statements issued while that first one is still on its way wait for it (the connection would queue
 * them anyway), so that if the BEGIN did not take, none of them runs outside the transaction.
 */
class PostgresTransaction extends OpenTransaction<pg.PoolClient> {
  constructor(
    client: pg.PoolClient,
    private readonly owner: { observer: StatementObserver | null },
  ) {
    super(client);
  }
  /** Settles once the first statement (with its BEGIN) has been answered; null until one was sent. */
  private opening: Promise<void> | null = null;
  /** Set when the first statement's answer shows no open transaction (its BEGIN failed). */
  private notOpen: Error | null = null;

  /** Whether BEGIN went out, i.e. whether COMMIT or ROLLBACK has anything to end. */
  get begun(): boolean {
    return this.opening !== null;
  }

  private async send(query: Sql): Promise<pg.QueryResult> {
    const client = this.connection();
    if (!this.opening) {
      const first = queryAfter(client, 'BEGIN', query, this.owner);
      const check = () => {
        // ReadyForQuery's status after the first statement: 'T' (open) or 'E' (open, failed); 'I' = no transaction.
        if (client.getTransactionStatus?.() === 'I') this.notOpen = new Error('the transaction could not be started');
      };
      this.opening = first.then(check, check);
      return first;
    }
    await this.opening;
    if (this.notOpen) throw this.notOpen;
    return runQuery(client, query, this.owner);
  }

  /** `query` then COMMIT in one round trip (with BEGIN before it when no statement ran yet); COMMIT is skipped if it fails. */
  async commitWith(query: Sql): Promise<void> {
    const client = this.connection();
    if (!this.opening) {
      this.opening = Promise.resolve();
      await sendAround(client, 'BEGIN', query, 'COMMIT', this.owner);
      return;
    }
    await this.opening;
    if (this.notOpen) throw this.notOpen;
    await sendAround(client, null, query, 'COMMIT', this.owner);
  }

  /** Sends BEGIN by itself if no statement has yet (describeColumns, which runs its own queries). */
  private async ensureBegun(): Promise<pg.PoolClient> {
    const client = this.connection();
    if (!this.opening) await this.send(sql`SELECT 1`);
    else await this.opening;
    if (this.notOpen) throw this.notOpen;
    return client;
  }

  async all<T = Row>(query: Sql): Promise<T[]> {
    return (await this.send(query)).rows as T[];
  }
  async get<T = Row>(query: Sql): Promise<T | undefined> {
    return (await this.send(query)).rows[0] as T | undefined;
  }
  async run(query: Sql): Promise<RunResult> {
    return { changes: (await this.send(query)).rowCount ?? 0 };
  }
  async describeColumns(query: Sql): Promise<ColumnInfo[]> {
    return describe(await this.ensureBegun(), query);
  }
  protected execute(_conn: pg.PoolClient, query: Sql): Promise<pg.QueryResult> {
    return this.send(query);
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
  async runAtCommit(query: Sql): Promise<void> {
    await this.run(query);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx = new PostgresTransaction(client, this);
    let broken = false;
    try {
      const result = await fn(tx);
      const deferred = tx.takeAtCommit();
      // Several deferred writes (a record's INSERT and its webhook outbox row) become one statement, their
      // WITH clauses data-modifying: all or none, and no round trip of their own.
      const last = deferred.length > 1 ? oneStatement(deferred) : deferred.pop();
      // The last deferred statement goes with the COMMIT (and the BEGIN, if nothing ran before): one round trip.
      if (last) await tx.commitWith(last);
      // COMMIT and ROLLBACK as simple-protocol queries: one message each way instead of four.
      else if (tx.begun) await client.query('COMMIT');
      tx.committed();
      return result;
    } catch (err) {
      try {
        if (tx.begun) await client.query('ROLLBACK');
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
