/** The SQLite driver's transaction semantics: queueing, savepoints, after-commit and after-rollback callbacks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '../../sql.js';
import { openSqlite } from './sqlite-database.js';

function withDb(fn: (db: ReturnType<typeof openSqlite>) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-sqlite-'));
    const db = openSqlite({ filename: join(dir, 'data.db') });
    try {
      await db.run(sql`CREATE TABLE t (v TEXT)`);
      await fn(db);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'a savepoint that fails undoes only its own writes and callbacks',
  withDb(async (db) => {
    const events: string[] = [];
    await db.transaction(async (tx) => {
      await tx.run(sql`INSERT INTO t VALUES ('outer')`);
      tx.afterCommit(() => events.push('commit:outer'));
      await assert.rejects(
        tx.transaction(async (sp) => {
          await sp.run(sql`INSERT INTO t VALUES ('inner')`);
          sp.afterCommit(() => events.push('commit:inner'));
          sp.afterRollback(() => events.push('undo:inner'));
          throw new Error('inner fails');
        }),
        /inner fails/,
      );
      assert.deepEqual(events, ['undo:inner'], 'the undo runs when the savepoint rolls back');
    });
    assert.deepEqual(events, ['undo:inner', 'commit:outer']);
    assert.deepEqual(
      (await db.all<{ v: string }>(sql`SELECT v FROM t`)).map((r) => r.v),
      ['outer'],
    );
  }),
);

test(
  'an outer rollback runs every undo and no commit callback; reads outside see nothing meanwhile',
  withDb(async (db) => {
    const events: string[] = [];
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run(sql`INSERT INTO t VALUES ('x')`);
        assert.equal((await tx.all(sql`SELECT v FROM t`)).length, 1, 'the transaction reads its own write');
        assert.equal((await db.all(sql`SELECT v FROM t`)).length, 0, 'other readers do not see it');
        tx.afterCommit(() => events.push('commit'));
        tx.afterRollback(() => events.push('undo'));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(events, ['undo']);
    assert.equal((await db.all(sql`SELECT v FROM t`)).length, 0);
  }),
);

test(
  'write transactions queue instead of failing with SQLITE_BUSY',
  withDb(async (db) => {
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction(async (tx) => {
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          await tx.run(sql`INSERT INTO t VALUES (${String(i)})`);
          order.push(i);
        }),
      ),
    );
    assert.deepEqual(
      order,
      Array.from({ length: 20 }, (_, i) => i),
      'in submission order',
    );
    assert.equal((await db.all(sql`SELECT v FROM t`)).length, 20);
  }),
);

test(
  'a transaction handle used after it ended refuses to run',
  withDb(async (db) => {
    let leaked: { run: (q: ReturnType<typeof sql>) => Promise<unknown> } | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await assert.rejects(leaked!.run(sql`INSERT INTO t VALUES ('late')`), /finished/);
  }),
);

test(
  'runAtCommit writes at the commit, in order, and is dropped with a rolled-back savepoint or transaction',
  withDb(async (db) => {
    const values = async () => (await db.all<{ v: string }>(sql`SELECT v FROM t ORDER BY rowid`)).map((r) => r.v);
    await db.transaction(async (tx) => {
      await tx.runAtCommit(sql`INSERT INTO t VALUES ('deferred 1')`);
      await tx.run(sql`INSERT INTO t VALUES ('now')`);
      await tx.runAtCommit(sql`INSERT INTO t VALUES ('deferred 2')`);
      await assert.rejects(
        tx.transaction(async (sp) => {
          await sp.runAtCommit(sql`INSERT INTO t VALUES ('dropped with its savepoint')`);
          throw new Error('inner');
        }),
        /inner/,
      );
      assert.deepEqual(
        (await tx.all<{ v: string }>(sql`SELECT v FROM t`)).map((r) => r.v),
        ['now'],
        'not written before the commit',
      );
    });
    assert.deepEqual(await values(), ['now', 'deferred 1', 'deferred 2']);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.runAtCommit(sql`INSERT INTO t VALUES ('never')`);
        throw new Error('abort');
      }),
      /abort/,
    );
    // A deferred statement that fails: nothing of the transaction commits, the error comes out of it.
    const events: string[] = [];
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run(sql`INSERT INTO t VALUES ('rolled back')`);
        tx.afterCommit(() => events.push('commit'));
        await tx.runAtCommit(sql`INSERT INTO no_such_table VALUES (1)`);
      }),
      /no such table/,
    );
    assert.deepEqual(events, []);
    assert.deepEqual(await values(), ['now', 'deferred 1', 'deferred 2']);
  }),
);
