/**
 * Types of a view query's computed columns, read from the SELECT list itself so SQLite (which declares no
 * type for an expression) and PostgreSQL infer the same field. PocketBase (core/view.go) makes a column
 * starting with `count(` or `total(` a number field, and a `CAST(… AS <type>)` (or PostgreSQL's `…::<type>`)
 * a number, text or bool field by the type; everything else computed is json. Plinth also types as number
 * the other numeric aggregates and arithmetic: `SUM`/`AVG`, `MIN`/`MAX`/`COALESCE` over numbers, numeric
 * functions (`ABS`, `ROUND`, `LENGTH` …), numeric literals and `+ - * / %` between such operands, where a
 * column operand counts when it is a `number` field of a collection the query reads.
 *
 * This is a reading of the text, not a SQL parser: anything it does not understand is "unknown" and the
 * caller falls back to the database's declared type (PostgreSQL) or json.
 */
import type { Collection, SchemaLookup } from './model.js';

export type ExpressionType = 'number' | 'text' | 'bool';

type Token =
  | { k: 'id'; v: string } // bare or quoted identifier / keyword, as written
  | { k: 'num' }
  | { k: 'str' }
  | { k: 'op'; v: string }
  | { k: '(' }
  | { k: ')' }
  | { k: ',' }
  | { k: '.' };

/** Splits SQL text into tokens; null when it meets something it does not know (the caller gives up). */
function tokenize(text: string): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'") {
      const end = /^'(?:[^']|'')*'/.exec(text.slice(i));
      if (!end) return null;
      out.push({ k: 'str' });
      i += end[0].length;
      continue;
    }
    if (ch === '"' || ch === '`' || ch === '[') {
      const close = ch === '[' ? ']' : ch;
      const end = text.indexOf(close, i + 1);
      if (end === -1) return null;
      out.push({ k: 'id', v: text.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num) {
      out.push({ k: 'num' });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i));
    if (word) {
      out.push({ k: 'id', v: word[0] });
      i += word[0].length;
      continue;
    }
    const op = /^(?:\|\||::|<=|>=|<>|!=|==|[-+*/%<>=|&~!?:@#^])/.exec(text.slice(i));
    if (op) {
      out.push({ k: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',' || ch === '.') {
      out.push({ k: ch } as Token);
      i++;
      continue;
    }
    return null;
  }
  return out;
}

/** An identifier token; with `v`, one spelling that word (case-insensitively). */
const isId = (t: Token | undefined, v?: string): t is { k: 'id'; v: string } => t?.k === 'id' && (v === undefined || t.v.toLowerCase() === v);

/** Words that end a FROM item (so they are not read as a table alias). */
const CLAUSE_WORDS = new Set([
  'where',
  'group',
  'order',
  'limit',
  'having',
  'join',
  'left',
  'right',
  'inner',
  'outer',
  'cross',
  'full',
  'natural',
  'on',
  'using',
  'union',
  'except',
  'intersect',
  'window',
  'offset',
  'as',
  'select',
  'from',
  'lateral',
]);

/** Always a number, whatever the arguments (PocketBase: count/total; Plinth: the other numeric functions). */
const NUMERIC_FUNCTIONS = new Set([
  'count',
  'total',
  'sum',
  'avg',
  'abs',
  'round',
  'length',
  'char_length',
  'octet_length',
  'instr',
  'unicode',
  'ceil',
  'ceiling',
  'floor',
  'trunc',
  'sign',
  'power',
  'pow',
  'sqrt',
  'exp',
  'ln',
  'log',
  'log10',
  'mod',
  'row_number',
  'rank',
  'dense_rank',
  'ntile',
  'julianday',
]);
/** A number when every argument is. */
const NUMERIC_IF_ARGS = new Set(['min', 'max', 'coalesce', 'ifnull', 'nullif', 'greatest', 'least']);

/** PocketBase's cast targets (SQLite and PostgreSQL spellings). */
const CAST_TYPES: Record<string, ExpressionType> = {
  real: 'number',
  integer: 'number',
  int: 'number',
  smallint: 'number',
  bigint: 'number',
  decimal: 'number',
  numeric: 'number',
  double: 'number',
  float: 'number',
  serial: 'number',
  smallserial: 'number',
  bigserial: 'number',
  text: 'text',
  boolean: 'bool',
  bool: 'bool',
};

interface Scope {
  /** alias or name (lower case) → collection */
  tables: Map<string, Collection>;
}

/** Index of the `)` matching the `(` at `open`, or -1. */
function closing(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.k === '(') depth++;
    else if (t.k === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Splits `tokens` at depth-0 commas. */
function splitTopLevel(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (t.k === '(') depth++;
    if (t.k === ')') depth--;
    if (t.k === ',' && depth === 0) parts.push([]);
    else (parts[parts.length - 1] as Token[]).push(t);
  }
  return parts;
}

/** Is the whole token run a numeric expression? (operands joined by + - * / %, optional unary signs) */
function isNumeric(tokens: Token[], scope: Scope): boolean {
  if (tokens.length === 0) return false;
  let i = 0;
  let expectOperand = true;
  while (i < tokens.length) {
    const t = tokens[i] as Token;
    if (expectOperand) {
      if (t.k === 'op' && (t.v === '-' || t.v === '+')) {
        i++;
        continue;
      }
      const end = operandEnd(tokens, i);
      if (end === -1 || !operandNumeric(tokens.slice(i, end), scope)) return false;
      i = end;
      expectOperand = false;
    } else {
      if (t.k !== 'op' || !['+', '-', '*', '/', '%'].includes(t.v)) return false;
      i++;
      expectOperand = true;
    }
  }
  return !expectOperand;
}

/** Where the operand starting at `i` ends (exclusive), or -1. */
function operandEnd(tokens: Token[], i: number): number {
  const t = tokens[i];
  if (!t) return -1;
  if (t.k === 'num' || t.k === 'str') return i + 1;
  if (t.k === '(') {
    const c = closing(tokens, i);
    return c === -1 ? -1 : c + 1;
  }
  if (t.k === 'id') {
    if (tokens[i + 1]?.k === '(') {
      const c = closing(tokens, i + 1);
      if (c === -1) return -1;
      // a window function: OVER (...)
      if (isId(tokens[c + 1], 'over') && tokens[c + 2]?.k === '(') {
        const w = closing(tokens, c + 2);
        return w === -1 ? -1 : w + 1;
      }
      return c + 1;
    }
    if (tokens[i + 1]?.k === '.' && isId(tokens[i + 2])) return i + 3;
    return i + 1;
  }
  return -1;
}

function operandNumeric(op: Token[], scope: Scope): boolean {
  const first = op[0] as Token;
  if (first.k === 'num') return true;
  if (first.k === 'str') return false;
  if (first.k === '(') return isNumeric(op.slice(1, -1), scope);
  if (first.k !== 'id') return false;
  if (op[1]?.k === '(') {
    const c = closing(op, 1);
    const name = first.v.toLowerCase();
    if (NUMERIC_FUNCTIONS.has(name)) return true;
    if (NUMERIC_IF_ARGS.has(name)) {
      const args = splitTopLevel(op.slice(2, c));
      return args.length > 0 && args.every((a) => isNumeric(a, scope));
    }
    if (name === 'cast') return castType(op) === 'number';
    return false;
  }
  if (op.length === 3 && op[1]?.k === '.') return columnIsNumber(first.v, (op[2] as { v: string }).v, scope);
  if (op.length === 1) return columnIsNumber(null, first.v, scope);
  return false;
}

/** A column reference is numeric when it names a `number` field (through its table alias, or in any table read). */
function columnIsNumber(table: string | null, column: string, scope: Scope): boolean {
  const candidates = table === null ? [...new Set(scope.tables.values())] : [scope.tables.get(table.toLowerCase())].filter((c): c is Collection => !!c);
  const types = candidates.map((c) => c.fields.find((f) => f.name.toLowerCase() === column.toLowerCase())?.type).filter((t) => t !== undefined);
  return types.length > 0 && types.every((t) => t === 'number');
}

/** The target of a whole-expression `CAST(… AS t)` or a trailing PostgreSQL `::t`. */
function castType(expr: Token[]): ExpressionType | null {
  if (isId(expr[0], 'cast') && expr[1]?.k === '(' && closing(expr, 1) === expr.length - 1) {
    const last = expr[expr.length - 2];
    const beforeLast = expr[expr.length - 3];
    if (isId(last) && isId(beforeLast, 'as')) return CAST_TYPES[last.v.toLowerCase()] ?? null;
    // CAST(x AS DECIMAL(10, 2)) / DOUBLE PRECISION
    let asAt = -1;
    for (let i = 0; i < expr.length; i++) if (isId(expr[i], 'as')) asAt = i;
    const target = expr[asAt + 1];
    return asAt > 1 && isId(target) ? (CAST_TYPES[target.v.toLowerCase()] ?? null) : null;
  }
  const n = expr.length;
  if (n >= 3 && expr[n - 2]?.k === 'op' && (expr[n - 2] as { v: string }).v === '::' && isId(expr[n - 1])) {
    return CAST_TYPES[(expr[n - 1] as { v: string }).v.toLowerCase()] ?? null;
  }
  return null;
}

/** The type of one SELECT item's expression (alias already removed), or null when unknown. */
function expressionType(expr: Token[], scope: Scope): ExpressionType | null {
  const cast = castType(expr);
  if (cast) return cast;
  // PocketBase: a column starting with count( or total( is a number.
  if ((isId(expr[0], 'count') || isId(expr[0], 'total')) && expr[1]?.k === '(') return 'number';
  return isNumeric(expr, scope) ? 'number' : null;
}

/** Removes a trailing `AS alias` / bare alias from a SELECT item. */
function withoutAlias(item: Token[]): Token[] {
  const n = item.length;
  if (n >= 3 && isId(item[n - 2], 'as') && isId(item[n - 1])) return item.slice(0, n - 2);
  if (n >= 2 && isId(item[n - 1])) {
    const prev = item[n - 2] as Token;
    if (prev.k === ')' || prev.k === 'num' || prev.k === 'str' || (prev.k === 'id' && !['distinct', 'all'].includes(prev.v.toLowerCase())))
      return item.slice(0, n - 1);
  }
  return item;
}

/**
 * The inferred type of each result column of `query`, by position (`null` = unknown), or null when the
 * select list cannot be read or does not line up with `columnCount` columns (e.g. a `*`).
 */
export function inferExpressionTypes(query: string, columnCount: number, schema: SchemaLookup): Array<ExpressionType | null> | null {
  const tokens = tokenize(query);
  if (!tokens) return null;
  // The main SELECT is the first one at depth 0 (CTE bodies sit in parentheses).
  let depth = 0;
  let start = -1;
  let end = tokens.length;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.k === '(') depth++;
    else if (t.k === ')') depth--;
    else if (depth === 0 && start === -1 && isId(t, 'select')) start = i + 1;
    else if (depth === 0 && start !== -1 && isId(t, 'from')) {
      end = i;
      break;
    }
  }
  if (start === -1) return null;
  while (isId(tokens[start], 'distinct') || isId(tokens[start], 'all')) start++;
  const items = splitTopLevel(tokens.slice(start, end));
  if (items.length !== columnCount) return null;
  if (items.some((item) => item.length === 0 || item[item.length - 1]?.k === 'op')) return null;

  const scope: Scope = { tables: new Map() };
  for (let i = end; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (!isId(t) || tokens[i + 1]?.k === '(' || tokens[i - 1]?.k === '.') continue;
    const collection = schema.find(t.v);
    if (!collection || collection.name.toLowerCase() !== t.v.toLowerCase()) continue;
    scope.tables.set(t.v.toLowerCase(), collection);
    let j = i + 1;
    if (isId(tokens[j], 'as')) j++;
    const alias = tokens[j];
    if (isId(alias) && !CLAUSE_WORDS.has(alias.v.toLowerCase())) scope.tables.set(alias.v.toLowerCase(), collection);
  }
  return items.map((item) => expressionType(withoutAlias(item), scope));
}
