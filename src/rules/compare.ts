/**
 * `left op right` → SQL, with PocketBase's semantics:
 * - `=` / `!=` treat NULL and `''` as the same "empty" value (strict operands such as JSON paths don't);
 * - `~` / `!~` are LIKE with `ESCAPE '\'`; a known value is wrapped in `%…%` after escaping `\ % _`
 *   unless it already holds an unescaped `%`, any other right side becomes `'%' || x || '%'`;
 * - a multi-valued operand must match for ALL its values (`?op`: at least one).
 *
 * The SQL text depends only on the operands' shape, never on their values: emptiness and LIKE wrapping
 * are decided in JS and bound as parameters, so filters differing only in literals compile to the same
 * text (and the same prepared statement).
 */
import type { Dialect } from '../db/dialect.js';
import { join, param, sql, type Sql } from '../db/sql.js';
import type { CompareOp } from './ast.js';
import { staticOperand, type MultiSource, type Operand, type Side } from './operand.js';

/** Whether `str` has `ch` not preceded by an (itself unescaped) backslash. */
function containsUnescaped(str: string, ch: string): boolean {
  let prev = '';
  for (const c of str) {
    if (c === ch && prev !== '\\') return true;
    prev = c === '\\' && prev === '\\' ? '' : c;
  }
  return false;
}

/** Backslash-escapes `\`, `%` and `_` unless they are already escaped. */
function escapeUnescaped(str: string): string {
  const chars = [...str];
  const out: string[] = [];
  let pending = false; // the char just emitted (scanning backwards) needs an escape unless this one is `\`
  for (let i = chars.length - 1; i >= 0; i--) {
    const c = chars[i] as string;
    if (pending) {
      if (c !== '\\') out.push('\\');
      pending = false;
    } else if (c === '\\' || c === '%' || c === '_') {
      pending = true;
    }
    out.push(c);
    if (i === 0 && pending) out.push('\\');
  }
  return out.reverse().join('');
}

/** A LIKE pattern for a known value: `%value%` with wildcards escaped, or the value itself if it has its own `%`. */
export function likePattern(value: string): string {
  return containsUnescaped(value, '%') ? value : `%${escapeUnescaped(value)}%`;
}

/** A never-NULL "is empty" test: known values are tested in JS, columns as `x = '' OR x IS NULL`. */
function emptyTest(s: Side): Sql {
  if (s.static) return param(s.static.value === null || s.static.value === '');
  if (s.notNull) return s.textual ? sql`${s.expr} = ''` : sql`1=0`;
  return s.textual ? sql`(${s.expr} = '' OR ${s.expr} IS NULL)` : sql`${s.expr} IS NULL`;
}

/** A never-NULL "is NULL" test (known values are tested in JS, so no untyped NULL parameter reaches SQL). */
function nullTest(s: Side): Sql {
  return s.static ? param(s.static.value === null) : sql`${s.expr} IS NULL`;
}

/**
 * Null-safe-vs-empty equality. `twoValued` makes it never NULL (needed under NOT); the positive form
 * keeps a bare `a = b` term (and `a = ''` / `a IS NULL` for a known right side) so indexes stay usable.
 */
function equals(l: Side, r: Side, twoValued: boolean): Sql {
  const core = twoValued ? sql`(${l.expr} = ${r.expr}) IS TRUE` : sql`${l.expr} = ${r.expr}`;
  if (l.strict || r.strict) return sql`(${core} OR (${nullTest(l)} AND ${nullTest(r)}))`;
  const known = l.static && !r.static ? l : r.static && !l.static ? r : null;
  if (!twoValued && known) {
    const column = known === l ? r : l;
    const flag = emptyTest(known);
    // one OR branch per indexable test, so SQLite can answer with a MULTI-INDEX OR instead of a scan
    if (column.notNull) return column.textual ? sql`(${core} OR (${flag} AND ${column.expr} = ''))` : sql`(${core})`;
    return column.textual
      ? sql`(${core} OR (${flag} AND ${column.expr} = '') OR (${flag} AND ${column.expr} IS NULL))`
      : sql`(${core} OR (${flag} AND ${column.expr} IS NULL))`;
  }
  return sql`(${core} OR (${emptyTest(l)} AND ${emptyTest(r)}))`;
}

function pattern(r: Side): Sql {
  if (!r.static) return sql`('%' || ${r.expr} || '%')`;
  const v = r.static.value;
  const p = param(v === null ? null : likePattern(v instanceof Uint8Array ? '' : String(v)));
  return r.static.wrap ? r.static.wrap(p) : p;
}

/**
 * SQLite's type affinity for a known value compared with a column, applied in JS for strictly typed
 * databases: text that looks like a number meets a number column as that number; a number meets a text
 * column as the text SQLite would make of it (bound numbers are REAL there: 5 → "5.0").
 */
function withAffinity(known: Side, other: Side): Side {
  const v = known.static?.value;
  if (known.static?.wrap) return known;
  if (other.valueKind === 'number' && typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) {
    return staticOperand(Number(v));
  }
  if (other.valueKind === 'text' && typeof v === 'number' && Number.isFinite(v)) {
    return staticOperand(Number.isInteger(v) && Math.abs(v) < 1e15 ? `${v}.0` : String(v));
  }
  return known;
}

/** Whether two sides need the dialect's cross-kind comparison (their kinds differ, or one is read from JSON). */
function needsTypedCompare(l: Side, r: Side): boolean {
  if (!l.valueKind || !r.valueKind) return false;
  return l.valueKind === 'json' || r.valueKind === 'json' || l.valueKind !== r.valueKind;
}

/** `l op r` through the dialect's SQLite-style comparison of mixed kinds (see DialectFunctions.sqliteCompare). */
function typedComparison(dialect: Dialect, op: CompareOp, l: Side, r: Side): Sql {
  const fn = dialect.fn;
  // A text column meeting a number column takes NUMERIC affinity, as in SQLite.
  const numericText = (s: Side, other: Side) => s.valueKind === 'text' && !s.static && other.valueKind === 'number' && !other.static;
  const value = (s: Side, other: Side) => fn.comparable(s.typed ?? s.expr, s.typed ? 'json' : numericText(s, other) ? 'numericText' : (s.valueKind ?? 'text'));
  const cmp = (fn.sqliteCompare as (a: Sql, b: Sql) => Sql)(value(l, r), value(r, l));
  const same = () => {
    const bothEmpty = l.strict || r.strict ? sql`(${nullTest(l)} AND ${nullTest(r)})` : sql`(${emptyTest(l)} AND ${emptyTest(r)})`;
    return sql`(COALESCE(${cmp} = 0, FALSE) OR ${bothEmpty})`;
  };
  switch (op) {
    case '=':
      return same();
    case '!=':
      return sql`(NOT ${same()})`;
    case '<':
      return sql`(${cmp} < 0)`;
    case '<=':
      return sql`(${cmp} <= 0)`;
    case '>':
      return sql`(${cmp} > 0)`;
    default:
      return sql`(${cmp} >= 0)`;
  }
}

/** The comparison on single values, as a parenthesised boolean. */
function compareValues(dialect: Dialect, op: CompareOp, l: Side, r: Side): Sql {
  // Two known numbers (e.g. `@request.body.count <= 10`): as bare parameters PostgreSQL would order them as
  // text ('8' > '10'); `+ 0.0` makes both numeric on either dialect (the SQL text still depends only on the shape).
  if (l.static && r.static && !l.static.wrap && !r.static.wrap && typeof l.static.value === 'number' && typeof r.static.value === 'number') {
    if (op === '<' || op === '<=' || op === '>' || op === '>=') {
      l = { ...l, expr: sql`(${l.expr} + 0.0)` };
      r = { ...r, expr: sql`(${r.expr} + 0.0)` };
    }
  }
  if (dialect.fn.sqliteCompare && op !== '~' && op !== '!~') {
    if (l.static && !r.static) l = withAffinity(l, r);
    else if (r.static && !l.static) r = withAffinity(r, l);
    if (needsTypedCompare(l, r)) return typedComparison(dialect, op, l, r);
  }
  switch (op) {
    case '=':
      return equals(l, r, false);
    case '!=':
      return sql`(NOT ${equals(l, r, true)})`;
    case '~':
      return sql`(${dialect.fn.like(l.expr, pattern(r), false)})`;
    case '!~':
      return sql`(${dialect.fn.like(l.expr, pattern(r), true)})`;
    case '<':
      return sql`(${l.expr} < ${r.expr})`;
    case '<=':
      return sql`(${l.expr} <= ${r.expr})`;
    case '>':
      return sql`(${l.expr} > ${r.expr})`;
    case '>=':
      return sql`(${l.expr} >= ${r.expr})`;
  }
}

/**
 * A value that breaks match-all. As in PocketBase, for operators other than `=` a NULL item (a missing
 * relation, an empty list's placeholder row) counts as a failure too.
 */
function counterexample(dialect: Dialect, op: CompareOp, l: Side, r: Side, items: readonly Sql[]): Sql {
  const fails = sql`NOT ${compareValues(dialect, op, l, r)}`;
  if (op === '=') return fails;
  return sql`(${fails} OR ${join(
    items.map((v) => sql`${v} IS NULL`),
    sql` OR `,
  )})`;
}

const itemSide = (op: Operand, value: Sql): Side => ({
  expr: value,
  textual: op.textual,
  strict: op.strict,
  ...(op.valueKind ? { valueKind: op.valueKind } : {}),
});

/**
 * The full comparison: evaluated on the shared joined row (so it holds for at least one value), and for
 * non-`?` operators additionally "no value fails" through the operands' independent multi sources.
 */
export function buildComparison(dialect: Dialect, op: CompareOp, any: boolean, l: Operand, r: Operand): Sql {
  let main = compareValues(dialect, op, l, r);
  const guards = [...l.guards, ...r.guards];
  if (guards.length) main = sql`(${main} AND ${join(guards, sql` AND `)})`;
  if (any || (!l.multi && !r.multi)) return main;

  const lm = l.multi?.() ?? null;
  const rm = r.multi?.() ?? null;
  if (lm && rm) {
    const ce = counterexample(dialect, op, itemSide(l, lm.value), itemSide(r, rm.value), [lm.value, rm.value]);
    return sql`(${main} AND NOT EXISTS (SELECT 1 FROM ${lm.from} WHERE EXISTS (SELECT 1 FROM ${rm.from} WHERE ${ce})))`;
  }
  if (lm) {
    const ce = counterexample(dialect, op, itemSide(l, lm.value), r, [lm.value]);
    return sql`(${main} AND NOT EXISTS (SELECT 1 FROM ${lm.from} WHERE ${ce}))`;
  }
  const m = rm as MultiSource;
  const ce = counterexample(dialect, op, l, itemSide(r, m.value), [m.value]);
  return sql`(${main} AND NOT EXISTS (SELECT 1 FROM ${m.from} WHERE ${ce}))`;
}

/** Null-safe-vs-empty equality that is never NULL (for use under NOT, e.g. `:changed`). */
export function sameValue(l: Side, r: Side): Sql {
  return equals(l, r, true);
}
