/**
 * PostgreSQL's side of the dialect seam: `$n` placeholders, column types, the rules compiler's SQL
 * functions, and error classification. Storage follows the same conventions as SQLite (JSON and lists as
 * text), so records, rules and migrations move between the two unchanged; JSON is parsed with the
 * `plinth_jsonb()` helper the driver installs, which answers NULL instead of failing on bad text.
 */
import type { ColumnKind, DbErrorInfo, Dialect, DialectFunctions, SqlExpr } from '../../dialect.js';
import { compileFragment } from '../../compile.js';
import { join, sql, type CompiledQuery, type Sql, type SqlValue } from '../../sql.js';

const asJson = (doc: SqlExpr) => sql`plinth_jsonb(${doc}::text)`;
const asArray = (doc: SqlExpr) =>
  sql`(CASE WHEN jsonb_typeof(${asJson(doc)}) = 'array' THEN ${asJson(doc)} ELSE jsonb_build_array(${doc}) END)`;

const fn: DialectFunctions = {
  jsonExtract: (doc, path) =>
    path.length === 0
      ? sql`(${asJson(doc)} #>> '{}')`
      : sql`jsonb_extract_path_text(${asJson(doc)}, ${join(path.map((p) => sql`${String(p)}::text`))})`,
  // A set-returning function (implicitly LATERAL); its single column is named `value`, as json_each's.
  jsonEach: (doc) => sql`jsonb_array_elements_text(${asArray(doc)})`,
  jsonArrayLength: (doc) =>
    sql`(CASE WHEN jsonb_typeof(${asJson(doc)}) = 'array' THEN jsonb_array_length(${asJson(doc)}) ELSE 0 END)`,
  jsonArrayLast: (doc) => sql`COALESCE(CASE WHEN jsonb_typeof(${asJson(doc)}) = 'array' THEN ${asJson(doc)} ->> -1 END, '')`,
  jsonArrayOf: (value) => sql`jsonb_build_array(${value})::text`,
  // ILIKE is case-insensitive beyond ASCII too (SQLite's LIKE only folds ASCII): documented in docs/.
  like: (a, pattern, negate) =>
    negate ? sql`(${a})::text NOT ILIKE (${pattern})::text ESCAPE '\\'` : sql`(${a})::text ILIKE (${pattern})::text ESCAPE '\\'`,
  strftime: (format, value, modifiers) => sql`plinth_strftime(${format}::text, ${value ?? sql`NULL`}::text, ARRAY[${join(modifiers.map((m) => sql`${m}::text`))}]::text[])`,
  geoDistance: (lonA, latA, lonB, latB) =>
    sql`(6371 * acos(LEAST(1.0, GREATEST(-1.0, cos(radians(${latA})) * cos(radians(${latB})) * cos(radians(${lonB}) - radians(${lonA})) + sin(radians(${latA})) * sin(radians(${latB}))))))`,
  lower: (a) => sql`LOWER((${a})::text)`,
  random: () => sql`RANDOM()`,
  // PostgreSQL has no rowid; the physical tuple id orders rows the way `@rowid` does on a fresh table.
  rowid: (alias) => sql`${alias}.ctid`,
  toNumber: (a) => sql`plinth_num((${a})::text)`,
  toText: (a) => sql`(${a})::text`,
};

const COLUMN_TYPES: Record<ColumnKind, Sql> = {
  primaryKey: sql`TEXT PRIMARY KEY NOT NULL`,
  text: sql`TEXT DEFAULT '' NOT NULL`,
  number: sql`DOUBLE PRECISION DEFAULT 0 NOT NULL`,
  bool: sql`BOOLEAN DEFAULT FALSE NOT NULL`,
  json: sql`TEXT DEFAULT NULL`,
  jsonArray: sql`TEXT DEFAULT '[]' NOT NULL`,
};

/** SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html */
function classifyError(err: unknown): DbErrorInfo {
  const e = err as { code?: unknown; constraint?: unknown; table?: unknown; detail?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === '23505') {
    const detail = typeof e.detail === 'string' ? e.detail : '';
    const cols = /^Key \(([^)]*)\)=/.exec(detail)?.[1]?.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    return {
      kind: 'unique',
      ...(typeof e.table === 'string' ? { table: e.table } : {}),
      ...(cols ? { columns: cols } : {}),
      ...(typeof e.constraint === 'string' ? { index: e.constraint } : {}),
    };
  }
  if (code === '23502') return { kind: 'not_null' };
  if (code === '23503') return { kind: 'foreign_key' };
  if (code === '23514') return { kind: 'check' };
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '57014') return { kind: 'busy' };
  if (code === '54000' || code === '22001') return { kind: 'too_big' };
  if (code.startsWith('08') || code.startsWith('53') || code.startsWith('57P') || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)) {
    return { kind: 'unavailable' };
  }
  // node-postgres's own connection failures carry no code, only these messages.
  const message = err instanceof Error ? err.message : '';
  if (/timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|Connection ended|not queryable/i.test(message)) {
    return { kind: 'unavailable' };
  }
  return { kind: 'other' };
}

function toDriverValue(value: SqlValue): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value);
  return value;
}

/**
 * `$n` placeholders. Text parameters are typed so they work in polymorphic spots (COALESCE,
 * jsonb_build_array, CASE), where PostgreSQL cannot infer an untyped parameter; the rest keep the
 * column's inferred type.
 */
const compile = (query: Sql): CompiledQuery =>
  compileFragment(query, { placeholder: (value, n) => (typeof value === 'string' ? `$${n}::text` : `$${n}`), toDriverValue });

export const postgresDialect: Dialect = {
  name: 'postgres',
  capabilities: { returning: true, transactionalDdl: true, multipleWriters: true },
  fn,
  compile,
  columnType: (kind) => COLUMN_TYPES[kind],
  classifyError,
  forUpdate: sql` FOR UPDATE`,
  toDriverValue,
};
