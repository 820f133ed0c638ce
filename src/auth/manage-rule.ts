/**
 * PocketBase's `manageRule`: an auth collection option granting "manager" rights over matching records
 * (change their email, password or verified state without the old password). Null or empty grants
 * nothing (superusers only); otherwise the rule is evaluated against the target record as an EXISTS.
 */
import type { Collection } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Dialect, Executor } from '../db/dialect.js';
import { ident, sql } from '../db/sql.js';
import { ROOT_ALIAS } from '../records/access.js';
import { compileFilter } from '../rules/index.js';
import type { RequestInfo } from '../rules/request-info.js';

/** Whether the requester passes `collection.manageRule` for record `recordId` (never for guests). */
export async function hasManageAccess(
  exec: Executor,
  schema: CollectionStore,
  dialect: Dialect,
  collection: Collection,
  recordId: string,
  req: RequestInfo,
): Promise<boolean> {
  if (collection.type !== 'auth' || !req.auth) return false;
  const rule = collection.manageRule;
  if (rule === null || rule === undefined || rule.trim() === '') return false;
  try {
    const cond = compileFilter(rule, { collection, schema, dialect, rootAlias: ROOT_ALIAS, request: req, mode: 'rule' });
    const row = await exec.get(
      sql`SELECT 1 AS ok FROM ${ident(collection.name)} AS ${ident(ROOT_ALIAS)} WHERE ${ident(ROOT_ALIAS, 'id')} = ${recordId} AND (${cond}) LIMIT 1`,
    );
    return Boolean(row);
  } catch {
    return false; // a rule that fails to compile grants nothing
  }
}
