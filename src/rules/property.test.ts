/**
 * Property tests (fast-check):
 * (a) filters that differ only in literal values compile to identical SQL text;
 * (b) arbitrary input never throws anything but an AppError with status 400/403;
 * (c) whatever compiles also runs on SQLite without a database error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { SqliteDatabase } from '../db/dialects/sqlite/sqlite-database.js';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { ident, sql, type Sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import { compileFilter } from './compile.js';
import type { CompileOptions } from './context.js';
import { authAs, openFixtureDb, options } from './fixtures.test-util.js';
import { guestRequest } from './request-info.js';
import { compileSort } from './sort.js';

let db: SqliteDatabase;
before(async () => {
  db = await openFixtureDb();
});
after(async () => {
  await db.close();
});

const request = guestRequest({
  auth: authAs('u1'),
  body: { title: 'x', tags: ['g1'], categories: ['a', 'b'], views: '3', meta: { a: 1 } },
  query: { q: 'o' },
  headers: { x_h: '1' },
});

const FIELDS = [
  'id',
  'title',
  'views',
  'published',
  'author',
  'author.name',
  'author.email',
  'tags',
  'tags.name',
  'tags:length',
  'categories',
  'categories:each',
  'status',
  'meta',
  'meta.a.b',
  'meta.list.0',
  'location.lon',
  'created',
  'title:lower',
  'comments_via_post.message',
  'comments_via_post.author.name',
  'author.friends.name',
  'note',
  '@request.auth.id',
  '@request.auth.friends.name',
  '@request.body.title',
  '@request.body.tags:each',
  '@request.body.views',
  '@request.body.title:isset',
  '@request.body.title:changed',
  '@request.query.q',
  '@request.headers.x_h',
  '@request.method',
  '@collection.members.role',
  '@collection.members:m.user.name',
  '@now',
  '@todayStart',
  '@year',
  '@weekday',
];
const OPS = ['=', '!=', '>', '>=', '<', '<=', '~', '!~'].flatMap((op) => [op, `?${op}`]);

/** Literal slots: kind + value; the printed form is what varies between the two compiles in (a). */
type Lit = { kind: 'text'; value: string } | { kind: 'num'; value: string };
type Operand = { kind: 'field'; name: string } | { kind: 'lit'; lit: number } | { kind: 'call'; name: 'geo' | 'strftime'; args: Operand[] };
type Expr = { kind: 'cmp'; l: Operand; op: string; r: Operand } | { kind: 'join'; op: '&&' | '||'; items: Expr[] };

const textValue = fc
  .oneof(
    fc.string({ maxLength: 12 }),
    fc.string({ unit: fc.constantFrom("'", '"', '\\', '%', '_', ';', '-', '/', '*', ' ', 'a', 'é', '’', '\n'), maxLength: 12 }),
    fc.constantFrom('', "'; DROP TABLE posts; --", '%', '50%', 'a_b', 'Hello world'),
  )
  .map((raw) => {
    const s = raw.replace(/\u0000/g, ''); // NUL is rejected by the lexer on purpose
    return s.endsWith('\\') ? `${s}x` : s; // a text can't end in a backslash (it would escape the quote)
  });
const numValue = fc
  .tuple(fc.boolean(), fc.nat(1e9), fc.option(fc.nat(9999), { nil: undefined }))
  .map(([neg, i, f]) => `${neg ? '-' : ''}${i}${f === undefined ? '' : `.${f}`}`);
const literal: fc.Arbitrary<Lit> = fc.oneof(
  textValue.map((value) => ({ kind: 'text' as const, value })),
  numValue.map((value) => ({ kind: 'num' as const, value })),
);

/** A random expression shape whose literals are numbered slots. */
function shape(): fc.Arbitrary<{ expr: Expr; lits: Lit[] }> {
  const leaf: fc.Arbitrary<Operand> = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...FIELDS).map((name): Operand => ({ kind: 'field', name })) },
    { weight: 4, arbitrary: fc.nat(7).map((lit): Operand => ({ kind: 'lit', lit })) },
  );
  const call: fc.Arbitrary<Operand> = fc.oneof(
    fc.tuple(leaf, leaf).map(([a, b]): Operand => ({ kind: 'call', name: 'geo', args: [a, b, { kind: 'lit', lit: 0 }, b] })),
    fc.tuple(fc.nat(7), fc.constantFrom(...FIELDS)).map(
      ([f, t]): Operand => ({
        kind: 'call',
        name: 'strftime',
        args: [
          { kind: 'lit', lit: f },
          { kind: 'field', name: t },
        ],
      }),
    ),
  );
  const operand = fc.oneof({ weight: 9, arbitrary: leaf }, { weight: 1, arbitrary: call });
  const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ kind: fc.constant('cmp' as const), l: operand, op: fc.constantFrom(...OPS), r: operand }),
      fc.record({
        kind: fc.constant('join' as const),
        op: fc.constantFrom('&&' as const, '||' as const),
        items: fc.array(tie('e'), { minLength: 2, maxLength: 3 }),
      }),
    ),
  })).e;
  return fc.record({ expr, lits: fc.array(literal, { minLength: 8, maxLength: 8 }) });
}

function quote(v: string): string {
  return `'${v.split("'").join("\\'")}'`;
}

/** Prints a shape with the given literals; strftime formats are always text. */
function print(e: Expr, lits: readonly Lit[]): string {
  const lit = (i: number, forceText = false): string => {
    const l = lits[i] as Lit;
    return l.kind === 'text' || forceText ? quote(l.value) : l.value;
  };
  // geoDistance takes numbers or fields only: a text slot prints as a fixed number (in both variants)
  const geoArg = (a: Operand): string => (a.kind !== 'lit' ? op(a) : (lits[a.lit] as Lit).kind === 'num' ? lit(a.lit) : '1');
  const op = (o: Operand): string => {
    if (o.kind === 'field') return o.name;
    if (o.kind === 'lit') return lit(o.lit);
    if (o.name === 'geo') return `geoDistance(${o.args.map(geoArg).join(', ')})`;
    return `strftime(${lit((o.args[0] as { lit: number }).lit, true)}, ${op(o.args[1] as Operand)})`;
  };
  if (e.kind === 'cmp') return `${op(e.l)} ${e.op} ${op(e.r)}`;
  return `(${e.items.map((i) => print(i, lits)).join(` ${e.op} `)})`;
}

/** Same kinds, new values: what (a) swaps in. */
const sameKinds = (lits: readonly Lit[]) =>
  fc.tuple(
    ...lits.map((l) =>
      l.kind === 'text' ? textValue.map((value) => ({ kind: 'text' as const, value })) : numValue.map((value) => ({ kind: 'num' as const, value })),
    ),
  );

function tryCompile(filter: string, opts: CompileOptions): Sql | AppError {
  try {
    return compileFilter(filter, opts);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

/** Runs a compiled condition for real; any database error fails the property. */
function execute(where: Sql): void {
  db.allSync(sql`SELECT ${ident('_r', 'id')} FROM ${ident('posts')} AS ${ident('_r')} WHERE ${where}`);
}

describe('property: SQL text depends only on the shape, never on literal values', () => {
  it('identical text for filters differing only in literals (2000 runs)', () => {
    const opts = options({ request });
    fc.assert(
      fc.property(
        shape().chain(({ expr, lits }) => sameKinds(lits).map((other) => ({ expr, lits, other }))),
        ({ expr, lits, other }) => {
          const a = tryCompile(print(expr, lits), opts);
          const b = tryCompile(print(expr, other), opts);
          if (a instanceof AppError || b instanceof AppError) {
            // a shape that fails must fail for every literal choice, with the same message kind
            assert.ok(a instanceof AppError && b instanceof AppError, `${print(expr, lits)} vs ${print(expr, other)}`);
            return;
          }
          const ta = sqliteDialect.compile(a);
          const tb = sqliteDialect.compile(b);
          assert.equal(ta.text, tb.text);
          assert.equal(ta.params.length, tb.params.length);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('property: only AppErrors 400/403 escape, and compiled SQL always runs', () => {
  const modes: CompileOptions[] = [options({ request }), options({ mode: 'client', request: guestRequest() }), options({ mode: 'client', request })];

  function check(filter: string): void {
    for (const opts of modes) {
      const out = tryCompile(filter, opts);
      if (out instanceof AppError) {
        assert.ok(out.status === 400 || out.status === 403, `${out.status} for ${JSON.stringify(filter)}`);
        assert.ok(out.code === 'invalid_filter' || out.code === 'forbidden');
      } else {
        execute(out);
      }
    }
  }

  it('random unicode and binary strings (1500 runs)', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })), check), { numRuns: 1500 });
  });

  it('token soup from the grammar (2500 runs)', () => {
    const token = fc.constantFrom(
      ...FIELDS,
      '(',
      ')',
      '((',
      '))',
      '&&',
      '||',
      '&',
      '|',
      ',',
      '=',
      '!=',
      '?=',
      '~',
      '?!~',
      '>=',
      '<',
      '??',
      '!',
      ' ',
      '\n',
      '//c\n',
      "'a'",
      '"b"',
      "'",
      '"',
      '\\',
      "'%_\\''",
      '1',
      '-2.5',
      '.5',
      '5.',
      'true',
      'NULL',
      'geoDistance(',
      'strftime(',
      "strftime('%Y',",
      'x:each',
      'x:nope',
      'author.team.name',
      'author.password',
      'meta.__proto__',
      '@request.body.x.y',
      '@collection.nope.id',
      'tags.name:lower',
      '@',
      '#',
      ':',
    );
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 14 }).map((t) => t.join('')),
        check,
      ),
      { numRuns: 2500 },
    );
  });

  it('well-formed random expressions compile to SQL that runs (1500 runs)', () => {
    fc.assert(
      fc.property(shape(), ({ expr, lits }) => check(print(expr, lits))),
      { numRuns: 1500 },
    );
  });

  it('random sort strings only ever raise invalid_sort or forbidden', () => {
    const part = fc.oneof(fc.constantFrom(...FIELDS, '@random', '@rowid', '-title', '+views', '', ' ', 'a b', 'x"y'), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.array(part, { maxLength: 10 }).map((p) => p.join(',')),
        (sort) => {
          for (const opts of modes) {
            try {
              const order = compileSort(sort, opts);
              if (!order.isEmpty) db.allSync(sql`SELECT 1 FROM ${ident('posts')} AS ${ident('_r')} ORDER BY ${order}`);
            } catch (err) {
              assert.ok(err instanceof AppError && (err.code === 'invalid_sort' || err.code === 'forbidden'), `${String(err)} for ${JSON.stringify(sort)}`);
            }
          }
        },
      ),
      { numRuns: 800 },
    );
  });
});
