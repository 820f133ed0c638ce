/** SqlTemplate: a statement compiled once per dialect and bound per run must read exactly like the plain fragment. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresDialect } from './dialects/postgres/postgres-dialect.js';
import { openSqlite } from './dialects/sqlite/sqlite-database.js';
import { sqliteDialect } from './dialects/sqlite/sqlite-dialect.js';
import { ident, slot, sql, SqlTemplate } from './sql.js';

test('a bound template compiles to the same text and values as the equivalent fragment, on both dialects', () => {
  const template = new SqlTemplate(sql`SELECT * FROM ${ident('posts')} WHERE ${ident('id')} = ${slot(0, '')} AND n > ${5} AND b = ${slot(1, true)}`);
  for (const dialect of [sqliteDialect, postgresDialect]) {
    for (const [id, flag] of [
      ['abc', true],
      ['x"; DROP TABLE posts; --', false],
    ] as const) {
      const plain = dialect.compile(sql`SELECT * FROM ${ident('posts')} WHERE ${ident('id')} = ${id} AND n > ${5} AND b = ${flag}`);
      assert.deepEqual(dialect.compile(template.bind(id, flag)), plain, dialect.name);
    }
  }
  assert.equal(postgresDialect.compile(template.bind('a', true)).text, 'SELECT * FROM "posts" WHERE "id" = $1::text AND n > $2 AND b = $3');
});

test('the compiled text is reused: binding again builds no new text', () => {
  const template = new SqlTemplate(sql`SELECT 1 WHERE ${slot(0, '')} = ${slot(0, '')}`);
  const first = sqliteDialect.compile(template.bind('a'));
  const second = sqliteDialect.compile(template.bind('b'));
  assert.equal(first.text, second.text);
  assert.equal(template.compiled.size, 1);
  assert.deepEqual(second.params, ['b', 'b'], 'a slot may appear twice');
});

test('a bound template nested in another fragment carries its values as ordinary parameters', () => {
  const template = new SqlTemplate(sql`id = ${slot(0, '')}`);
  const outer = sql`SELECT * FROM t WHERE ${template.bind('z')} AND v = ${2}`;
  assert.deepEqual(sqliteDialect.compile(outer), { text: 'SELECT * FROM t WHERE id = ? AND v = ?', params: ['z', 2] });
});

test('a slot without a value, or outside a template, is refused rather than sent as NULL', () => {
  const template = new SqlTemplate(sql`SELECT ${slot(0, '')}, ${slot(1, '')}`);
  assert.throws(() => sqliteDialect.compile(template.bind('only one')), /slot 1 has no value/);
  assert.throws(() => sqliteDialect.compile(sql`SELECT ${slot(0, '')}`), /slot used outside/);
});

test('a bound template runs on SQLite and finds the row the plain query finds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-sql-template-'));
  const db = openSqlite({ filename: join(dir, 'data.db') });
  try {
    await db.run(sql`CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)`);
    await db.run(sql`INSERT INTO t VALUES (${'a'}, ${1}), (${'b'}, ${2})`);
    const byId = new SqlTemplate(sql`SELECT v FROM t WHERE id = ${slot(0, '')} LIMIT 1`);
    assert.deepEqual(await db.get(byId.bind('b')), { v: 2 });
    assert.deepEqual(await db.get(byId.bind('a')), { v: 1 });
    assert.equal(await db.get(byId.bind("a' OR '1'='1")), undefined);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
