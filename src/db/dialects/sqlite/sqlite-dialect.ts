/**
 * SQLite's side of the dialect seam: compiling fragments (`?` placeholders, `"` quoting), column types,
 * the rules compiler's SQL functions, and error classification. SQLite-only SQL lives here and nowhere else.
 */
import type { ColumnKind, DbErrorInfo, Dialect, DialectFunctions, SqlExpr } from '../../dialect.js';
import { compileFragment } from '../../compile.js';
import { sql, type CompiledQuery, type Sql, type SqlValue, join } from '../../sql.js';

/** JSON path text for json_extract: `$."a"."b"[0]`. Keys are quoted so any key text is safe inside the bound path. */
function jsonPathText(path: readonly (string | number)[]): string {
  let out = '$';
  for (const p of path) {
    if (typeof p === 'number') out += `[${Math.trunc(p)}]`;
    else out += `."${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  return out;
}

const jsonExtract = (doc: SqlExpr, path: readonly (string | number)[]) =>
  sql`(CASE WHEN json_valid(${doc}) THEN json_extract(${doc}, ${jsonPathText(path)}) ELSE NULL END)`;

const fn: DialectFunctions = {
  jsonExtract,
  jsonValue: jsonExtract,
  jsonEach: (doc) => sql`json_each(CASE WHEN json_valid(${doc}) AND json_type(${doc}) = 'array' THEN ${doc} ELSE json_array(${doc}) END)`,
  jsonArrayLast: (doc) => sql`COALESCE(CASE WHEN json_valid(${doc}) AND json_type(${doc}) = 'array' THEN json_extract(${doc}, '$[#-1]') END, '')`,
  jsonArrayOf: (value) => sql`json_array(${value})`,
  jsonArrayLength: (doc) => sql`(CASE WHEN json_valid(${doc}) AND json_type(${doc}) = 'array' THEN json_array_length(${doc}) ELSE 0 END)`,
  like: (a, pattern, negate) => (negate ? sql`${a} NOT LIKE ${pattern} ESCAPE '\\'` : sql`${a} LIKE ${pattern} ESCAPE '\\'`),
  strftime: (format, value, modifiers) => {
    const args = [format, ...(value ? [value] : []), ...modifiers];
    return sql`COALESCE(strftime(${join(args)}), '')`;
  },
  geoDistance: (lonA, latA, lonB, latB) =>
    sql`(6371 * acos(min(1.0, max(-1.0, cos(radians(${latA})) * cos(radians(${latB})) * cos(radians(${lonB}) - radians(${lonA})) + sin(radians(${latA})) * sin(radians(${latB}))))))`,
  lower: (a) => sql`LOWER(${a})`,
  // SQLite already orders NULLs first and JSON values by type.
  orderBy: (value, desc) => (desc ? sql`${value} DESC` : sql`${value} ASC`),
  random: () => sql`RANDOM()`,
  rowid: (alias) => sql`${alias}._rowid_`,
  toNumber: (a) => sql`CAST(${a} AS NUMERIC)`,
  toText: (a) => sql`CAST(${a} AS TEXT)`,
  // SQLite compares values of different kinds itself (type affinity and its cross-type ordering).
  sqliteCompare: null,
  comparable: (a) => sql`${a}`,
};

const COLUMN_TYPES: Record<ColumnKind, Sql> = {
  primaryKey: sql`TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL`,
  text: sql`TEXT DEFAULT '' NOT NULL`,
  number: sql`NUMERIC DEFAULT 0 NOT NULL`,
  bool: sql`BOOLEAN DEFAULT FALSE NOT NULL`,
  json: sql`JSON DEFAULT NULL`,
  jsonArray: sql`JSON DEFAULT '[]' NOT NULL`,
};

function classifyError(err: unknown): DbErrorInfo {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: tbl.a, tbl.b" or "UNIQUE constraint failed: index 'idx'"
    const idx = /index '([^']+)'/.exec(message);
    if (idx) return { kind: 'unique', index: idx[1] as string };
    const list = message.split(':')[1]?.trim() ?? '';
    const cols = list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const table = cols[0]?.split('.')[0];
    return { kind: 'unique', ...(table ? { table } : {}), columns: cols.map((c) => c.split('.').slice(1).join('.')) };
  }
  if (code === 'SQLITE_CONSTRAINT_NOTNULL') return { kind: 'not_null' };
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return { kind: 'foreign_key' };
  if (code === 'SQLITE_CONSTRAINT_CHECK') return { kind: 'check' };
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return { kind: 'busy' };
  if (code === 'SQLITE_TOOBIG') return { kind: 'too_big' };
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_READONLY') return { kind: 'unavailable' };
  return { kind: 'other' };
}

function toDriverValue(value: SqlValue): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value);
  return value;
}

const COLLATIONS = { NOCASE: sql` COLLATE NOCASE`, BINARY: sql` COLLATE BINARY`, RTRIM: sql` COLLATE RTRIM` } as const;

/** One style object for the dialect: compiled templates are remembered per style. */
const PLACEHOLDERS = { placeholder: () => '?', toDriverValue };
const compile = (query: Sql): CompiledQuery => compileFragment(query, PLACEHOLDERS);

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  capabilities: { returning: true, transactionalDdl: true, multipleWriters: false },
  fn,
  compile,
  columnType: (kind) => COLUMN_TYPES[kind],
  classifyError,
  indexColumn: (column, collate) => (collate ? sql`${column}${COLLATIONS[collate]}` : sql`${column}`),
  forUpdate: sql``,
  toDriverValue,
};
