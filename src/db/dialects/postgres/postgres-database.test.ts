/**
 * The PostgreSQL dialect and driver against a real local PostgreSQL: placeholders, column types, the
 * rules compiler's SQL functions, transactions with savepoints and callbacks, error classification, and the
 * lazy BEGIN (sent in one round trip with a transaction's first statement).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ident, param, sql } from '../../sql.js';
import { createTempDatabase, type TempDatabase } from '../../../../test/helpers/postgres.js';
import { openPostgres, queryAfter, sendAround, type PostgresDatabase } from './postgres-database.js';

describe('postgres dialect', () => {
  let temp: TempDatabase;
  let db: PostgresDatabase;

  before(async () => {
    temp = await createTempDatabase();
    db = await openPostgres({ url: temp.url, poolSize: 4 });
    const d = db.dialect;
    await db.run(sql`CREATE TABLE posts (
      ${ident('id')} ${d.columnType('primaryKey')}, ${ident('title')} ${d.columnType('text')},
      ${ident('views')} ${d.columnType('number')}, ${ident('live')} ${d.columnType('bool')},
      ${ident('meta')} ${d.columnType('json')}, ${ident('tags')} ${d.columnType('jsonArray')})`);
    await db.run(sql`CREATE UNIQUE INDEX idx_title ON posts (title)`);
    await db.run(sql`INSERT INTO posts (id, title, views, live, meta, tags) VALUES
      (${'a'}, ${'Hello_World'}, ${3}, ${true}, ${JSON.stringify({ x: { y: 7 } })}, ${JSON.stringify(['red', 'blue'])}),
      (${'b'}, ${'second 100%'}, ${0}, ${false}, ${null}, ${'[]'})`);
  });
  after(async () => {
    await db?.close();
    await temp?.drop();
  });

  it('compiles $n placeholders and quoted identifiers', () => {
    const q = db.dialect.compile(sql`SELECT ${ident('t', 'c')} FROM x WHERE a = ${1} AND b = ${'two'}`);
    assert.equal(q.text, 'SELECT "t"."c" FROM x WHERE a = $1 AND b = $2::text');
    assert.deepEqual(q.params, [1, 'two']);
  });

  it('reads typed values back', async () => {
    const row = await db.get<{ views: number; live: boolean; tags: string }>(sql`SELECT views, live, tags FROM posts WHERE id = ${'a'}`);
    assert.deepEqual(row, { views: 3, live: true, tags: '["red","blue"]' });
  });

  it('implements the rules compiler functions', async () => {
    const fn = db.dialect.fn;
    const col = (c: string) => ident('p', c);
    const one = async (expr: ReturnType<typeof sql>) => (await db.get<{ v: unknown }>(sql`SELECT ${expr} AS v FROM posts AS p WHERE p.id = ${'a'}`))?.v;
    assert.equal(await one(fn.jsonExtract(col('meta'), ['x', 'y'])), '7');
    assert.equal(await one(fn.jsonArrayLength(col('tags'))), 2);
    assert.equal(await one(fn.jsonArrayLast(col('tags'))), 'blue');
    assert.equal(await one(fn.jsonArrayOf(param('z'))), '["z"]');
    const each = await db.all<{ value: string }>(sql`SELECT je.value FROM posts AS p, ${fn.jsonEach(col('tags'))} AS je WHERE p.id = ${'a'}`);
    assert.deepEqual(
      each.map((r) => r.value),
      ['red', 'blue'],
    );
    assert.equal(await one(sql`${fn.like(col('title'), param('%hello\\_w%'), false)}`), true);
    assert.equal(await one(sql`${fn.like(col('title'), param('%xyz%'), true)}`), true);
    assert.equal(await one(fn.strftime(param('%Y-%m'), param('2024-05-17 10:00:00.000Z'), [])), '2024-05');
    assert.equal(await one(fn.strftime(param('%Y-%m-%d'), param('2024-05-17 10:00:00.000Z'), [param('start of month'), param('+1 day')])), '2024-05-02');
    assert.equal(await one(fn.strftime(param('%Y'), param(''), [])), '');
    const km = Number(await one(fn.geoDistance(param(13.4), param(52.52), param(2.35), param(48.86))));
    assert.ok(Math.abs(km - 878) < 5, `Berlin–Paris ≈ 878 km, got ${km}`);
    assert.equal(await one(fn.toNumber(param('abc'))), 0);
    assert.equal(await one(fn.jsonExtract(param('not json'), ['a'])), null);
  });

  it('nests transactions as savepoints with commit and rollback callbacks', async () => {
    const events: string[] = [];
    await db.transaction(async (tx) => {
      await tx.run(sql`INSERT INTO posts (id, title) VALUES (${'c'}, ${'kept'})`);
      tx.afterCommit(() => events.push('commit'));
      await assert.rejects(
        tx.transaction(async (sp) => {
          await sp.run(sql`INSERT INTO posts (id, title) VALUES (${'d'}, ${'dropped'})`);
          sp.afterRollback(() => events.push('undo'));
          sp.afterCommit(() => events.push('never'));
          throw new Error('inner');
        }),
        /inner/,
      );
    });
    assert.deepEqual(events, ['undo', 'commit']);
    const ids = (await db.all<{ id: string }>(sql`SELECT id FROM posts ORDER BY id`)).map((r) => r.id);
    assert.deepEqual(ids, ['a', 'b', 'c']);
  });

  it('classifies unique violations with their columns', async () => {
    const err = await db.run(sql`INSERT INTO posts (id, title) VALUES (${'e'}, ${'kept'})`).catch((e: unknown) => e);
    const info = db.dialect.classifyError(err);
    assert.equal(info.kind, 'unique');
    assert.deepEqual(info.columns, ['title']);
    assert.equal(info.index, 'idx_title');
  });

  it('describes a query’s columns and their source', async () => {
    const cols = await db.describeColumns(sql`SELECT id, views AS v, COUNT(*) AS n FROM posts GROUP BY id, views`);
    assert.deepEqual(
      cols.map((c) => [c.name, c.table, c.column, c.type]),
      [
        ['id', 'posts', 'id', 'TEXT'],
        ['v', 'posts', 'views', 'NUMERIC'],
        ['n', null, null, 'NUMERIC'],
      ],
    );
  });

  describe('lazy BEGIN', () => {
    // One connection, so every statement below shares the driver's per-connection prepared-statement state.
    let one: PostgresDatabase;
    before(async () => {
      one = await openPostgres({ url: temp.url, poolSize: 1 });
      await one.run(sql`CREATE TABLE lazy (${ident('id')} TEXT PRIMARY KEY, ${ident('n')} INTEGER)`);
    });
    after(() => one?.close());
    const ids = async () => (await one.all<{ id: string }>(sql`SELECT id FROM lazy ORDER BY id`)).map((r) => r.id);

    it('runs no statement behind a head statement that failed (one Sync for both)', async () => {
      const client = await one.pool.connect();
      try {
        await assert.rejects(queryAfter(client, 'SELECT 1/0', sql`INSERT INTO lazy (id, n) VALUES (${'skipped'}, ${1})`), /division by zero/);
        assert.equal(client.getTransactionStatus(), 'I');
        const res = await queryAfter(client, 'SELECT 1', sql`SELECT ${'ok'} AS v`);
        assert.deepEqual(res.rows, [{ v: 'ok' }]); // the connection is fine, the head's result is not returned
      } finally {
        client.release();
      }
      assert.deepEqual(await ids(), []);
    });

    it('keeps the first statement inside the transaction: a rollback undoes it, a commit keeps it', async () => {
      await assert.rejects(
        one.transaction(async (tx) => {
          await tx.run(sql`INSERT INTO lazy (id, n) VALUES (${'rolled'}, ${1})`);
          assert.deepEqual(
            (await tx.all<{ id: string }>(sql`SELECT id FROM lazy`)).map((r) => r.id),
            ['rolled'],
          );
          throw new Error('abort');
        }),
        /abort/,
      );
      assert.deepEqual(await ids(), []);
      await one.transaction((tx) => tx.run(sql`INSERT INTO lazy (id, n) VALUES (${'kept'}, ${1})`));
      assert.deepEqual(await ids(), ['kept']);
      await one.run(sql`DELETE FROM lazy`);
    });

    it('keeps statements sent at the same time as the first one inside the transaction', async () => {
      await assert.rejects(
        one.transaction(async (tx) => {
          await Promise.all(['p1', 'p2', 'p3'].map((id) => tx.run(sql`INSERT INTO lazy (id, n) VALUES (${id}, ${2})`)));
          throw new Error('abort');
        }),
        /abort/,
      );
      assert.deepEqual(await ids(), []);
    });

    it('commits a transaction that ran no statement (callbacks fire) and rolls one back without error', async () => {
      const events: string[] = [];
      await one.transaction(async (tx) => {
        tx.afterCommit(() => events.push('commit'));
      });
      await assert.rejects(
        one.transaction(async (tx) => {
          tx.afterRollback(() => events.push('undo'));
          throw new Error('abort');
        }),
        /abort/,
      );
      assert.deepEqual(events, ['commit', 'undo']);
      // A savepoint as the very first statement opens the transaction too.
      await one.transaction((tx) => tx.transaction((sp) => sp.run(sql`INSERT INTO lazy (id, n) VALUES (${'sp'}, ${3})`)));
      assert.deepEqual(await ids(), ['sp']);
      await one.run(sql`DELETE FROM lazy`);
    });

    it('sends a statement with BEGIN and COMMIT in one round trip, and skips the COMMIT when it fails', async () => {
      const client = await one.pool.connect();
      try {
        const res = await sendAround(client, 'BEGIN', sql`INSERT INTO lazy (id, n) VALUES (${'around'}, ${5}) RETURNING n`, 'COMMIT');
        assert.deepEqual(res.rows, [{ n: 5 }]); // only the statement's own rows
        assert.equal(client.getTransactionStatus(), 'I', 'committed');
        await assert.rejects(sendAround(client, 'BEGIN', sql`INSERT INTO lazy (id, n) VALUES (${'around'}, ${6})`, 'COMMIT'), /duplicate key/);
        // The query rejects on the ErrorResponse; the ReadyForQuery carrying the status may be read a moment later
        // (a loaded machine splits them across reads), so wait for it rather than read the previous one.
        for (let i = 0; i < 200 && client.getTransactionStatus() === 'I'; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(client.getTransactionStatus(), 'E', 'COMMIT skipped: the failed transaction is still open');
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      assert.deepEqual(await ids(), ['around']);
      await one.run(sql`DELETE FROM lazy`);
    });

    it('runAtCommit writes at the commit, in order, and is dropped with a rolled-back savepoint or transaction', async () => {
      await one.transaction(async (tx) => {
        await tx.runAtCommit(sql`INSERT INTO lazy (id, n) VALUES (${'d1'}, ${1})`);
        await tx.run(sql`INSERT INTO lazy (id, n) VALUES (${'now'}, ${2})`);
        await tx.runAtCommit(sql`INSERT INTO lazy (id, n) VALUES (${'d2'}, ${3})`);
        await assert.rejects(
          tx.transaction(async (sp) => {
            await sp.runAtCommit(sql`INSERT INTO lazy (id, n) VALUES (${'dropped'}, ${4})`);
            throw new Error('inner');
          }),
          /inner/,
        );
        assert.deepEqual(
          (await tx.all<{ id: string }>(sql`SELECT id FROM lazy`)).map((r) => r.id),
          ['now'],
          'not written before the commit',
        );
      });
      assert.deepEqual(await ids(), ['d1', 'd2', 'now']);
      // Only a deferred statement: BEGIN, it and COMMIT in one round trip.
      await one.transaction((tx) => tx.runAtCommit(sql`INSERT INTO lazy (id, n) VALUES (${'only'}, ${5})`));
      assert.deepEqual(await ids(), ['d1', 'd2', 'now', 'only']);
      // A deferred statement that fails: nothing of the transaction commits, the error comes out of it.
      const events: string[] = [];
      await assert.rejects(
        one.transaction(async (tx) => {
          await tx.run(sql`INSERT INTO lazy (id, n) VALUES (${'rolled'}, ${6})`);
          tx.afterCommit(() => events.push('commit'));
          await tx.runAtCommit(sql`INSERT INTO lazy (id, n) VALUES (${'now'}, ${7})`);
        }),
        /duplicate key/,
      );
      assert.deepEqual(events, []);
      assert.deepEqual(await ids(), ['d1', 'd2', 'now', 'only']);
      await one.run(sql`DELETE FROM lazy`);
    });

    it("keeps the connection's prepared statements right when a first statement fails to parse or to run", async () => {
      // Fails at Parse (no such table yet): the name must not be taken as prepared, so the next use parses it.
      const missing = () => one.transaction((tx) => tx.all(sql`SELECT ${ident('id')} FROM ${ident('lazy_later')} WHERE ${ident('id')} = ${'x'}`));
      await assert.rejects(missing(), /does not exist/);
      await one.run(sql`CREATE TABLE lazy_later (${ident('id')} TEXT PRIMARY KEY)`);
      assert.deepEqual(await missing(), []);
      // Parses, then fails to run (duplicate key): the name IS prepared, so the next use must not parse it again.
      const insert = (id: string) => one.transaction((tx) => tx.run(sql`INSERT INTO lazy (id, n) VALUES (${id}, ${4})`));
      await insert('dup');
      await assert.rejects(insert('dup'), (err: unknown) => one.dialect.classifyError(err).kind === 'unique');
      await insert('dup2');
      await one.run(sql`INSERT INTO lazy (id, n) VALUES (${'dup3'}, ${4})`); // the same text outside a transaction
      assert.deepEqual(await ids(), ['dup', 'dup2', 'dup3']);
    });
  });

  it('classifies an unreachable server as unavailable, quickly', async () => {
    const down = await openPostgres({ url: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 500 }).catch((e: unknown) => e);
    assert.equal(db.dialect.classifyError(down).kind, 'unavailable');
  });
});
