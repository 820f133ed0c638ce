/**
 * The PocketBase filter language → parameterised SQL fragments.
 *
 * @example
 *   // the caller owns FROM and names the root row source
 *   const opts = { collection, schema, dialect: db.dialect, rootAlias: '_r', request, mode: 'client' } as const;
 *   const where = compileFilter(params.filter, opts);          // boolean fragment over "_r"
 *   const order = compileSort(params.sort, opts);              // ORDER BY list (empty fragment for '')
 *   db.all(sql`SELECT "_r".* FROM ${ident(collection.name)} AS ${ident('_r')} WHERE ${where}${order.isEmpty ? sql`` : sql` ORDER BY ${order}`}`);
 *
 * Every literal and request value is a bound parameter and every identifier comes from the schema, so
 * the fragment's text depends only on the expression's shape. Other tables are reached through
 * generated aliases (`_rl1`, `_rl2`, … never equal to rootAlias) that live inside the fragment's own
 * EXISTS / scalar subqueries; pass `aliases` to share a counter when nesting fragments in each other.
 * Errors are AppErrors: `invalid_filter` / `invalid_sort` (400) or `forbidden` (403).
 */

/** AST node types produced by parseFilter. */
export type {
  AndNode,
  BoolNode,
  CallNode,
  CompareNode,
  CompareOp,
  ExprNode,
  IdentifierNode,
  NullNode,
  NumberNode,
  OperandNode,
  OrNode,
  TextNode,
} from './ast.js';
/** Filter / rule → boolean SQL fragment over the root alias. */
export { compileFilter } from './compile.js';
/** Options shared by compileFilter and compileSort. */
export type { CompileMode, CompileOptions } from './context.js';
/** PocketBase's `~` pattern rule (`%…%` with `\ % _` escaped unless the value has its own `%`). */
export { likePattern } from './compare.js';
/** The language's limits (lengths, expression count, nesting, hops, sort fields). */
export * from './limits.js';
/** Date macro names and the datetime text format they produce. */
export { MACRO_NAMES, formatDateTime } from './macros.js';
/** Parse only (cached, limited), e.g. for tests and tooling. */
export { clearParseCache, parseFilter } from './parser.js';
/** What rules can see of the request. */
export { guestRequest, isSuperuser, type AuthState, type RequestContext, type RequestInfo } from './request-info.js';
/** Alias generation for callers that nest compiled fragments. */
export { createAliasGenerator, type AliasGenerator } from './scope.js';
/** Sort expression → ORDER BY list. */
export { compileSort } from './sort.js';
/** Rule checks for the schema editor. */
export { validateRule, validateRuleSyntax, type ValidateRuleOptions } from './validate.js';
