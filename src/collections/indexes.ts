/**
 * Collection indexes. PocketBase stores them as `CREATE [UNIQUE] INDEX …` strings written by superusers;
 * Plinth never runs those strings. They are parsed here into a structure that admits only plain column
 * lists and a small WHERE grammar, and the DDL is rebuilt from that structure with `sql` / `ident()`.
 *
 * Accepted: `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (col [COLLATE NOCASE|BINARY|RTRIM]
 * [ASC|DESC], …) [WHERE cond]`, names bare or quoted with `` ` ``, `"` or `[]`, where `cond` is comparisons
 * `col (= | == | != | <> | IS | IS NOT) (NULL | number | 'text')` joined by AND/OR, with parentheses.
 * Everything else (expressions, functions, subqueries, a second statement, comments) is rejected.
 */
import type { Dialect } from '../db/dialect.js';
import { AppError, fieldError, type FieldError } from '../errors/index.js';
import { EMPTY, ident, isSafeIdentifier, join, Sql, sql } from '../db/sql.js';

export type IndexCollate = 'NOCASE' | 'BINARY' | 'RTRIM';
export type IndexSort = 'ASC' | 'DESC';

/** One indexed column. */
export interface IndexColumn {
  name: string;
  collate?: IndexCollate;
  sort?: IndexSort;
}

/** A literal in a partial-index condition. */
export type IndexLiteral = { kind: 'null' } | { kind: 'number'; value: string } | { kind: 'string'; value: string };

export type IndexOperator = '=' | '!=' | 'IS' | 'IS NOT';

/** A partial-index condition: comparisons of a column with a literal, combined with AND / OR. */
export type IndexWhere = { kind: 'compare'; column: string; op: IndexOperator; value: IndexLiteral } | { kind: 'and' | 'or'; items: IndexWhere[] };

/** A parsed index definition. `table` is informational: DDL always targets the collection's table. */
export interface ParsedIndex {
  unique: boolean;
  /** `IF NOT EXISTS` was given. */
  optional: boolean;
  name: string;
  table: string;
  columns: IndexColumn[];
  where?: IndexWhere;
}

const MAX_INDEX_LENGTH = 4096;
const MAX_COLUMNS = 32;
const MAX_CONDITIONS = 32;
const MAX_DEPTH = 8;
// Literals SQLite can't take as parameters in CREATE INDEX … WHERE are limited to this charset, which has no
// quote, backslash, semicolon or comment starter, so one can never end the literal it sits in.
const SAFE_STRING_LITERAL = /^[A-Za-z0-9 _.@-]{0,100}$/;
const SAFE_NUMBER_LITERAL = /^-?\d{1,20}(?:\.\d{1,20})?$/;

type Token =
  | { kind: 'word'; text: string } // bare identifier or keyword
  | { kind: 'quoted'; text: string } // quoted identifier
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'punct'; text: '(' | ')' | ',' | '.' }
  | { kind: 'op'; text: '=' | '!=' };

class IndexSyntaxError extends Error {}

function fail(reason: string): never {
  throw new IndexSyntaxError(reason);
}

const QUOTE_PAIRS: Record<string, string> = { '`': '`', '"': '"', '[': ']' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 300)) as RegExpExecArray;
      tokens.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text.charAt(i + 1)))) {
      const m = /^-?[0-9][0-9.]*/.exec(text.slice(i, i + 64)) as RegExpExecArray;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (QUOTE_PAIRS[c]) {
      const close = QUOTE_PAIRS[c] as string;
      const end = text.indexOf(close, i + 1);
      if (end < 0) fail('unterminated quoted name');
      tokens.push({ kind: 'quoted', text: text.slice(i + 1, end) });
      i = end + 1;
    } else if (c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) fail('unterminated string');
        if (text.charAt(j) === "'") {
          if (text.charAt(j + 1) === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text.charAt(j++);
      }
      tokens.push({ kind: 'string', text: value });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === ',' || c === '.') {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else if (text.startsWith('==', i) || text.startsWith('!=', i) || text.startsWith('<>', i)) {
      tokens.push({ kind: 'op', text: text.charAt(i) === '=' ? '=' : '!=' });
      i += 2;
    } else if (c === '=') {
      tokens.push({ kind: 'op', text: '=' });
      i++;
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;
  private conditions = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isWord(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }

  private acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.pos++;
    return true;
  }

  private expectWord(word: string): void {
    if (!this.acceptWord(word)) fail(`expected ${word}`);
  }

  private isPunct(p: string): boolean {
    const t = this.peek();
    return t?.kind === 'punct' && t.text === p;
  }

  private expectPunct(p: string): void {
    if (!this.isPunct(p)) fail(`expected "${p}"`);
    this.pos++;
  }

  private name(what: string, allowEmpty = false): string {
    const t = this.peek();
    if (!t || (t.kind !== 'word' && t.kind !== 'quoted')) fail(`expected the ${what}`);
    this.pos++;
    if (allowEmpty && t.kind === 'quoted' && t.text === '') return '';
    if (!isSafeIdentifier(t.text)) fail(`invalid ${what} ${JSON.stringify(t.text.slice(0, 100))}`);
    return t.text;
  }

  parse(): ParsedIndex {
    this.expectWord('CREATE');
    const unique = this.acceptWord('UNIQUE');
    this.expectWord('INDEX');
    let optional = false;
    if (this.acceptWord('IF')) {
      this.expectWord('NOT');
      this.expectWord('EXISTS');
      optional = true;
    }
    const name = this.name('index name');
    if (this.isPunct('.')) fail('schema-qualified names are not supported');
    this.expectWord('ON');
    // The table is ignored (DDL always targets the collection), so a scaffold's empty `` is accepted.
    const table = this.name('table name', true);
    this.expectPunct('(');
    const columns: IndexColumn[] = [];
    do {
      if (columns.length > 0) this.pos++; // the comma
      columns.push(this.column());
      if (columns.length > MAX_COLUMNS) fail('too many columns');
    } while (this.isPunct(','));
    this.expectPunct(')');
    const index: ParsedIndex = { unique, optional, name, table, columns };
    if (this.acceptWord('WHERE')) index.where = this.orExpr(0);
    if (this.pos < this.tokens.length) fail('unexpected text after the definition');
    return index;
  }

  private column(): IndexColumn {
    const column: IndexColumn = { name: this.name('column name') };
    if (this.acceptWord('COLLATE')) {
      const t = this.peek();
      const collation = t && (t.kind === 'word' || t.kind === 'quoted') ? t.text.toUpperCase() : '';
      if (collation !== 'NOCASE' && collation !== 'BINARY' && collation !== 'RTRIM') fail('unsupported collation');
      this.pos++;
      column.collate = collation;
    }
    if (this.acceptWord('ASC')) column.sort = 'ASC';
    else if (this.acceptWord('DESC')) column.sort = 'DESC';
    return column;
  }

  private orExpr(depth: number): IndexWhere {
    const items = [this.andExpr(depth)];
    while (this.acceptWord('OR')) items.push(this.andExpr(depth));
    return items.length === 1 ? (items[0] as IndexWhere) : { kind: 'or', items };
  }

  private andExpr(depth: number): IndexWhere {
    const items = [this.factor(depth)];
    while (this.acceptWord('AND')) items.push(this.factor(depth));
    return items.length === 1 ? (items[0] as IndexWhere) : { kind: 'and', items };
  }

  private factor(depth: number): IndexWhere {
    if (this.isPunct('(')) {
      if (depth >= MAX_DEPTH) fail('the condition nests too deeply');
      this.pos++;
      const inner = this.orExpr(depth + 1);
      this.expectPunct(')');
      return inner;
    }
    if (++this.conditions > MAX_CONDITIONS) fail('too many conditions');
    const column = this.name('column name');
    let op: IndexOperator;
    const t = this.peek();
    if (t?.kind === 'op') {
      op = t.text;
      this.pos++;
    } else if (this.acceptWord('IS')) {
      op = this.acceptWord('NOT') ? 'IS NOT' : 'IS';
    } else {
      fail('expected a comparison (=, !=, <>, IS, IS NOT)');
    }
    return { kind: 'compare', column, op, value: this.literal() };
  }

  private literal(): IndexLiteral {
    const t = this.peek();
    this.pos++;
    if (t?.kind === 'word' && t.text.toUpperCase() === 'NULL') return { kind: 'null' };
    if (t?.kind === 'number' && SAFE_NUMBER_LITERAL.test(t.text)) return { kind: 'number', value: t.text };
    if (t?.kind === 'string' && SAFE_STRING_LITERAL.test(t.text)) return { kind: 'string', value: t.text };
    if (t?.kind === 'string') fail('string values may only contain letters, digits, spaces and _ . @ -');
    return fail('expected NULL, a number or a quoted string');
  }
}

function invalidIndex(reason?: string): FieldError {
  return fieldError('validation_invalid_index_expression', reason ? `Invalid CREATE INDEX expression: ${reason}` : 'Invalid CREATE INDEX expression.');
}

/** Parses an index definition without throwing: the structure, or a `validation_invalid_index_expression` error. */
export function tryParseIndex(text: unknown): { ok: true; index: ParsedIndex } | { ok: false; error: FieldError } {
  if (typeof text !== 'string') return { ok: false, error: invalidIndex('expected a string') };
  if (text.length > MAX_INDEX_LENGTH) return { ok: false, error: invalidIndex('the definition is too long') };
  try {
    return { ok: true, index: new Parser(tokenize(text)).parse() };
  } catch (err) {
    if (err instanceof IndexSyntaxError) return { ok: false, error: invalidIndex(err.message) };
    throw err;
  }
}

/** Parses an index definition; throws an AppError (400, `data.index`) when it is not acceptable. */
export function parseIndex(text: string): ParsedIndex {
  const result = tryParseIndex(text);
  if (!result.ok) throw AppError.validation('Invalid CREATE INDEX expression.', { index: result.error });
  return result.index;
}

// ---------------------------------------------------------------------------------------------------
// DDL.

function sortSql(sort: IndexSort | undefined): Sql {
  if (sort === 'ASC') return sql` ASC`;
  if (sort === 'DESC') return sql` DESC`;
  return EMPTY;
}

function operatorSql(op: IndexOperator): Sql {
  switch (op) {
    case '=':
      return sql`=`;
    case '!=':
      return sql`!=`;
    case 'IS':
      return sql`IS`;
    case 'IS NOT':
      return sql`IS NOT`;
  }
}

/**
 * The one place index literals become SQL text. SQLite refuses bound parameters in a partial index's
 * WHERE, so literals must be written out; this is safe because each literal is re-checked here against a
 * charset with no quote, backslash or `;` (strings) or a plain decimal shape (numbers) immediately before
 * the text node is made, so it can neither end its quotes nor start another clause.
 */
function literalSql(literal: IndexLiteral): Sql {
  if (literal.kind === 'null') return sql`NULL`;
  if (literal.kind === 'number') {
    if (!SAFE_NUMBER_LITERAL.test(literal.value)) throw new Error('unsafe index literal');
    return new Sql([{ kind: 'text', text: literal.value }]);
  }
  if (!SAFE_STRING_LITERAL.test(literal.value)) throw new Error('unsafe index literal');
  return new Sql([{ kind: 'text', text: `'${literal.value}'` }]);
}

function whereSql(where: IndexWhere): Sql {
  if (where.kind === 'compare') return sql`${ident(where.column)} ${operatorSql(where.op)} ${literalSql(where.value)}`;
  const parts = where.items.map((item) => (item.kind === 'compare' ? whereSql(item) : sql`(${whereSql(item)})`));
  return join(parts, where.kind === 'and' ? sql` AND ` : sql` OR `);
}

/** The `CREATE INDEX` statement for `index` on `tableName` (the collection's table, whatever `index.table` says). */
export function buildIndexSql(index: ParsedIndex, tableName: string, dialect: Dialect): Sql {
  const head = index.unique ? sql`CREATE UNIQUE INDEX ` : sql`CREATE INDEX `;
  const ifNotExists = index.optional ? sql`IF NOT EXISTS ` : EMPTY;
  const columns = join(index.columns.map((c) => sql`${dialect.indexColumn(ident(c.name), c.collate)}${sortSql(c.sort)}`));
  const where = index.where ? sql` WHERE ${whereSql(index.where)}` : EMPTY;
  return sql`${head}${ifNotExists}${ident(index.name)} ON ${ident(tableName)} (${columns})${where}`;
}

// ---------------------------------------------------------------------------------------------------
// PocketBase-style strings and helpers.

function formatLiteral(literal: IndexLiteral): string {
  if (literal.kind === 'null') return 'NULL';
  return literal.kind === 'number' ? literal.value : `'${literal.value}'`;
}

function formatWhere(where: IndexWhere): string {
  if (where.kind === 'compare') return `\`${where.column}\` ${where.op} ${formatLiteral(where.value)}`;
  return where.items.map((item) => (item.kind === 'compare' ? formatWhere(item) : `(${formatWhere(item)})`)).join(where.kind === 'and' ? ' AND ' : ' OR ');
}

/** The canonical PocketBase-style string stored in `collection.indexes`, e.g. ``CREATE UNIQUE INDEX `idx_x` ON `t` (`a`)``. */
export function formatIndex(index: ParsedIndex, tableName: string = index.table): string {
  const columns = index.columns.map((c) => `\`${c.name}\`${c.collate ? ` COLLATE ${c.collate}` : ''}${c.sort ? ` ${c.sort}` : ''}`).join(', ');
  return (
    `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${index.optional ? 'IF NOT EXISTS ' : ''}` +
    `\`${index.name}\` ON \`${tableName}\` (${columns})${index.where ? ` WHERE ${formatWhere(index.where)}` : ''}`
  );
}

/** Every column an index refers to (indexed columns, then those in its condition). */
export function indexColumnNames(index: ParsedIndex): string[] {
  const names = index.columns.map((c) => c.name);
  const visit = (w: IndexWhere): void => {
    if (w.kind === 'compare') names.push(w.column);
    else w.items.forEach(visit);
  };
  if (index.where) visit(index.where);
  return names;
}

/** The first UNIQUE index on exactly `column` (case-insensitive; a WHERE clause doesn't matter), as PocketBase. */
export function findSingleColumnUniqueIndex(indexes: readonly string[], column: string): ParsedIndex | undefined {
  for (const text of indexes) {
    const parsed = tryParseIndex(text);
    if (parsed.ok && parsed.index.unique && parsed.index.columns.length === 1 && parsed.index.columns[0]?.name.toLowerCase() === column.toLowerCase()) {
      return parsed.index;
    }
  }
  return undefined;
}
