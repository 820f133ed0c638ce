/**
 * "May this subscriber see this record?" for one realtime event: the collection rule (PocketBase's
 * outcomes: superuser → yes, locked → no, "" → yes, expression → SQL) and the subscription's own
 * `filter` option, checked together in one EXISTS-style query on the record's id.
 */
import type { Collection } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Dialect, Executor } from '../db/dialect.js';
import { ident, join, sql, type Sql } from '../db/sql.js';
import { ROOT_ALIAS } from '../records/access.js';
import { compileFilter } from '../rules/index.js';
import { isSuperuser, type RequestInfo } from '../rules/request-info.js';

/** What an access check needs besides the record. */
export interface AccessContext {
  exec: Executor;
  dialect: Dialect;
  schema: CollectionStore;
  /** Check against this row source instead of the stored row (records/record-io.ts `virtualRow`). */
  row?: Sql;
}

/**
 * True when `req` passes `rule` (a rule expression, `""` or `null`) for record `id` and the record matches
 * `filter`. The filter is compiled in client mode, so for non-superusers hidden fields, `@request.*` and
 * `@collection.*` are refused (an oracle otherwise). Compile errors propagate; callers treat them as "no".
 */
export async function canAccessRecord(
  ctx: AccessContext,
  collection: Collection,
  id: string,
  rule: string | null | undefined,
  req: RequestInfo,
  filter = '',
): Promise<boolean> {
  const conditions: Sql[] = [];
  const base = { collection, schema: ctx.schema, dialect: ctx.dialect, rootAlias: ROOT_ALIAS, request: req };
  if (!isSuperuser(req)) {
    if (rule === null || rule === undefined) return false;
    if (rule.trim() !== '') conditions.push(compileFilter(rule, { ...base, mode: 'rule' }));
  }
  if (filter.trim() !== '') conditions.push(compileFilter(filter, { ...base, mode: 'client' }));
  // Nothing to check: the record exists (it was just written or is about to be deleted).
  if (conditions.length === 0) return true;
  const root = ident(ROOT_ALIAS);
  const where = join(
    conditions.map((c) => sql`(${c})`),
    sql` AND `,
  );
  const row = await ctx.exec.get(
    sql`SELECT 1 AS ok FROM ${ctx.row ? sql`(${ctx.row})` : ident(collection.name)} AS ${root} WHERE ${ident(ROOT_ALIAS, 'id')} = ${id} AND ${where} LIMIT 1`,
  );
  return row !== undefined;
}
