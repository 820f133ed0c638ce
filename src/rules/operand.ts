/** A resolved operand: the SQL for its value plus what the comparison builder needs to know about it. */
import { param, type Sql, type SqlValue } from '../db/sql.js';

/** A value known in JS (literal, request data, macro), bound as a parameter. */
export interface StaticValue {
  readonly value: SqlValue;
  /** SQL applied around the bound value (`:lower`); LIKE re-binds a transformed value through it. */
  readonly wrap: ((p: Sql) => Sql) | null;
}

/**
 * What kind of value an operand holds, for dialects that must compare across kinds explicitly
 * (PostgreSQL; SQLite compares mixed kinds by its own affinity rules). `json`: a value read out of a
 * JSON document, whose kind is only known per row.
 */
export type ValueKind = 'number' | 'bool' | 'text' | 'json';

/** How one side of a comparison behaves. */
export interface Side {
  readonly expr: Sql;
  /** Unknown (undefined) for NULL literals and computed values with no fixed kind. */
  readonly valueKind?: ValueKind;
  /** `json` operands: the value with its JSON type kept (DialectFunctions.jsonValue), for typed comparisons. */
  readonly typed?: Sql;
  /** May hold `''` (so the empty test is `x = '' OR x IS NULL`); false for numbers and booleans. */
  readonly textual: boolean;
  /** JSON-like: NULL only equals NULL and `''` is an ordinary value (PocketBase's "no COALESCE"). */
  readonly strict: boolean;
  /**
   * Never NULL: a root column of a table (the storage convention makes every non-JSON column NOT NULL)
   * or a computed non-NULL value. Lets `= ''` skip the `IS NULL` test, which would stop SQLite from
   * using an index on a NOT NULL column.
   */
  readonly notNull?: boolean;
  readonly static?: StaticValue;
}

/**
 * An independent, correlated row source over ALL values of a multi-valued operand, used to enforce
 * match-all: `NOT EXISTS (SELECT 1 FROM <from> WHERE <value fails>)`.
 */
export interface MultiSource {
  readonly from: Sql;
  readonly value: Sql;
}

/** A compiled operand: its value on the shared joined row, plus multi-value and guard information. */
export interface Operand extends Side {
  /**
   * Set when the operand has several values (multi fields, `:each`, multi hops, back-relations,
   * @collection). Built lazily: only non-`?` comparisons need the independent source.
   */
  readonly multi: (() => MultiSource) | null;
  /** Conditions ANDed to the comparison (e.g. auth `email` only where `emailVisibility` is on). */
  readonly guards: readonly Sql[];
}

/** A JS value bound as a parameter. */
export function staticOperand(value: SqlValue, wrap: ((p: Sql) => Sql) | null = null): Operand {
  const p = param(value);
  const valueKind: ValueKind | undefined =
    typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'bool' : typeof value === 'string' ? 'text' : undefined;
  return {
    expr: wrap ? wrap(p) : p,
    textual: typeof value !== 'number' && typeof value !== 'boolean',
    strict: false,
    ...(valueKind ? { valueKind } : {}),
    static: { value, wrap },
    multi: null,
    guards: [],
  };
}

/** A computed, single-valued SQL expression. */
export function exprOperand(expr: Sql, opts: { textual: boolean; strict: boolean; notNull?: boolean; valueKind?: ValueKind }): Operand {
  return {
    expr,
    textual: opts.textual,
    strict: opts.strict,
    notNull: opts.notNull ?? false,
    ...(opts.valueKind ? { valueKind: opts.valueKind } : {}),
    multi: null,
    guards: [],
  };
}

/** Applies `fn` to the operand's value everywhere it is evaluated (joined row and multi source). */
export function mapOperand(op: Operand, fn: (e: Sql) => Sql, flags?: Partial<Pick<Side, 'textual' | 'strict' | 'valueKind'>>): Operand {
  const valueKind = flags?.valueKind ?? op.valueKind;
  return {
    expr: fn(op.expr),
    textual: flags?.textual ?? op.textual,
    strict: flags?.strict ?? op.strict,
    ...(valueKind ? { valueKind } : {}),
    notNull: op.notNull ?? false,
    multi: op.multi ? lazyMap(op.multi, fn) : null,
    guards: op.guards,
  };
}

/** A lazy multi source whose value is transformed by `fn`. */
export function lazyMap(multi: () => MultiSource, fn: (e: Sql) => Sql): () => MultiSource {
  return () => {
    const m = multi();
    return { from: m.from, value: fn(m.value) };
  };
}
