/**
 * A resolved identifier before it becomes SQL: the chain of LEFT JOINs from the root (or from an
 * `@collection` / request-data source) to the table holding the value, plus how to read the value there.
 * The same chain is materialised twice for multi-valued operands: once into the expression's shared
 * scope (keyed, so equal paths share a row) and once into a fresh, independent multi source.
 */
import { join, sql, type Sql } from '../db/sql.js';
import type { CompileContext } from './context.js';
import type { Operand, ValueKind } from './operand.js';
import { JoinScope } from './scope.js';

/** One LEFT JOIN of a path. `prev` is the alias of the previous step (the root alias for the first). */
export interface Step {
  /** Identifies the step's path so equal paths share one join in the expression scope. */
  readonly key: string;
  readonly source: (prev: string) => Sql;
  readonly on: (self: string, prev: string) => Sql;
  /** The step can yield several rows per record (multi relation, json list, back-relation, @collection). */
  readonly multi: boolean;
}

/** A value reached through zero or more joins. */
export interface PathRef {
  readonly kind: 'path';
  readonly steps: readonly Step[];
  /** The value, given the alias of the last step (or the root alias when there are no steps). */
  readonly value: (alias: string) => Sql;
  readonly guards: (alias: string) => Sql[];
  readonly textual: boolean;
  readonly strict: boolean;
  readonly notNull: boolean;
  readonly valueKind?: ValueKind;
  /** `json` values: the typed form (see Side.typed), given the same alias. */
  readonly typed?: (alias: string) => Sql;
}

/** A value known in JS (request data, macros, missing `@request` fields as NULL). */
export interface StaticRef {
  readonly kind: 'static';
  readonly operand: Operand;
}

/** What an identifier resolves to. */
export type Ref = PathRef | StaticRef;

const noGuards = (): Sql[] => [];

/** A path ref with defaults for the optional parts. */
export function pathRef(
  steps: readonly Step[],
  value: (alias: string) => Sql,
  flags: {
    textual: boolean;
    strict?: boolean;
    notNull?: boolean;
    guards?: (alias: string) => Sql[];
    valueKind?: ValueKind;
    typed?: (alias: string) => Sql;
  },
): PathRef {
  return {
    kind: 'path',
    steps,
    value,
    guards: flags.guards ?? noGuards,
    textual: flags.textual,
    strict: flags.strict ?? false,
    notNull: flags.notNull ?? false,
    ...(flags.valueKind ? { valueKind: flags.valueKind } : {}),
    ...(flags.typed ? { typed: flags.typed } : {}),
  };
}

/** Registers the steps' joins in `scope` (keyed or not) and returns the alias of the last one. */
export function materialize(steps: readonly Step[], scope: JoinScope, rootAlias: string, keyed: boolean): string {
  let prev = rootAlias;
  for (const step of steps) {
    const p = prev;
    prev = scope.join(keyed ? step.key : null, step.source(p), (self) => step.on(self, p));
  }
  return prev;
}

/** The operand a filter compares: value on the shared joined row, plus an independent source when multi-valued. */
export function refToOperand(ref: Ref, ctx: CompileContext): Operand {
  if (ref.kind === 'static') return ref.operand;
  const alias = ref.steps.length ? materialize(ref.steps, ctx.scope, ctx.rootAlias, true) : ctx.rootAlias;
  let multi: Operand['multi'] = null;
  if (ref.steps.some((s) => s.multi)) {
    multi = () => {
      const own = new JoinScope(ctx.aliases);
      const last = materialize(ref.steps, own, ctx.rootAlias, false);
      return { from: own.from(), value: ref.value(last) };
    };
  }
  return {
    expr: ref.value(alias),
    textual: ref.textual,
    strict: ref.strict,
    notNull: ref.notNull,
    ...(ref.valueKind ? { valueKind: ref.valueKind } : {}),
    ...(ref.typed ? { typed: ref.typed(alias) } : {}),
    multi,
    guards: ref.guards(alias),
  };
}

/** A single-valued expression for ORDER BY: the root column, or a scalar subquery over single hops. */
export function refToScalar(ref: PathRef, ctx: CompileContext): Sql {
  // guarded values (a hidden email) sort as NULL, so ordering can't leak them either
  const read = (alias: string) => {
    const guards = ref.guards(alias);
    return guards.length ? sql`(CASE WHEN ${join(guards, sql` AND `)} THEN ${ref.value(alias)} END)` : ref.value(alias);
  };
  if (!ref.steps.length) return read(ctx.rootAlias);
  const own = new JoinScope(ctx.aliases);
  const last = materialize(ref.steps, own, ctx.rootAlias, false);
  return sql`(SELECT ${read(last)} FROM ${own.from()} LIMIT 1)`;
}
