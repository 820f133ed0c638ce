/** The filter functions (a closed table): `geoDistance(lonA, latA, lonB, latB)` and `strftime(format, [time, modifiers…])`. */
import { param, type Sql } from '../db/sql.js';
import type { CallNode, OperandNode } from './ast.js';
import type { CompileContext } from './context.js';
import { filterError } from './errors.js';
import { formatDateTime } from './macros.js';
import { exprOperand, lazyMap, type Operand } from './operand.js';

type Resolve = (node: OperandNode) => Operand;

/** Max arguments of strftime (PocketBase's limit). */
const MAX_STRFTIME_ARGS = 10;

/**
 * Haversine distance in km. Arguments are numbers or identifiers; the result is single-valued, so a
 * multi-relation argument behaves like "any" (as PocketBase).
 */
function geoDistance(ctx: CompileContext, node: CallNode, resolve: Resolve): Operand {
  if (node.args.length !== 4) throw filterError(`geoDistance expects 4 arguments, got ${node.args.length}`, node.pos);
  const args = node.args.map((arg, i) => {
    if (arg.kind !== 'identifier' && arg.kind !== 'number' && arg.kind !== 'null') {
      throw filterError(`geoDistance argument ${i + 1} must be a number or a field`, arg.pos);
    }
    return resolve(arg).expr;
  }) as [Sql, Sql, Sql, Sql];
  return exprOperand(ctx.dialect.fn.geoDistance(...args), { textual: false, strict: true, valueKind: 'number' });
}

/**
 * SQLite-style strftime with NULL normalised to ''. The time value may be text, a number or a field; a
 * multi-valued field keeps match-all semantics. Without a time value the compile's clock is used, so
 * results agree with the date macros.
 */
function strftime(ctx: CompileContext, node: CallNode, resolve: Resolve): Operand {
  const [format, time, ...modifiers] = node.args;
  if (!format) throw filterError('strftime expects at least 1 argument', node.pos);
  if (node.args.length > MAX_STRFTIME_ARGS) throw filterError(`strftime accepts at most ${MAX_STRFTIME_ARGS} arguments`, node.pos);
  if (format.kind !== 'text') throw filterError('strftime expects the first argument to be a format string', format.pos);
  if (time && time.kind !== 'text' && time.kind !== 'number' && time.kind !== 'identifier') {
    throw filterError('strftime expects the second argument to be a time value (text, number or field)', time.pos);
  }
  const mods = modifiers.map((m, i) => {
    if (m.kind !== 'text') throw filterError(`strftime modifier argument ${i + 1} must be text`, m.pos);
    return param(m.value);
  });
  const fmt = param(format.value);
  const timeOperand = time ? resolve(time) : exprOperand(param(formatDateTime(ctx.now)), { textual: true, strict: false });
  const apply = (value: Sql) => ctx.dialect.fn.strftime(fmt, value, mods);
  return {
    expr: apply(timeOperand.expr),
    textual: true,
    strict: false,
    valueKind: 'text',
    notNull: true, // NULL is normalised to ''
    multi: timeOperand.multi ? lazyMap(timeOperand.multi, apply) : null,
    guards: timeOperand.guards,
  };
}

const FUNCTIONS: Readonly<Record<string, (ctx: CompileContext, node: CallNode, resolve: Resolve) => Operand>> = {
  geoDistance,
  strftime,
};

/** Compiles a function call; unknown names are a 400. */
export function compileCall(ctx: CompileContext, node: CallNode, resolve: Resolve): Operand {
  if (!Object.hasOwn(FUNCTIONS, node.name)) throw filterError(`unknown function ${JSON.stringify(node.name)}`, node.pos);
  return (FUNCTIONS[node.name] as (typeof FUNCTIONS)[string])(ctx, node, resolve);
}
