/**
 * The PostgreSQL dialect and driver against a real local PostgreSQL: placeholders, column types, the
 * rules compiler's SQL functions, transactions with savepoints and callbacks, error classification.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ident, param, sql } from '../../sql.js';
import { createTempDatabase, type TempDatabase } from '../../../../test/helpers/postgres.js';
import { openPostgres, type PostgresDatabase } from './postgres-database.js';

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

  it('classifies an unreachable server as unavailable, quickly', async () => {
    const down = await openPostgres({ url: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 500 }).catch((e: unknown) => e);
    assert.equal(db.dialect.classifyError(down).kind, 'unavailable');
  });
});
