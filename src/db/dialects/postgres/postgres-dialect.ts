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
const asArray = (doc: SqlExpr) => sql`(CASE WHEN jsonb_typeof(${asJson(doc)}) = 'array' THEN ${asJson(doc)} ELSE jsonb_build_array(${doc}) END)`;

const jsonPathKeys = (path: readonly (string | number)[]) => join(path.map((p) => sql`${String(p)}::text`));
const num = (x: SqlExpr) => sql`plinth_num((${x})::text)`;

const fn: DialectFunctions = {
  jsonExtract: (doc, path) => (path.length === 0 ? sql`(${asJson(doc)} #>> '{}')` : sql`jsonb_extract_path_text(${asJson(doc)}, ${jsonPathKeys(path)})`),
  jsonValue: (doc, path) => (path.length === 0 ? asJson(doc) : sql`jsonb_extract_path(${asJson(doc)}, ${jsonPathKeys(path)})`),
  // A set-returning function (implicitly LATERAL); its single column is named `value`, as json_each's.
  jsonEach: (doc) => sql`jsonb_array_elements_text(${asArray(doc)})`,
  jsonArrayLength: (doc) => sql`(CASE WHEN jsonb_typeof(${asJson(doc)}) = 'array' THEN jsonb_array_length(${asJson(doc)}) ELSE 0 END)`,
  jsonArrayLast: (doc) => sql`COALESCE(CASE WHEN jsonb_typeof(${asJson(doc)}) = 'array' THEN ${asJson(doc)} ->> -1 END, '')`,
  jsonArrayOf: (value) => sql`jsonb_build_array(${value})::text`,
  // ILIKE on the "C"-collated text columns folds ASCII letters only, as SQLite's LIKE.
  like: (a, pattern, negate) => (negate ? sql`(${a})::text NOT ILIKE (${pattern})::text ESCAPE '\\'` : sql`(${a})::text ILIKE (${pattern})::text ESCAPE '\\'`),
  strftime: (format, value, modifiers) =>
    sql`plinth_strftime(${format}::text, ${value ?? sql`NULL`}::text, ARRAY[${join(modifiers.map((m) => sql`${m}::text`))}]::text[])`,
  // Arguments may be JSON text (geoPoint lon/lat): read as numbers, as SQLite's dynamic typing does.
  geoDistance: (lonA, latA, lonB, latB) =>
    sql`(6371 * acos(LEAST(1.0, GREATEST(-1.0, cos(radians(${num(latA)})) * cos(radians(${num(latB)})) * cos(radians(${num(lonB)}) - radians(${num(lonA)})) + sin(radians(${num(latA)})) * sin(radians(${num(latB)}))))))`,
  lower: (a) => sql`LOWER((${a})::text)`,
  orderBy: (value, desc, kind) => {
    const dir = desc ? sql` DESC NULLS LAST` : sql` ASC NULLS FIRST`;
    if (kind !== 'json') return sql`${value}${dir}`;
    const t = sql`(${value})`;
    const rank = sql`(CASE jsonb_typeof(${t}) WHEN 'null' THEN NULL WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 ELSE 2 END)`;
    const number = sql`(CASE jsonb_typeof(${t}) WHEN 'number' THEN (${t} #>> '{}')::double precision WHEN 'boolean' THEN (CASE WHEN ${t} = 'true'::jsonb THEN 1 ELSE 0 END) END)`;
    const text = sql`(CASE jsonb_typeof(${t}) WHEN 'string' THEN ${t} #>> '{}' ELSE ${t}::text END) COLLATE "C"`;
    return join([sql`${rank}${dir}`, sql`${number}${dir}`, sql`${text}${dir}`]);
  },
  random: () => sql`RANDOM()`,
  // PostgreSQL has no rowid; the physical tuple id orders rows the way `@rowid` does on a fresh table.
  rowid: (alias) => sql`${alias}.ctid`,
  toNumber: (a) => sql`plinth_num((${a})::text)`,
  toText: (a) => sql`(${a})::text`,
  sqliteCompare: (a, b) => sql`plinth_cmp(${a}, ${b})`,
  comparable: (a, kind) => {
    switch (kind) {
      case 'number':
        return sql`to_jsonb((${a})::double precision)`;
      case 'bool':
        return sql`to_jsonb(CASE WHEN (${a})::boolean THEN 1 ELSE 0 END)`;
      case 'json':
        return sql`(${a})::jsonb`;
      case 'numericText':
        return sql`plinth_num_affinity((${a})::text)`;
      default:
        return sql`to_jsonb((${a})::text)`;
    }
  },
};

// Text columns use the "C" collation: bytewise order and equality, as SQLite's BINARY, whatever the
// database's locale, so sorts and range filters give the same records on both.
const COLUMN_TYPES: Record<ColumnKind, Sql> = {
  primaryKey: sql`TEXT COLLATE "C" PRIMARY KEY NOT NULL`,
  text: sql`TEXT COLLATE "C" DEFAULT '' NOT NULL`,
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
    const cols = /^Key \(([^)]*)\)=/
      .exec(detail)?.[1]
      ?.split(',')
      .map((c) => c.trim().replace(/^"|"$/g, ''));
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
  if (code === '22021' || code === '22P05') return { kind: 'bad_text' };
  if (
    code.startsWith('08') ||
    code.startsWith('53') ||
    code.startsWith('57P') ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)
  ) {
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
const PLACEHOLDERS = { placeholder: (value: SqlValue, n: number) => (typeof value === 'string' ? `$${n}::text` : `$${n}`), toDriverValue };
const compile = (query: Sql): CompiledQuery => compileFragment(query, PLACEHOLDERS);

export const postgresDialect: Dialect = {
  name: 'postgres',
  capabilities: { returning: true, transactionalDdl: true, multipleWriters: true },
  fn,
  compile,
  columnType: (kind) => COLUMN_TYPES[kind],
  classifyError,
  indexColumn: (column, collate) =>
    collate === 'NOCASE'
      ? sql`LOWER(${column})`
      : collate === 'RTRIM'
        ? sql`RTRIM(${column})`
        : collate === 'BINARY'
          ? sql`${column} COLLATE "C"`
          : sql`${column}`,
  forUpdate: sql` FOR UPDATE`,
  toDriverValue,
};
