/**
 * What every dialect's open transaction shares: the closed guard, after-commit and after-rollback
 * bookkeeping, and nested transactions as savepoints. A dialect supplies only how a statement runs on
 * its connection (`all/get/run/describeColumns/execute`); its `Database.transaction` opens and ends the
 * outer transaction and calls `committed()` or `rolledBack()`.
 */
import type { ColumnInfo, Executor, Row, RunResult } from './dialect.js';
import { ident, sql, type Sql } from './sql.js';

export abstract class OpenTransaction<Conn> implements Executor {
  private savepointSeq = 0;
  private readonly onCommit: Array<() => void> = [];
  private readonly onRollback: Array<() => void> = [];
  private readonly atCommit: Sql[] = [];
  private closed = false;

  constructor(private readonly conn: Conn) {}

  abstract all<T = Row>(query: Sql): Promise<T[]>;
  abstract get<T = Row>(query: Sql): Promise<T | undefined>;
  abstract run(query: Sql): Promise<RunResult>;
  abstract describeColumns(query: Sql): Promise<ColumnInfo[]>;
  /** Runs a statement whose result is not needed (savepoint control). */
  protected abstract execute(conn: Conn, query: Sql): Promise<unknown> | unknown;

  /** The connection, unless the transaction ended: a handle kept past its end would write outside any transaction. */
  protected connection(): Conn {
    if (this.closed) throw new Error('transaction already finished');
    return this.conn;
  }

  afterCommit(fn: () => void): void {
    this.connection();
    this.onCommit.push(fn);
  }

  afterRollback(fn: () => void): void {
    this.connection();
    this.onRollback.push(fn);
  }

  async runAtCommit(query: Sql): Promise<void> {
    this.connection();
    this.atCommit.push(query);
  }

  /** The statements registered with runAtCommit, for the dialect to send with its COMMIT (emptied). */
  takeAtCommit(): Sql[] {
    return this.atCommit.splice(0);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const conn = this.connection();
    // Savepoint names come from a counter, never from input.
    const name = ident(`sp${++this.savepointSeq}`);
    await this.execute(conn, sql`SAVEPOINT ${name}`);
    const commits = this.onCommit.length;
    const undos = this.onRollback.length;
    const deferred = this.atCommit.length;
    try {
      const result = await fn(this);
      await this.execute(conn, sql`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      await this.execute(conn, sql`ROLLBACK TO SAVEPOINT ${name}`);
      await this.execute(conn, sql`RELEASE SAVEPOINT ${name}`);
      this.onCommit.length = commits; // what the rolled-back part announced never happened
      this.atCommit.length = deferred; // nor is what it deferred to the commit written
      for (const undo of this.onRollback.splice(undos)) quietly(undo);
      throw err;
    }
  }

  /** The outer transaction committed: announce what it registered. */
  committed(): void {
    this.closed = true;
    for (const cb of this.onCommit) cb();
  }

  /** The outer transaction rolled back: undo side effects outside the database. */
  rolledBack(): void {
    this.closed = true;
    for (const undo of this.onRollback) quietly(undo);
  }
}

/** An undo's failure must not replace the error that caused the rollback. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // the original error is what the caller needs to see
  }
}
