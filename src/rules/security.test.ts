/**
 * Injection and oracle tests (threat model §1a): hostile literals must stay parameters, hostile names
 * must be a 400 before any SQL exists, and protected data must never change a result instead of failing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqliteDatabase } from '../db/dialects/sqlite/sqlite-database.js';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import { compileFilter } from './compile.js';
import type { CompileOptions } from './context.js';
import { ids, openFixtureDb, options } from './fixtures.test-util.js';
import { guestRequest } from './request-info.js';

let db: SqliteDatabase;
before(async () => {
  db = await openFixtureDb();
});
after(async () => {
  await db.close();
});

const client: Partial<CompileOptions> = { mode: 'client', request: guestRequest() };

/** Encodes `value` as a filter text literal with `quote` (only the matching quote needs a backslash). */
function quoted(value: string, quote: `'` | `"` = `'`): string {
  return quote + value.split(quote).join(`\\${quote}`) + quote;
}

async function tablesIntact(): Promise<void> {
  const rows = await db.all<{ n: number }>(sql`SELECT COUNT(*) AS n FROM posts`);
  assert.equal(rows[0]?.n, 4);
}

const PAYLOADS = [
  `'; DROP TABLE posts; --`,
  `" OR 1=1 --`,
  `A'B';SELECT PG_SLEEP(3);--`,
  `') OR ('1'='1`,
  `\\'; DROP TABLE posts; --`,
  `%' OR title LIKE '%`,
  `x' UNION SELECT password FROM users --`,
  `\u0000'\u0000`,
  `‘ ’ “ ” ＇ ＂ ′ ″`,
  `*/ OR 1=1 /*`,
  `\\\\'`,
];

describe('literals are always parameters', () => {
  for (const payload of PAYLOADS) {
    for (const quote of [`'`, `"`] as const) {
      it(JSON.stringify(`${quote}${payload}${quote}`), async () => {
        const filter = `title = ${quoted(payload, quote)} || title ~ ${quoted(payload, quote)}`;
        if (payload.includes('\u0000')) {
          // NUL would truncate SQLite LIKE patterns (and PostgreSQL refuses it): a 400, never a query
          assert.throws(
            () => compileFilter(filter, options(client)),
            (e: unknown) => e instanceof AppError && /NUL/.test(e.message),
          );
          return;
        }
        const { text, params } = sqliteDialect.compile(compileFilter(filter, options(client)));
        assert.ok(!text.includes(payload), 'payload reached the SQL text');
        assert.ok(params.includes(payload), 'payload is bound as a parameter');
        const start = performance.now();
        assert.deepEqual(await ids(db, filter, client), []);
        assert.ok(performance.now() - start < 1000);
        await tablesIntact();
      });
    }
  }

  it('survives runs of 1-7 quotes and backslashes in every position', async () => {
    for (let n = 1; n <= 7; n++) {
      for (const unit of [`'`, `"`, `\\`, `\\'`, `'\\`, `''\\"`]) {
        const value = `a${unit.repeat(n)}b`;
        for (const quote of [`'`, `"`] as const) {
          const filter = `title = ${quoted(value, quote)} && meta.s != ${quoted(value, quote)}`;
          let result: string[];
          try {
            result = await ids(db, filter);
          } catch (err) {
            assert.ok(err instanceof AppError && err.status === 400, `${filter}: ${String(err)}`);
            continue;
          }
          assert.deepEqual(result, [], filter);
          const { text, params } = sqliteDialect.compile(compileFilter(filter, options()));
          assert.ok(params.includes(value), `${filter} → ${JSON.stringify(params)}`);
          assert.ok(!text.includes(value));
        }
      }
    }
    await tablesIntact();
  });

  it('keeps // inside quotes and LIKE wildcards inside the bound value', async () => {
    assert.deepEqual(await ids(db, `title = 'x // ' || title = 'Hello world'`), ['p1']);
    assert.deepEqual(await ids(db, `title = 'x' // ' || id != '`), []);
    assert.deepEqual(await ids(db, `title ~ '_'`), ['p3']); // the only title with a literal underscore
  });
});

describe('hostile identifiers are rejected before any SQL is built', () => {
  const NAMES = [
    `title"--`,
    'title`',
    'a b',
    'a;b',
    'title’',
    'title”',
    't1.password',
    '_r.title',
    '_rl1.name',
    'main.posts.title',
    'sqlite_master.sql',
    'sqlite_schema.name',
    'posts.title',
    `meta.a'b`,
    'meta.a"b',
    'title:lower:lower',
    'author.__proto__',
    '__proto__',
    'constructor',
    'toString',
    '@request.body.__proto__.x.y:each',
    '@collection.sqlite_master.sql',
    '@collection.posts:a:b.title',
  ];
  for (const name of NAMES) {
    it(name, async () => {
      for (const mode of ['rule', 'client'] as const) {
        try {
          await ids(db, `${name} = 'x'`, { mode, request: guestRequest() });
          assert.fail(`${name} compiled in ${mode} mode`);
        } catch (err) {
          assert.ok(err instanceof AppError, String(err));
          assert.ok(err.status === 400 || err.status === 403, `${err.status} ${err.message}`);
        }
      }
    });
  }

  it('binds JSON path keys, however odd, instead of splicing them', () => {
    const { text, params } = sqliteDialect.compile(compileFilter(`meta.__proto__.constructor.x1_y = 1 && meta.0.zz = 1`, options()));
    assert.ok(!text.includes('__proto__') && !text.includes('zz'));
    assert.ok(params.includes('$."__proto__"."constructor"."x1_y"'));
    assert.ok(params.includes('$[0]."zz"'));
  });

  it('reads own request keys only', async () => {
    const req = guestRequest({ body: {}, query: {} });
    assert.deepEqual(
      await ids(db, `@request.body.__proto__ != null || @request.query.constructor != null || @request.body.toString:isset = true`, { request: req }),
      [],
    );
  });
});

describe('no oracle on protected data', () => {
  it('a client filter on a hidden field fails identically to an unknown one, whatever the value', async () => {
    const messages = new Set<string>();
    for (const filter of [`note ~ 'n'`, `note ~ 'zzz'`, `nope ~ 'n'`, `nope ~ 'zzz'`]) {
      try {
        await ids(db, filter, client);
        assert.fail(filter);
      } catch (err) {
        assert.ok(err instanceof AppError && err.status === 400);
        messages.add(err.message.replace(/"(note|nope)"/, '"F"'));
      }
    }
    assert.equal(messages.size, 1);
  });

  it('relation chains into locked or hidden targets fail like unknown fields (PocketBase v0.31 hardening)', async () => {
    for (const filter of [
      `author.team.name ~ 'r'`,
      `author.password ~ '$2a'`,
      `author.tokenKey = 'tk1'`,
      `comments_via_post.author.secret ~ 's'`,
      `author.friends.secret ~ 'h'`,
    ]) {
      await assert.rejects(
        ids(db, filter, client),
        (err: unknown) => err instanceof AppError && err.status === 400 && /unknown or non-filterable/.test(err.message),
      );
    }
  });

  it('enforces 403 for @collection/@request even inside quotes-free function args, and not for look-alikes in text', async () => {
    await assert.rejects(ids(db, `strftime('%Y', @request.body.x) = '2024'`, client), (err: unknown) => err instanceof AppError && err.status === 403);
    assert.deepEqual(await ids(db, `title = '@request.auth.id' || title = '@collection.x.y'`, client), []);
  });
});
