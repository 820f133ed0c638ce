import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { sql } from '../db/sql.js';
import { compileFilter } from './compile.js';
import { authAs, compiled, options, posts } from './fixtures.test-util.js';
import { guestRequest } from './request-info.js';
import { createAliasGenerator } from './scope.js';

const EACH_TAGS = `json_each(CASE WHEN json_valid("_r"."tags") AND json_type("_r"."tags") = 'array' THEN "_r"."tags" ELSE json_array("_r"."tags") END)`;

/** Golden SQLite text and params for representative filters (the exact shape callers embed). */
const GOLDEN: Array<{ filter: string; text: string; params: unknown[]; opts?: Parameters<typeof options>[0] }> = [
  {
    filter: `title = 'x'`,
    text: `("_r"."title" = ? OR (? AND "_r"."title" = ''))`, // root columns are NOT NULL: no IS NULL branch, index-friendly
    params: ['x', 0],
  },
  {
    filter: `title = ''`,
    text: `("_r"."title" = ? OR (? AND "_r"."title" = ''))`,
    params: ['', 1],
  },
  {
    filter: `views > 5 && published = true`,
    text: `(("_r"."views" > ?) AND ("_r"."published" = ?))`,
    params: [5, 1],
  },
  {
    filter: `title != null`,
    text: `(NOT (("_r"."title" = ?) IS TRUE OR ("_r"."title" = '' AND ?)))`,
    params: [null, 1],
  },
  { filter: `title ~ 'a_b'`, text: `("_r"."title" LIKE ? ESCAPE '\\')`, params: ['%a\\_b%'] },
  { filter: `title !~ '50%'`, text: `("_r"."title" NOT LIKE ? ESCAPE '\\')`, params: ['50%'] },
  { filter: `title ~ author`, text: `("_r"."title" LIKE ('%' || "_r"."author" || '%') ESCAPE '\\')`, params: [] },
  {
    filter: `author = @request.auth.id`,
    text: `("_r"."author" = ? OR (? AND "_r"."author" = ''))`,
    params: ['u1', 0],
    opts: { request: guestRequest({ auth: authAs('u1') }) },
  },
  {
    filter: `author.name = 'Ann'`,
    text:
      `EXISTS (SELECT 1 FROM (SELECT 1) AS "_rl2" LEFT JOIN "users" AS "_rl1" ON "_rl1"."id" = "_r"."author" ` +
      `WHERE ("_rl1"."name" = ? OR (? AND "_rl1"."name" = '') OR (? AND "_rl1"."name" IS NULL)))`,
    params: ['Ann', 0, 0],
  },
  {
    filter: `author.name = 'Ann'`,
    opts: { mode: 'client' },
    text:
      `EXISTS (SELECT 1 FROM (SELECT 1) AS "_rl2" LEFT JOIN "users" AS "_rl1" ON "_rl1"."id" = "_r"."author" ` +
      `AND ("_rl1"."verified" = ?) ` +
      `WHERE ("_rl1"."name" = ? OR (? AND "_rl1"."name" = '') OR (? AND "_rl1"."name" IS NULL)))`,
    params: [1, 'Ann', 0, 0],
  },
  {
    filter: `tags.name ?= 'news'`,
    text:
      `EXISTS (SELECT 1 FROM (SELECT 1) AS "_rl3" LEFT JOIN ${EACH_TAGS} AS "_rl1" ON 1=1 LEFT JOIN "tags" AS "_rl2" ON "_rl2"."id" = "_rl1"."value" ` +
      `WHERE ("_rl2"."name" = ? OR (? AND "_rl2"."name" = '') OR (? AND "_rl2"."name" IS NULL)))`,
    params: ['news', 0, 0],
  },
  {
    filter: `tags.name = 'news'`,
    text:
      `EXISTS (SELECT 1 FROM (SELECT 1) AS "_rl6" LEFT JOIN ${EACH_TAGS} AS "_rl1" ON 1=1 LEFT JOIN "tags" AS "_rl2" ON "_rl2"."id" = "_rl1"."value" ` +
      `WHERE (("_rl2"."name" = ? OR (? AND "_rl2"."name" = '') OR (? AND "_rl2"."name" IS NULL)) AND NOT EXISTS (` +
      `SELECT 1 FROM (SELECT 1) AS "_rl5" LEFT JOIN ${EACH_TAGS} AS "_rl3" ON 1=1 LEFT JOIN "tags" AS "_rl4" ON "_rl4"."id" = "_rl3"."value" ` +
      `WHERE NOT ("_rl4"."name" = ? OR (? AND "_rl4"."name" = '') OR (? AND "_rl4"."name" IS NULL)))))`,
    params: ['news', 0, 0, 'news', 0, 0],
  },
  {
    filter: `meta.a.b = 1`,
    text:
      `((CASE WHEN json_valid("_r"."meta") THEN json_extract("_r"."meta", ?) ELSE NULL END) = ? OR ` +
      `((CASE WHEN json_valid("_r"."meta") THEN json_extract("_r"."meta", ?) ELSE NULL END) IS NULL AND ?))`,
    params: ['$."a"."b"', 1, '$."a"."b"', 0],
  },
  { filter: `created >= @todayStart`, text: `("_r"."created" >= ?)`, params: ['2024-05-15 00:00:00.000Z'] },
  {
    filter: `categories:length > 1`,
    text: `((CASE WHEN json_valid("_r"."categories") AND json_type("_r"."categories") = 'array' THEN json_array_length("_r"."categories") ELSE 0 END) > ?)`,
    params: [1],
  },
];

describe('compileFilter: golden SQLite output', () => {
  for (const g of GOLDEN) {
    it(`${g.filter}${g.opts?.mode === 'client' ? ' (client)' : ''}`, () => {
      const out = compiled(g.filter, g.opts);
      assert.equal(out.text, g.text);
      assert.deepEqual(out.params, g.params);
    });
  }
});

describe('compileFilter: shape', () => {
  it('returns 1=1 for an empty or whitespace expression', () => {
    assert.equal(sqliteDialect.compile(compileFilter('  \n ', options())).text, '1=1');
  });

  it('keeps root-row conditions outside EXISTS and groups only conditions that share a join', () => {
    const shape = (f: string) =>
      compiled(f)
        .text.replace(/\("_r"\."\w+" = \? OR \(\? AND "_r"\."\w+" = ''\)\)/g, 'ROOT')
        .replace(/EXISTS \(SELECT 1 FROM \(SELECT 1\)/g, 'EXISTS(');
    assert.match(shape(`title = 'x' && author.name = 'y'`), /^\(ROOT AND EXISTS\(/);
    assert.equal((shape(`author.name = 'a' && tags.name ?= 'b'`).match(/EXISTS\(/g) ?? []).length, 2); // independent joins
    assert.equal((shape(`tags.name ?= 'a' && tags.id ?= 'b'`).match(/EXISTS\(/g) ?? []).length, 1); // one shared row
    assert.equal((shape(`author.name = 'a' && author.team.name ?= 'b'`).match(/EXISTS\(/g) ?? []).length, 1); // shared prefix
    assert.equal((shape(`tags.name ?= 'a' || tags.id ?= 'b'`).match(/EXISTS\(/g) ?? []).length, 2); // ∃ distributes over ∨
  });

  it('uses the given root alias and never a generated alias equal to it', () => {
    const out = sqliteDialect.compile(compileFilter(`author.name = 'x'`, options({ rootAlias: '_rl1' })));
    assert.match(out.text, /"_rl1"\."author"/);
    assert.match(out.text, /LEFT JOIN "users" AS "_rl2" ON "_rl2"\."id" = "_rl1"\."author"/);
  });

  it('takes a shared alias generator so nested compiles never reuse a name', () => {
    const aliases = createAliasGenerator('_q', ['_r']);
    const a = sqliteDialect.compile(compileFilter(`author.name = 'x'`, options({ aliases }))).text;
    const b = sqliteDialect.compile(compileFilter(`author.name = 'x'`, options({ aliases }))).text;
    assert.match(a, /"_q1"/);
    assert.doesNotMatch(b, /"_q1"/);
    assert.match(b, /"_q3"/);
  });

  it('never hands out the root alias, even from a caller generator that does not reserve it', () => {
    const out = sqliteDialect.compile(compileFilter(`author.name = 'x'`, options({ rootAlias: '_q1', aliases: createAliasGenerator('_q') }))).text;
    assert.match(out, /LEFT JOIN "users" AS "_q2" ON "_q2"\."id" = "_q1"\."author"/);
  });

  it('embeds into a SELECT over the root alias', () => {
    const where = compileFilter(`title = 'x' || author.name = 'y'`, options());
    const q = sqliteDialect.compile(sql`SELECT "_r".* FROM "posts" AS "_r" WHERE ${where}`);
    assert.match(q.text, /^SELECT "_r"\.\* FROM "posts" AS "_r" WHERE \(\("_r"\."title" = \? OR \(\? AND "_r"\."title" = ''\)\) OR EXISTS \(SELECT 1 FROM/);
    assert.deepEqual(q.params, ['x', 0, 'y', 0, 0]);
  });

  it('binds every literal: the SQL text holds no value from the filter', () => {
    const filter = `title = 'zz_secret_zz' && views > 123456 && meta.zzkeyzz = 'zzjsonzz' && title ~ 'zzlikezz'`;
    const out = compiled(filter);
    for (const literal of ['zz_secret_zz', '123456', 'zzkeyzz', 'zzjsonzz', 'zzlikezz']) assert.ok(!out.text.includes(literal), literal);
    assert.ok(out.params.includes('zz_secret_zz'));
    assert.ok(out.params.includes('%zzlikezz%'));
  });

  it('rejects invalid options with a TypeError (a programming error, not a client one)', () => {
    assert.throws(() => compileFilter(`title = 1`, options({ rootAlias: 'a"b' })), TypeError);
    assert.throws(() => compileFilter(`title = 1`, { ...options(), mode: 'admin' as 'rule' }), TypeError);
  });

  it('compiles the list rule of a popular collection quickly', () => {
    const opts = options({ collection: posts, mode: 'client', request: guestRequest({ auth: authAs('u1') }) });
    const filter = `author = @request.auth.id || (published = true && author.name ~ 'a' && tags.name ?= 'news')`;
    compileFilter(filter, { ...opts, mode: 'rule' });
    const start = performance.now();
    for (let i = 0; i < 2000; i++) compileFilter(filter, { ...opts, mode: 'rule' });
    const perCompile = (performance.now() - start) / 2000;
    assert.ok(perCompile < 0.5, `compile took ${perCompile.toFixed(3)} ms`);
  });
});
