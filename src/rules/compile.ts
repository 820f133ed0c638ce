/**
 * Filter expression → one boolean SQL fragment over the caller's root alias.
 *
 * How relation paths keep PocketBase's semantics without touching the caller's FROM: PocketBase LEFT
 * JOINs every path an expression uses onto the main query and selects DISTINCT rows, so two references
 * to the same path (or the same `@collection` alias) read the same joined row, and a record matches when
 * SOME combination of joined rows satisfies the whole expression. We emit exactly that as a correlated
 * semi-join instead:
 *
 *   EXISTS (SELECT 1 FROM (SELECT 1) AS b LEFT JOIN … (one join per distinct path) WHERE <expression>)
 *
 * (`(SELECT 1)` keeps one row when a relation is missing or a list is empty, like a LEFT JOIN from the
 * record). The EXISTS is then pushed down to the smallest sub-expressions that share joins (see
 * compileExpression), so conditions on the root row stay plain and index-usable. Match-all for
 * multi-valued operands adds `AND NOT EXISTS (…independent joins… WHERE <item fails>)` per comparison
 * (see compare.ts).
 */
import { sql, type Sql } from '../db/sql.js';
import type { Collection } from '../collections/model.js';
import type { ExprNode, OperandNode } from './ast.js';
import { buildComparison } from './compare.js';
import { checkOptions, createContext, withScope, type CompileContext, type CompileOptions } from './context.js';
import { filterError, superusersOnly } from './errors.js';
import { compileCall } from './functions.js';
import { MAX_CLIENT_FILTER_LENGTH } from './limits.js';
import { staticOperand, type Operand } from './operand.js';
import { parseFilter } from './parser.js';
import { refToOperand } from './refs.js';
import { resolveIdentifier } from './request-resolver.js';

function operand(ctx: CompileContext, node: OperandNode): Operand {
  switch (node.kind) {
    case 'identifier':
      return refToOperand(resolveIdentifier(ctx, node.name), ctx);
    case 'text':
    case 'number':
    case 'bool':
      return staticOperand(node.value);
    case 'null':
      return staticOperand(null);
    case 'call':
      return compileCall(ctx, node, (arg) => operand(ctx, arg));
  }
}

function compileNode(ctx: CompileContext, node: ExprNode): Sql {
  switch (node.kind) {
    case 'compare':
      return buildComparison(ctx.dialect, node.op, node.any, operand(ctx, node.left), operand(ctx, node.right));
    case 'and':
    case 'or': {
      const sep = node.kind === 'and' ? sql` AND ` : sql` OR `;
      let out = compileNode(ctx, node.items[0] as ExprNode);
      for (let i = 1; i < node.items.length; i++) out = sql`${out}${sep}${compileNode(ctx, node.items[i] as ExprNode)}`;
      return sql`(${out})`;
    }
  }
}

/** The join keys (relation paths, @collection aliases …) an expression reads its shared rows from. */
function joinKeys(ctx: CompileContext, node: ExprNode): Set<string> {
  const keys = new Set<string>();
  const stack: Array<ExprNode | OperandNode> = [node];
  while (stack.length) {
    const n = stack.pop() as ExprNode | OperandNode;
    if (n.kind === 'and' || n.kind === 'or') stack.push(...n.items);
    else if (n.kind === 'compare') stack.push(n.left, n.right);
    else if (n.kind === 'call') stack.push(...n.args);
    else if (n.kind === 'identifier') {
      const ref = resolveIdentifier(ctx, n.name);
      if (ref.kind === 'path') for (const step of ref.steps) keys.add(step.key);
    }
  }
  return keys;
}

/** Splits AND operands into groups that share no join (each group can get its own EXISTS). */
function independentGroups(ctx: CompileContext, items: readonly ExprNode[]): ExprNode[][] {
  const groups: Array<{ keys: Set<string>; items: ExprNode[] }> = [];
  for (const item of items) {
    const keys = joinKeys(ctx, item);
    const merged = { keys, items: [item] };
    if (keys.size) {
      for (let i = groups.length - 1; i >= 0; i--) {
        const g = groups[i] as (typeof groups)[number];
        if (![...g.keys].some((k) => keys.has(k))) continue;
        for (const k of g.keys) merged.keys.add(k);
        merged.items.unshift(...g.items);
        groups.splice(i, 1);
      }
    }
    groups.push(merged);
  }
  return groups.map((g) => g.items);
}

/** Compiles `node` in a fresh join scope: a plain condition, or EXISTS over its joins. */
function compileInScope(parent: CompileContext, node: ExprNode): Sql {
  const ctx = withScope(parent, compileRuleOn);
  const body = compileNode(ctx, node);
  if (ctx.scope.isEmpty) return body;
  return sql`EXISTS (SELECT 1 FROM ${ctx.scope.from()} WHERE ${body})`;
}

/**
 * Places the EXISTS as deep as the semantics allow, so conditions on the root row stay outside (and
 * index-usable): ∃rows (A ∨ B) = (∃rows A) ∨ (∃rows B) always, and ∃rows (A ∧ B) = (∃rows A) ∧ (∃rows B)
 * when A and B share no join. Conditions sharing a join stay in one EXISTS, reading the same row.
 */
function compileExpression(ctx: CompileContext, node: ExprNode): Sql {
  if (node.kind === 'compare') return compileInScope(ctx, node);
  if (node.kind === 'or') {
    let out = compileExpression(ctx, node.items[0] as ExprNode);
    for (let i = 1; i < node.items.length; i++) out = sql`${out} OR ${compileExpression(ctx, node.items[i] as ExprNode)}`;
    return sql`(${out})`;
  }
  const parts = independentGroups(ctx, node.items).map((items) =>
    items.length === 1 ? compileExpression(ctx, items[0] as ExprNode) : compileInScope(ctx, Object.freeze({ kind: 'and' as const, items })),
  );
  if (parts.length === 1) return parts[0] as Sql;
  let out = parts[0] as Sql;
  for (let i = 1; i < parts.length; i++) out = sql`${out} AND ${parts[i] as Sql}`;
  return sql`(${out})`;
}

/** A hop target's listRule, compiled in rule mode against the joined alias (same request, same alias counter). */
function compileRuleOn(parent: CompileContext, collection: Collection, rule: string, alias: string): Sql {
  return compileExpression({ ...parent, collection, rootAlias: alias, restricted: false }, parseFilter(rule));
}

/** Non-superuser clients may not use @collection / @request anywhere (function arguments included). */
export function assertNoPrivilegedIdentifiers(ast: ExprNode): void {
  const stack: Array<ExprNode | OperandNode> = [ast];
  while (stack.length) {
    const node = stack.pop() as ExprNode | OperandNode;
    if (node.kind === 'and' || node.kind === 'or') stack.push(...node.items);
    else if (node.kind === 'compare') stack.push(node.left, node.right);
    else if (node.kind === 'call') stack.push(...node.args);
    else if (node.kind === 'identifier') {
      if (node.name.startsWith('@collection.')) throw superusersOnly('@collection.');
      if (node.name.startsWith('@request.')) throw superusersOnly('@request.');
    }
  }
}

/**
 * Compiles a filter or rule into a boolean SQL fragment over `opts.rootAlias`. Literals and request data
 * are bound parameters; identifiers come only from the schema. An empty (whitespace) expression is
 * `1=1`. Throws AppError `invalid_filter` (400) or `forbidden` (403); TypeError for bad options.
 */
export function compileFilter(expr: string, opts: CompileOptions): Sql {
  checkOptions(opts);
  if (typeof expr !== 'string') throw filterError('expression must be a string');
  if (expr.trim() === '') return sql`1=1`;
  if (opts.mode === 'client' && expr.length > MAX_CLIENT_FILTER_LENGTH) {
    throw filterError(`filter too long (max ${MAX_CLIENT_FILTER_LENGTH} characters)`);
  }
  const ast = parseFilter(expr);
  const ctx = createContext(opts, compileRuleOn);
  if (ctx.restricted) assertNoPrivilegedIdentifiers(ast);
  return compileExpression(ctx, ast);
}

/** Shared with sort.ts: a top-level context with the hop-rule compiler wired in. */
export function contextFor(opts: CompileOptions): CompileContext {
  return createContext(opts, compileRuleOn);
}
