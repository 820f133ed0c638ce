/**
 * `?sort=` → an ORDER BY list (without the keyword): comma-separated fields, `-` for DESC, `+` or
 * nothing for ASC, plus `@random` and `@rowid`. Fields resolve like filter identifiers but must be
 * single-valued: root fields (a multi field sorts by its stored JSON text), JSON paths, and paths through
 * single relations (a correlated scalar subquery, with the hop's listRule for clients).
 */
import { EMPTY, ident, join, sql, type Sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import { contextFor } from './compile.js';
import { checkOptions, type CompileOptions } from './context.js';
import { invalidSortField, sortError, superusersOnly } from './errors.js';
import { MAX_SORT_FIELD_LENGTH, MAX_SORT_FIELDS } from './limits.js';
import { refToScalar, type Ref } from './refs.js';
import { resolveIdentifier } from './request-resolver.js';

const FIELD_RE = /^[A-Za-z_][\w.:]*\w$|^[A-Za-z_]$/;

/**
 * Compiles a sort expression for `opts.rootAlias`. An empty string gives an empty fragment (no ORDER BY).
 * Throws AppError `invalid_sort` (400) or `forbidden` (403).
 */
export function compileSort(sort: string, opts: CompileOptions): Sql {
  checkOptions(opts);
  if (typeof sort !== 'string') throw sortError('sort must be a string');
  if (sort.trim() === '') return EMPTY;
  const parts = sort.split(',');
  if (parts.length > MAX_SORT_FIELDS) throw sortError(`too many sort fields (max ${MAX_SORT_FIELDS})`);
  const ctx = contextFor(opts);
  const fn = ctx.dialect.fn;

  const items = parts.map((raw) => {
    let name = raw.trim();
    let desc = false;
    if (name.startsWith('-')) {
      desc = true;
      name = name.slice(1);
    } else if (name.startsWith('+')) {
      name = name.slice(1);
    }
    const invalid = () => invalidSortField(name.slice(0, MAX_SORT_FIELD_LENGTH), ctx.restricted);
    if (name === '' || name.length > MAX_SORT_FIELD_LENGTH) throw invalid();
    if (ctx.restricted && name.startsWith('@collection.')) throw superusersOnly('@collection.');
    if (ctx.restricted && name.startsWith('@request.')) throw superusersOnly('@request.');
    if (name === '@random') return fn.random();
    const dir = (e: Sql, kind?: 'json') => fn.orderBy(e, desc, kind);
    if (name === '@rowid') return dir(fn.rowid(sql`${ident(ctx.rootAlias)}`));
    if (!FIELD_RE.test(name)) throw invalid();

    let ref: Ref;
    try {
      ref = resolveIdentifier(ctx, name, true);
    } catch (err) {
      if (err instanceof AppError && err.code === 'invalid_filter') throw invalid();
      throw err;
    }
    if (ref.kind === 'static' || ref.steps.some((s) => s.multi)) throw invalid();
    // JSON values sort by their JSON type first (NULL, numbers, text), as SQLite's json_extract does.
    if (ref.typed) return dir(refToScalar({ ...ref, value: ref.typed }, ctx), 'json');
    return dir(refToScalar(ref, ctx));
  });
  return join(items);
}
