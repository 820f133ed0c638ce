import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sqliteDialect } from '../db/dialects/sqlite/sqlite-dialect.js';
import { AppError } from '../errors/index.js';
import { buildIndexSql, findSingleColumnUniqueIndex, formatIndex, indexColumnNames, parseIndex, tryParseIndex, type ParsedIndex } from './indexes.js';

function compile(index: ParsedIndex, table: string): { text: string; params: readonly unknown[] } {
  return sqliteDialect.compile(buildIndexSql(index, table, sqliteDialect));
}

describe('parseIndex', () => {
  it('parses PocketBase index strings in every quoting style', () => {
    const cases = [
      "CREATE UNIQUE INDEX `idx_email` ON `users` (`email`) WHERE `email` != ''",
      'create unique index "idx_email" on "users" ("email") where "email" != \'\'',
      "CREATE UNIQUE INDEX [idx_email] ON [users] ([email]) WHERE [email] <> ''",
      "CREATE UNIQUE INDEX idx_email ON users (email) WHERE email != ''",
    ];
    for (const text of cases) {
      const idx = parseIndex(text);
      assert.equal(idx.unique, true);
      assert.equal(idx.name, 'idx_email');
      assert.equal(idx.table, 'users');
      assert.deepEqual(idx.columns, [{ name: 'email' }]);
      assert.deepEqual(idx.where, { kind: 'compare', column: 'email', op: '!=', value: { kind: 'string', value: '' } });
    }
  });

  it('parses collations, sort orders, IF NOT EXISTS and compound conditions', () => {
    const idx = parseIndex(
      "CREATE INDEX IF NOT EXISTS idx_x ON posts (title COLLATE nocase DESC, `views` asc, author) WHERE (status = 'published' OR status IS NULL) AND views >= 0".replace(
        '>= 0',
        '!= -1.5',
      ),
    );
    assert.equal(idx.optional, true);
    assert.deepEqual(idx.columns, [{ name: 'title', collate: 'NOCASE', sort: 'DESC' }, { name: 'views', sort: 'ASC' }, { name: 'author' }]);
    assert.deepEqual(idx.where, {
      kind: 'and',
      items: [
        {
          kind: 'or',
          items: [
            { kind: 'compare', column: 'status', op: '=', value: { kind: 'string', value: 'published' } },
            { kind: 'compare', column: 'status', op: 'IS', value: { kind: 'null' } },
          ],
        },
        { kind: 'compare', column: 'views', op: '!=', value: { kind: 'number', value: '-1.5' } },
      ],
    });
    assert.deepEqual(indexColumnNames(idx), ['title', 'views', 'author', 'status', 'status', 'views']);
    assert.equal(parseIndex('CREATE INDEX i ON t (a) WHERE a IS NOT NULL').where?.kind, 'compare');
    assert.equal(parseIndex('CREATE INDEX i ON `` (a)').table, '', 'a scaffold table name is accepted');
  });

  it('rejects injection attempts and anything outside the grammar', () => {
    const attacks = [
      'CREATE INDEX x ON t (a); DROP TABLE t',
      'CREATE INDEX x ON t (a) WHERE 1=1 OR (SELECT 1)',
      "CREATE INDEX x ON t (a) WHERE a = '' OR 1=1",
      'CREATE INDEX x ON t (a) WHERE a = (SELECT password FROM _superusers)',
      "CREATE INDEX x ON t (a) WHERE a = 'x''; DROP TABLE t; --'",
      'CREATE INDEX x ON t (a) -- comment',
      'CREATE INDEX x ON t (a) /* c */',
      'CREATE INDEX x ON t (lower(a))',
      'CREATE INDEX x ON t (a || b)',
      'CREATE INDEX `x`; DROP TABLE t; --` ON t (a)',
      'CREATE INDEX "x"" ON t (a)',
      'CREATE INDEX main.x ON t (a)',
      'CREATE INDEX x ON t (a COLLATE evil)',
      "CREATE INDEX x ON t (a) WHERE a LIKE '%'",
      'CREATE INDEX x ON t (a) WHERE a = 1e9',
      "CREATE INDEX x ON t (a) WHERE a = 'é'",
      "CREATE INDEX x ON t (a) WHERE a = x'00'",
      'CREATE INDEX x ON t (a) WHERE a = "b"',
      'CREATE TABLE x (a)',
      'CREATE INDEX 1x ON t (a)',
      'CREATE INDEX x ON t ()',
      'CREATE INDEX x ON t (a) WHERE',
      'CREATE INDEX x ON t (a) WHERE ((((((((((a = 1))))))))))',
      '',
    ];
    for (const text of attacks) {
      const result = tryParseIndex(text);
      assert.equal(result.ok, false, text);
      if (!result.ok) assert.equal(result.error.code, 'validation_invalid_index_expression');
      assert.throws(() => parseIndex(text), AppError);
    }
    assert.equal(tryParseIndex(42).ok, false);
    assert.equal(tryParseIndex(`CREATE INDEX x ON t (${'a, '.repeat(2000)}a)`).ok, false);
  });

  it('never throws anything but AppError on arbitrary input', () => {
    const tokens = fc.constantFrom(
      'CREATE',
      'UNIQUE',
      'INDEX',
      'IF',
      'NOT',
      'EXISTS',
      'ON',
      'WHERE',
      'AND',
      'OR',
      'IS',
      'NULL',
      '(',
      ')',
      ',',
      '.',
      '=',
      '!=',
      '<>',
      "'x'",
      "''",
      '`a`',
      '"b"',
      '[c]',
      'name',
      '-1',
      '1.5',
      ';',
      '--',
      'COLLATE',
      'NOCASE',
      'DESC',
    );
    const sqlish = fc.array(tokens, { maxLength: 25 }).map((t) => t.join(' '));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), sqlish), (text) => {
        try {
          const idx = parseIndex(text);
          // Whatever parses must rebuild into the same structure.
          assert.deepEqual(parseIndex(formatIndex(idx)), idx);
        } catch (err) {
          assert.ok(err instanceof AppError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('buildIndexSql', () => {
  it('rebuilds canonical DDL on the collection table with quoted identifiers', () => {
    const idx = parseIndex("CREATE UNIQUE INDEX IF NOT EXISTS `idx_email` ON `old_name` (`email` COLLATE NOCASE DESC) WHERE `email` != '' AND n = -1");
    const { text, params } = compile(idx, 'users');
    assert.equal(text, 'CREATE UNIQUE INDEX IF NOT EXISTS "idx_email" ON "users" ("email" COLLATE NOCASE DESC) WHERE "email" != \'\' AND "n" = -1');
    assert.deepEqual(params, []);
  });

  it('parenthesises nested groups', () => {
    const idx = parseIndex("CREATE INDEX i ON t (a) WHERE a = 1 AND (b = 'x' OR c IS NOT NULL)");
    assert.equal(compile(idx, 't').text, 'CREATE INDEX "i" ON "t" ("a") WHERE "a" = 1 AND ("b" = \'x\' OR "c" IS NOT NULL)');
  });

  it('refuses tampered structures instead of emitting them', () => {
    const idx = parseIndex("CREATE INDEX i ON t (a) WHERE a = 'ok'");
    const tampered = { ...idx, where: { kind: 'compare', column: 'a', op: '=', value: { kind: 'string', value: "x' OR 1=1 --" } } } as ParsedIndex;
    assert.throws(() => buildIndexSql(tampered, 't', sqliteDialect));
    assert.throws(() => buildIndexSql({ ...idx, name: 'bad name' }, 't', sqliteDialect));
    assert.throws(() => buildIndexSql(idx, 't; DROP TABLE x', sqliteDialect));
  });
});

describe('formatIndex', () => {
  it('round-trips through the PocketBase-style string', () => {
    const text = "CREATE UNIQUE INDEX `idx_email__pb_users_auth_` ON `users` (`email`) WHERE `email` != ''";
    assert.equal(formatIndex(parseIndex(text)), text);
    const multi = parseIndex('CREATE INDEX idx_a ON posts (a, b COLLATE NOCASE ASC)');
    assert.equal(formatIndex(multi, 'renamed'), 'CREATE INDEX `idx_a` ON `renamed` (`a`, `b` COLLATE NOCASE ASC)');
  });

  it('finds single-column unique indexes like PocketBase', () => {
    const indexes = ['CREATE INDEX a ON t (email)', "CREATE UNIQUE INDEX b ON t (`Email`) WHERE email != ''", 'CREATE UNIQUE INDEX c ON t (x, y)', 'garbage'];
    assert.equal(findSingleColumnUniqueIndex(indexes, 'email')?.name, 'b');
    assert.equal(findSingleColumnUniqueIndex(indexes, 'x'), undefined);
  });
});
