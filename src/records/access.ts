/**
 * Collection rules → SQL conditions, with PocketBase's outcomes: a `null` rule is superusers-only (403),
 * `""` is public (no condition), an expression becomes a WHERE condition on the record alias.
 */
import type { Collection, RuleName } from '../collections/model.js';
import type { CollectionStore } from '../collections/store.js';
import type { Dialect } from '../db/dialect.js';
import type { Sql } from '../db/sql.js';
import { AppError } from '../errors/index.js';
import { compileFilter } from '../rules/index.js';
import { isSuperuser, type RequestInfo } from '../rules/request-info.js';

export const ROOT_ALIAS = '_r';

/** The result of checking a rule up front. */
export type RuleCondition = { kind: 'all' } | { kind: 'where'; condition: Sql };

/** "No condition": one shared value, since every public-rule and superuser request gets it. */
const ALL: RuleCondition = Object.freeze({ kind: 'all' });

/**
 * Resolves a collection rule for a request: superusers and `""` rules pass unconditionally; a `null` rule
 * answers 403; otherwise the compiled condition (on `ROOT_ALIAS` unless another alias is given).
 */
export function ruleCondition(
  collection: Collection,
  rule: RuleName,
  req: RequestInfo,
  schema: CollectionStore,
  dialect: Dialect,
  alias: string = ROOT_ALIAS,
): RuleCondition {
  const condition = ruleConditionOrNone(collection, rule, req, schema, dialect, alias);
  if (!condition) throw AppError.forbidden('Only superusers can perform this action.');
  return condition;
}

/** Like ruleCondition, but a locked rule yields "nothing matches" (null) instead of 403 (expand, realtime). */
export function ruleConditionOrNone(
  collection: Collection,
  rule: RuleName,
  req: RequestInfo,
  schema: CollectionStore,
  dialect: Dialect,
  alias: string = ROOT_ALIAS,
): RuleCondition | null {
  if (isSuperuser(req)) return ALL;
  const expr = collection[rule];
  if (expr === null || expr === undefined) return null;
  if (expr.trim() === '') return ALL;
  return {
    kind: 'where',
    condition: compileFilter(expr, { collection, schema, dialect, rootAlias: alias, request: req, mode: 'rule' }),
  };
}
